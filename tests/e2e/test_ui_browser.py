"""The web UI in a real browser (Debian's chromium via Playwright) against a live server.

The registry server runs with basic auth on SQLite; 1,000 filler model cards
surround the story of ``tests/_ui_seed.py``. Screenshots of every page type at
desktop (1280 px) and phone (390 px) width go to the test run's temporary
folder (printed at the end of the module).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml_testing.live_server import LiveServer, running_server
from tests._ui_seed import FLOW_RUN_URL, XSS, Story, seed, seed_xss
from tests.e2e._browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

USER, PASSWORD = "ui-tester", "ui-tester-password"
FILLERS = 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_chromium()
    root = tmp_path_factory.mktemp("ui-server")
    env = {"OPSML_USERNAME": USER, "OPSML_PASSWORD": PASSWORD}
    with running_server(root, env=env) as live:
        yield live


def _fill(server: LiveServer) -> None:
    """1,000 model cards written straight into the server's database (fast)."""
    from opsml.backends.sql import SqlBackend
    from opsml.schemas import CardCreate

    backend = SqlBackend(server.db_url, server.storage_root.as_posix())
    try:
        for i in range(FILLERS):
            backend.register_card(
                CardCreate(
                    registry="model",
                    name=f"filler-{i:04d}",
                    repository=f"team-{i % 7}",
                    contact="bulk@example.com",
                    tags={"batch": str(i % 3)},
                ),
                server.storage_root,
            )
    finally:
        backend.close()


@pytest.fixture(scope="module")
def story(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Story:
    from opsml.config import OpsmlSettings

    _fill(server)
    settings = OpsmlSettings(tracking_uri=server.url, username=USER, password=PASSWORD)
    told = seed(settings, tmp_path_factory.mktemp("ui-story"))
    told.xss = seed_xss(settings)  # type: ignore[attr-defined]
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
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-screenshots")


def _file_bytes(server: LiveServer, card: Any, path: str) -> bytes:
    import httpx

    url = f"{server.url}/api/v1/cards/{card.registry_type}/{card.uid}/files/{path}"
    return httpx.get(url, auth=(USER, PASSWORD), trust_env=False).content


def test_login_search_open_download(page: Any, story: Story, server: LiveServer) -> None:
    page.goto("/")
    assert page.url.endswith("/ui/")
    assert page.get_by_role("heading", level=1).inner_text() == "Registries"
    page.get_by_role("link", name="Model", exact=True).click()
    assert page.locator("#results tbody tr").count() == 50
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.get_by_label("Name or repository").press_sequentially("churn", delay=30)
    # search as you type: the results are swapped in place and the URL keeps the query
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(r"/ui/model\?q=churn$"))
    expect(page.locator("#results tbody tr")).to_have_count(3)  # churn x2, churn-logreg
    assert errors == []
    rows = page.locator("#results tbody tr", has=page.get_by_role("link", name="churn", exact=True))
    assert rows.locator("td.ver").all_inner_texts() == ["1.1.0", "1.0.0"]  # SemVer order
    rows.nth(0).get_by_role("link", name="churn").click()
    page.wait_for_url(f"**/ui/model/{story.model_v2.uid}")
    public = story.model_v2._public
    for item in public.files:
        row = page.locator("tr", has_text=item.path)
        assert row.locator("code.digest").inner_text() == item.sha256
        with page.expect_download() as info:
            row.get_by_role("link", name=f"Download {item.path}").click()
        data = Path(info.value.path()).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item.sha256
        assert data == story.model_file
    # an old name outside the newest 1,000 is still found by its exact name
    page.goto("/ui/model?q=filler-0000")
    assert page.locator("#results tbody tr").count() == 1


def test_lineage_both_ways_and_flow_run(page: Any, story: Story) -> None:
    page.goto(f"/ui/model/{story.model_v1.uid}")
    lineage = page.locator("section", has=page.locator("#lineage"))
    assert (
        lineage.get_by_role("link", name="Prefect flow run: training").get_attribute("href")
        == FLOW_RUN_URL
    )
    assert lineage.get_by_role("link", name="training v1.0.0").count() == 1  # the pipeline
    lineage.get_by_role("link", name="churn-train v1.0.0").click()
    page.wait_for_url(f"**/ui/run/{story.run.uid}")
    assert page.locator("figure.chart svg").count() == 2
    back = page.locator("section", has=page.locator("#lineage"))
    assert back.get_by_role("link", name="churn v1.0.0").count() == 1  # run → model
    back.get_by_role("link", name="churn-data v1.0.0").click()
    page.wait_for_url(f"**/ui/data/{story.data.uid}")
    assert (
        page.locator("section", has=page.locator("#lineage"))
        .get_by_role("link", name="churn-train v1.0.0")
        .count()
        == 1
    )  # data → run


def test_compare_two_versions(page: Any, story: Story) -> None:
    page.goto(f"/ui/run/{story.run_v2.uid}")
    page.get_by_role("link", name="Compare v1.0.0 with v1.1.0").click()
    page.wait_for_url("**/ui/run/compare?**")
    loss = page.locator("tr", has=page.locator("th", has_text="loss"))
    assert "≠ changed" in loss.inner_text() and "0.41" in loss.inner_text()
    notes = page.locator("tr", has=page.locator("th", has_text="artifacts/notes.txt"))
    assert "≠ changed" in notes.inner_text()
    rate = page.locator("tr", has=page.locator("th", has_text="learning_rate"))
    assert "0.05" in rate.inner_text()


def test_script_payloads_render_as_text(page: Any, story: Story) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    card = story.xss  # type: ignore[attr-defined]
    for url in (
        f"/ui/run/{card.uid}",
        "/ui/run",
        "/ui/",
        f"/ui/run/compare?a={card.uid}&b={card.uid}",
    ):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("document.querySelectorAll('main script, main img').length") == 0
    page.goto(f"/ui/run/{card.uid}")
    assert page.locator("p.description").inner_text() == XSS
    assert XSS in page.locator("ul.tags").inner_text()
    assert page.locator("figcaption", has_text=XSS).count() == 1
    assert dialogs == []


PAGES = {
    "home": lambda s: "/ui/",
    "list": lambda s: "/ui/model?q=churn",
    "model": lambda s: f"/ui/model/{s.sk_model.uid}",
    "run": lambda s: f"/ui/run/{s.run.uid}",
    "data": lambda s: f"/ui/data/{s.data.uid}",
    "pipeline": lambda s: f"/ui/pipeline/{s.pipeline.uid}",
    "compare": lambda s: f"/ui/run/compare?a={s.run.uid}&b={s.run_v2.uid}",
    "error": lambda s: "/ui/model/" + "0" * 32,
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_accessibility_and_screenshots(page: Any, story: Story, kind: str, shots: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

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
        assert overflow <= 0, f"{kind} scrolls sideways at {width} px"
    print(f"screenshots in {shots}")


def test_keyboard_reaches_search_and_results(page: Any, story: Story) -> None:
    page.goto("/ui/model")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("churn")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/model?q=churn**")
    assert page.locator("#results tbody tr").count() == 3
