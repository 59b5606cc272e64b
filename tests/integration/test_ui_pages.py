"""The web UI's pages through FastAPI's TestClient, over every backend mode.

The pages are served by the standalone UI app (the one ``opsml ui`` runs) over
the mode's backend, so ``http`` exercises the UI over the HTTP backend and a
live server; the registry server's own ``/ui/`` (auth, redirect) is checked
in-process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings
from opsml_server.ui import router
from opsml_server.ui.standalone import create_ui_app

from opsml.backends import build_backend, clear_backend_cache
from tests._ui_seed import FLOW_RUN_URL, seed, seed_xss

MODES = ["sqlite", "postgres", "mariadb", "http"]


@pytest.fixture(params=MODES)
def ui_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from tests.conftest import _make_env

    env = _make_env(request.param, request, tmp_path)
    yield env
    clear_backend_cache()


@pytest.fixture
def ui(ui_env: Any) -> Iterator[TestClient]:
    with TestClient(create_ui_app(build_backend(ui_env.settings))) as client:
        yield client


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_ui_story_every_mode(ui: TestClient, ui_env: Any, tmp_path: Path) -> None:
    story = seed(ui_env.settings, tmp_path / "src")
    home = ui.get("/ui/")
    assert home.status_code == 200
    assert f"/ui/model/{story.model_v2.uid}" in home.text
    assert re.search(r"<strong>3</strong> cards", home.text)  # three models

    found = ui.get("/ui/model", params={"q": "chur"})
    assert f"/ui/model/{story.model_v2.uid}" in found.text
    assert found.text.index(story.model_v2.uid) < found.text.index(story.model_v1.uid)
    assert (
        "churn"
        not in ui.get("/ui/model", params={"q": "nothing-like-it"}).text.split('id="results"')[1]
    )
    tagged = ui.get("/ui/model", params={"tag": "stage=champion"}).text
    assert story.model_v2.uid in tagged and story.model_v1.uid not in tagged
    ranged = ui.get("/ui/model", params={"version": "1.0"}).text
    assert story.model_v1.uid in ranged and story.model_v2.uid not in ranged

    page = ui.get(f"/ui/model/{story.model_v2.uid}").text
    public = story.model_v2._public
    for item in public.files:
        assert item.sha256 in page
        link = f"/api/v1/cards/model/{public.uid}/files/{item.path}"
        assert link in page
        body = ui.get(link).content
        assert hashlib.sha256(body).hexdigest() == item.sha256
    assert ui.get(link, headers={"Range": "bytes=10-19"}).content == story.model_file[10 : 19 + 1]
    links = _links(page)
    assert f"/ui/run/{story.run.uid}" in links and f"/ui/data/{story.data.uid}" in links
    assert f"/ui/pipeline/{story.pipeline.uid}" in links and FLOW_RUN_URL in links
    audit = page.split('<h2 id="audit">Audit</h2>', 1)[1].split("</section>", 1)[0]
    assert "<td>register</td>" in audit  # every mode, the HTTP backend included

    from opsml import CardRegistry

    CardRegistry("model", settings=ui_env.settings).set_alias(story.model_v2, "champion")
    aliased = ui.get(f"/ui/model/{story.model_v2.uid}").text
    assert "<strong>@champion</strong> (this version)" in aliased
    older = ui.get(f"/ui/model/{story.model_v1.uid}").text
    assert f'@champion → <a href="/ui/model/{story.model_v2.uid}">' in older

    sk_page = ui.get(f"/ui/model/{story.sk_model.uid}").text
    assert "sklearn.linear_model" in sk_page and "<td>skops</td>" in sk_page
    assert re.search(r"<td>input</td><td>tenure</td><td>float64</td>", sk_page)

    run_page = ui.get(f"/ui/run/{story.run.uid}").text
    assert run_page.count("<svg") == 2 and "learning_rate" in run_page
    assert f"/ui/model/{story.model_v1.uid}" in _links(run_page)  # found backwards
    data_page = ui.get(f"/ui/data/{story.data.uid}").text
    assert f"/ui/run/{story.run.uid}" in _links(data_page)

    cmp = ui.get(
        "/ui/model/compare", params={"a": story.model_v1.uid, "b": story.model_v2.uid}
    ).text
    assert "≠ changed" in cmp and "model/files/weights.bin" in cmp
    assert re.search(r"stage</th><td>candidate</td><td>champion</td>", cmp)


def test_ui_escapes_user_text(ui: TestClient, ui_env: Any) -> None:
    card = seed_xss(ui_env.settings)
    pages = [
        ui.get(f"/ui/run/{card.uid}").text,
        ui.get("/ui/run").text,
        ui.get("/ui/").text,
        ui.get("/ui/run/compare", params={"a": card.uid, "b": card.uid}).text,
    ]
    for html in pages:
        body = html.split("</head>", 1)[1]
        assert "<script>" not in body and '"onerror' not in body
    assert "&lt;script&gt;alert(" in pages[0]
    assert "&#34;onerror=alert(1)" in pages[0]


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/model", "/ui/nope", "/ui/model/" + "0" * 32, "/ui/static/ui.css"]
)
def test_csp_on_every_ui_response(tmp_path: Path, path: str) -> None:
    backend = build_backend(_sqlite(tmp_path))
    with TestClient(create_ui_app(backend)) as client:
        response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "script-src 'self'" in csp and response.headers["x-content-type-options"] == "nosniff"


UNMATCHED = ["/ui/run/a/b", "/ui/static/missing.css", "/ui/static/sub/x.js", "/ui/model/x/y/z"]


@pytest.mark.parametrize("server", [False, True], ids=["standalone", "server"])
def test_unmatched_ui_paths_get_the_html_404_with_its_headers(tmp_path: Path, server: bool) -> None:
    """Issue 30 item 7: unmatched ``/ui/…`` paths got the API's JSON 404 without the CSP."""
    if server:
        settings = ServerSettings(
            database_url=f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
            storage_uri=(tmp_path / "storage").as_posix(),
            username="alice",
            password="s3cret-pass",
        )
        app = create_app(settings)
    else:
        app = create_ui_app(build_backend(_sqlite(tmp_path)))
    with TestClient(app) as client:
        for path in UNMATCHED:
            response = client.get(path, auth=("alice", "s3cret-pass"))
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert "<html" in response.text.lower() and '"error"' not in response.text
        if server:  # the same auth as every page: no answer about paths before it
            anonymous = client.get(UNMATCHED[0])
            assert anonymous.status_code == 401 and "content-security-policy" in anonymous.headers
        # the API keeps its JSON 404
        api = client.get("/api/v1/nothing", auth=("alice", "s3cret-pass"))
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_ui_has_no_write_endpoint() -> None:
    methods = {m for route in router.routes for m in getattr(route, "methods", set())}
    assert methods == {"GET"}


