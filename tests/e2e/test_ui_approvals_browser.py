"""Approving a protected alias move in the web UI, in a real browser (Debian's chromium via
Playwright) against a production server with users (issue 33 item 3).

- the approver sees the candidate beside the current version and approves it with a
  comment and the production token: the alias moves, the page says who approved;
- the requester (who holds the approver role too) sees no button, and a forged POST (even
  with a token of their own) gets 403;
- a POST without the CSRF token, or from another origin, gets 403; nothing changes.

Screenshots (desktop width) go to the run's temporary folder; docs/ui-approval-*.png are
copies of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry
from opsml.config import OpsmlSettings
from opsml_testing.live_server import LiveServer, running_server
from tests._live_server import PROD_TOKEN
from tests._ui_seed import Story, seed
from tests.e2e._browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user

REQUESTER, APPROVER = "ml-dev", "release-boss"
REASON = '<b>AUC</b> 0.91 → 0.93 <script>alert("x")</script>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_chromium()
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1], "APP_ENV": "production",
           "OPSML_PROD_TOKEN": PROD_TOKEN, "OPSML_PROTECTED_ALIASES": "champion"}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("ui-approvals"), env=env) as live:
        add_user(live, REQUESTER, [{"role": "writer", "repository": "ds"}, {"role": "reader"},
                                   {"role": "approver", "repository": "ds"}])  # fmt: skip
        add_user(live, APPROVER, [{"role": "approver", "repository": "ds"}, {"role": "reader"}])
        yield live


def _registry(server: LiveServer, user: str, password: str = PASSWORD) -> CardRegistry:
    settings = OpsmlSettings(tracking_uri=server.url, username=user, password=password,
                             prod_token=PROD_TOKEN)  # fmt: skip
    return CardRegistry("model", settings=settings)


@pytest.fixture(scope="module")
def story(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Story:
    """The UI story (data → run → model v1, v2 → pipeline); champion approved to v1."""
    settings = OpsmlSettings(tracking_uri=server.url, username=ROOT[0], password=ROOT[1],
                             prod_token=PROD_TOKEN)  # fmt: skip
    told = seed(settings, tmp_path_factory.mktemp("ui-story"))
    asked = _registry(server, REQUESTER).request_alias(told.model_v1, "champion", reason="first")
    _registry(server, APPROVER).approve(asked.id, comment="first champion")
    return told


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, server: LiveServer, user: str) -> Any:
    context = browser.new_context(
        base_url=server.url, http_credentials={"username": user, "password": PASSWORD},
        viewport={"width": 1280, "height": 900},
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    return page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-approval-screenshots")


def test_approver_approves_in_the_browser(
    browser: Any, server: LiveServer, story: Story, shots: Path
) -> None:
    requester, approver = _registry(server, REQUESTER), _registry(server, APPROVER)
    asked = requester.request_alias(story.model_v2, "champion", reason=REASON)
    page = _page(browser, server, APPROVER)
    try:
        page.goto("/ui/approvals")
        row = page.locator("table.approvals tbody tr", has_text=f"#{asked.id}")
        assert "v1.0.0" in row.inner_text() and "v1.1.0" in row.inner_text()
        assert REASON in row.locator("td.reason").inner_text()  # shown as text, escaped
        row.locator(f"a[href='/ui/approvals/{asked.id}']").click()
        page.wait_for_url(f"**/ui/approvals/{asked.id}")
        assert page.locator("dd.reason").inner_text() == REASON
        assert page.locator("script:not([src])").count() == 0  # nothing inline, markup inert
        files = page.locator("section[aria-labelledby=cmp-files] tbody tr")
        assert files.count() >= 1 and "changed" in files.first.inner_text()
        assert page.locator("section[aria-labelledby=cmp-meta]").inner_text().count("1.1.0") >= 1
        assert "churn-train" in page.locator("section[aria-labelledby=lineage]").inner_text()
        page.screenshot(path=str(shots / "ui-approval-pending.png"), full_page=True)
        form = page.locator("form.decision", has=page.locator("button.approve"))
        form.locator("textarea").fill("metrics, files and lineage checked")
        form.locator("input[name=prod_token]").fill(PROD_TOKEN)
        form.locator("button.approve").click()
        page.wait_for_url(f"**/ui/approvals/{asked.id}")
        decided = page.locator("section[aria-labelledby=request]").inner_text()
        assert f"approved by {APPROVER}" in decided and "metrics, files and lineage" in decided
        assert page.locator("form.decision").count() == 0
        page.screenshot(path=str(shots / "ui-approval-approved.png"), full_page=True)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()
    assert approver.list_aliases(name="churn", repository="ds") == {"champion": "1.1.0"}
    done = approver.get_approval(asked.id)
    assert (done.state, done.decided_by, done.requested_by) == ("approved", APPROVER, REQUESTER)
    print(f"screenshots in {shots}")


def _post(page: Any, server: LiveServer, path: str, form: dict[str, str], **headers: str) -> Any:
    return page.request.post(path, form=form, headers={"Origin": server.url, **headers})


def test_requester_sees_no_button_and_forged_posts_are_refused(
    browser: Any, server: LiveServer, story: Story
) -> None:
    from opsml_server.ui.csrf import csrf_token

    requester, approver = _registry(server, REQUESTER), _registry(server, APPROVER)
    back = requester.request_alias(story.model_v1, "champion", reason="roll back to v1")
    before = approver.list_aliases(name="churn", repository="ds")
    path = f"/ui/approvals/{back.id}/approve"

    mine = _page(browser, server, REQUESTER)
    try:
        mine.goto(f"/ui/approvals/{back.id}")
        assert mine.locator("form.decision").count() == 0
        assert mine.locator("button").count() == 0
        assert "you asked for this move" in mine.locator("p.nodecide").inner_text()
        forged = _post(mine, server, path, {"comment": "self", "prod_token": PROD_TOKEN})
        assert forged.status == 403 and "CSRF" in forged.text()
        import base64

        header = "Basic " + base64.b64encode(f"{REQUESTER}:{PASSWORD}".encode()).decode()
        own = csrf_token(REQUESTER, header) or ""
        forged = _post(mine, server, path, {"csrf": own, "prod_token": PROD_TOKEN})
        assert forged.status == 403 and "the requester cannot approve" in forged.text()
    finally:
        mine.context.close()

    theirs = _page(browser, server, APPROVER)
    try:
        theirs.goto(f"/ui/approvals/{back.id}")
        token = theirs.locator("form.decision input[name=csrf]").first.input_value()
        no_token = _post(theirs, server, path, {"prod_token": PROD_TOKEN})
        assert no_token.status == 403 and "CSRF token is missing" in no_token.text()
        wrong = _post(theirs, server, path, {"csrf": "0" * 64, "prod_token": PROD_TOKEN})
        assert wrong.status == 403
        other_site = _post(theirs, server, path, {"csrf": token, "prod_token": PROD_TOKEN},
                           Origin="http://evil.example")  # fmt: skip
        assert other_site.status == 403 and "another site" in other_site.text()
        no_prod = _post(theirs, server, path, {"csrf": token, "prod_token": "wrong"})
        assert no_prod.status == 403 and "production token" in no_prod.text()
    finally:
        theirs.context.close()
    assert approver.get_approval(back.id).state == "pending"  # nothing was decided
    assert approver.list_aliases(name="churn", repository="ds") == before
