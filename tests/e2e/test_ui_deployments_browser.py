"""The UI's deployment views (issue 29 item 7) in a real browser (Debian's chromium via
Playwright) against a live registry server with basic auth.

The story of ``tests/_ui_seed.py`` is deployed, moved on and rolled back
(``tests/_ui_deploy_seed.py``); a run card carries a record whose target, image,
flow-run URL and detail are script payloads. Screenshots at 1280 and 390 px go to
the test run's temporary folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from opsml_testing.live_server import LiveServer, running_server
from tests._ui_deploy_seed import (
    D1,
    PREFECT,
    PROD,
    STAGING,
    XSS_IMAGE,
    XSS_TARGET,
    deploy_walk,
    deploy_xss,
)
from tests._ui_seed import Story, seed, seed_xss
from tests.e2e._browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

USER, PASSWORD = "ui-deployer", "ui-deployer-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_chromium()
    env = {"OPSML_USERNAME": USER, "OPSML_PASSWORD": PASSWORD}
    with running_server(tmp_path_factory.mktemp("ui-deploy-server"), env=env) as live:
        yield live


@pytest.fixture(scope="module")
def story(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Story:
    from opsml.config import OpsmlSettings

    settings = OpsmlSettings(tracking_uri=server.url, username=USER, password=PASSWORD)
    told = seed(settings, tmp_path_factory.mktemp("ui-deploy-story"))
    deploy_walk(settings, told)
    told.xss = seed_xss(settings)  # type: ignore[attr-defined]
    deploy_xss(settings, told.xss)  # type: ignore[attr-defined]
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


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(
        base_url=server.url,
        http_credentials={"username": USER, "password": PASSWORD},
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def test_card_page_deployments_section(page: Any, story: Story) -> None:
    page.goto(f"/ui/model/{story.model_v1.uid}")
    section = page.locator("section.deployments")
    assert section.get_by_role("heading", level=2).inner_text() == "Deployments"
    serving = section.locator("li.target-card")
    assert serving.count() == 1
    assert serving.locator("code.target").inner_text() == PROD
    assert serving.locator("code.digest").inner_text() == D1
    assert serving.locator("code.image").inner_text() == "churn-api:1.0.0"
    link = serving.get_by_role("link", name=re.compile(r"^Prefect flow run"))
    assert link.get_attribute("href") == PREFECT + "deploy-3"
    states = section.locator("table.records tbody td .state").all_inner_texts()
    assert states == ["deployed", "retired", "deployed", "packaged"]
    digests = section.locator("table.records tbody code.digest").all_inner_texts()
    assert digests == [D1] * 4  # the rollback reused the image built for v1.0.0
    flow_runs = section.locator("table.records tbody a[href^='http']")
    assert [a.get_attribute("href") for a in flow_runs.all()] == [
        PREFECT + run for run in ("deploy-3", "deploy-1", "deploy-1", "pack-1")
    ]  # the retirement keeps the flow run of the deployment it retired
    others = section.locator("ul.others li")
    assert others.count() == 1 and STAGING in others.inner_text()
    others.get_by_role("link", name="v1.1.0").click()
    page.wait_for_url(f"**/ui/model/{story.model_v2.uid}")
    newer = page.locator("section.deployments")
    assert newer.locator("li.target-card code.target").all_inner_texts() == [STAGING]


def test_deployments_page_and_its_links(page: Any, story: Story) -> None:
    page.goto("/ui/")
    page.get_by_role("link", name="Deployments", exact=True).click()
    page.wait_for_url("**/ui/deployments")
    assert page.get_by_role("heading", level=1).inner_text() == "Deployments"
    environments = page.locator("main h2 .env").all_inner_texts()
    assert environments == ["production", "staging"]
    prod = page.locator("table.current tr", has=page.locator("code.target", has_text=PROD))
    assert prod.count() == 1
    cells = prod.locator("td").all_inner_texts()
    assert cells[1].startswith("churn v1.0.0") and "churn-api:1.0.0" in cells[2]
    assert prod.locator("code.digest").get_attribute("title") == D1
    assert re.search(r"(just now|min ago)", cells[3]) and cells[4] == USER
    prod.get_by_role("link", name="churn v1.0.0").click()
    page.wait_for_url(f"**/ui/model/{story.model_v1.uid}")


def test_list_marks_the_serving_versions(page: Any, story: Story) -> None:
    page.goto("/ui/model?q=churn")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 3
    marked = page.locator("#results tbody tr", has=page.locator("a.badge.serving"))
    assert sorted(marked.locator("td.ver").all_inner_texts()) == ["1.0.0", "1.1.0"]
    badge = marked.filter(has_text="1.0.0").locator("a.badge.serving")
    assert badge.get_attribute("title") == f"production/{PROD}"
    badge.click()
    page.wait_for_url(f"**/ui/model/{story.model_v1.uid}#deployments")


def test_script_payloads_in_records_render_as_text(page: Any, story: Story) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    card = story.xss  # type: ignore[attr-defined]
    for url in ("/ui/deployments", f"/ui/run/{card.uid}", "/ui/run"):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0
        assert page.evaluate("[...document.links].some(a => a.protocol === 'javascript:')") is False
    page.goto(f"/ui/run/{card.uid}")
    serving = page.locator("li.target-card")
    assert serving.locator("code.target").inner_text() == XSS_TARGET
    assert serving.locator("code.image").inner_text() == XSS_IMAGE
    assert dialogs == []


WIDE = """[...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
  .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
"""The elements (outside scrolling tables) past the right edge."""

PAGES = {
    "deployments": lambda s: "/ui/deployments",
    "card-deployments": lambda s: f"/ui/model/{s.model_v1.uid}",
    "list-serving": lambda s: "/ui/model?q=churn",
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_accessibility_and_screenshots(
    page: Any, story: Story, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    shots = tmp_path_factory.getbasetemp() / "ui-deploy-screenshots"
    shots.mkdir(exist_ok=True)
    page.goto(PAGES[kind](story))
    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert bad == [], bad
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"{kind}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{kind} scrolls sideways at {width} px: {page.evaluate(WIDE)}"
    print(f"screenshots in {shots}")