def test_server_ui_needs_the_api_auth_and_root_redirects(tmp_path: Path) -> None:
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
        storage_uri=(tmp_path / "storage").as_posix(),
        username="alice",
        password="s3cret-pass",
    )
    with TestClient(create_app(settings)) as client:
        denied = client.get("/ui/")
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
        assert "unsafe-inline" not in denied.headers["content-security-policy"]
        assert client.get("/ui/static/ui.js").status_code == 401
        auth = ("alice", "s3cret-pass")
        root = client.get("/", auth=auth, follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/ui/"
        home = client.get("/ui/", auth=auth)
        assert home.status_code == 200 and "Signed in as alice" in home.text


def test_list_paging_and_semver_order(tmp_path: Path) -> None:
    from opsml import CardRegistry, RunCard

    settings = _sqlite(tmp_path)
    registry = CardRegistry("run", settings=settings)
    for version in ["1.0.9", "1.0.10", "1.0.11", *[f"2.0.{n}" for n in range(60)]]:
        registry.register_card(RunCard(name="many", repository="ds", contact="me", version=version))
    with TestClient(create_ui_app(build_backend(settings))) as client:
        first = client.get("/ui/run").text
        versions = re.findall(r'<td class="ver">([^<]+)</td>', first)
        assert versions[:3] == ["2.0.59", "2.0.58", "2.0.57"] and len(versions) == 50
        assert 'Showing 1–50 of <span class="total">63</span>' in first
        (next_url,) = re.findall(r'rel="next" href="([^"]+)"', first)
        assert next_url.startswith("/ui/run?cursor=") and next_url.endswith("page=2")
        second = client.get(next_url.replace("&amp;", "&")).text
        assert re.findall(r'<td class="ver">([^<]+)</td>', second)[-3:] == [
            "1.0.11",
            "1.0.10",
            "1.0.9",
        ]
        assert "Showing 51–63" in second and 'rel="next"' not in second
        assert 'rel="first" href="/ui/run"' in second
        bad = client.get("/ui/run", params={"tag": "no-equals"})
        assert bad.status_code == 400 and "key=value" in bad.text
        cursor = re.search(r"cursor=([^&]+)", next_url)
        assert cursor is not None
        other = client.get("/ui/run", params={"q": "many", "cursor": cursor.group(1)})
        assert other.status_code == 400 and "cursor belongs to another query" in other.text
        broken = client.get("/ui/run", params={"cursor": "%%%"})
        assert broken.status_code == 400 and "cursor is malformed" in broken.text


def test_counts_and_search_past_the_newest_thousand(tmp_path: Path) -> None:
    from opsml_testing.seeding import seed_cards

    settings = _sqlite(tmp_path)
    seed_cards(settings.tracking_uri, 1100, names=11)  # model-00000 holds the oldest 100
    with TestClient(create_ui_app(build_backend(settings))) as client:
        home = client.get("/ui/").text
        assert "<strong>1100</strong> cards" in home
        found = client.get("/ui/model", params={"q": "L-00000"}).text
        assert '<span class="total">100</span>' in found
        assert len(re.findall(r'<td class="ver">', found)) == 50
        assert "model-00001" not in found.split('id="results"')[1]
        listed = client.get("/ui/model").text
        assert '<span class="total">1100</span>' in listed


def _sqlite(tmp_path: Path) -> Any:
    from opsml.config import OpsmlSettings

    return OpsmlSettings(
        tracking_uri=f"sqlite:///{(tmp_path / 'ui.db').as_posix()}",
        storage_uri=(tmp_path / "store").as_posix(),
    )


UI_COMMAND = "from opsml_server.cli import ui_app; ui_app(prog_name='opsml ui')"


@pytest.mark.parametrize("over", ["embedded", "http"])
def test_opsml_ui_command_serves_the_pages(tmp_path: Path, request: Any, over: str) -> None:
    """``opsml ui --port P --no-browser`` over embedded SQLite, and over a registry server."""
    import sys

    import httpx

    from opsml_testing.proc import start

    if over == "http":
        server = request.getfixturevalue("live_server")
        server.reset()
        env = {"OPSML_TRACKING_URI": server.url}
    else:
        env = {
            "OPSML_TRACKING_URI": f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
            "OPSML_STORAGE_URI": (tmp_path / "store").as_posix(),
        }
    from opsml.config import OpsmlSettings

    story = seed(
        OpsmlSettings(
            tracking_uri=env["OPSML_TRACKING_URI"], storage_uri=env.get("OPSML_STORAGE_URI")
        ),
        tmp_path / "src",
    )
    clear_backend_cache()
    proc = start(
        [sys.executable, "-c", UI_COMMAND, "--port", "{port}", "--no-browser"],
        ready_path="/ui/",
        log_path=tmp_path / "ui-{port}.log",
        env=env,
        timeout=60,
    )
    try:
        with httpx.Client(base_url=proc.url, trust_env=False) as client:
            page = client.get(f"/ui/model/{story.model_v2.uid}")
            assert page.status_code == 200 and story.model_v2.uid in page.text
            link = f"/api/v1/cards/model/{story.model_v2.uid}/files/model/files/weights.bin"
            assert client.get(link).content == story.model_file
            assert client.post(link).status_code == 405  # read-only
    finally:
        proc.stop()
    assert "127.0.0.1" in proc.log()
    assert ("a registry server" if over == "http" else "a SQL registry") in proc.log()
