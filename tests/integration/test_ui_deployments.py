"""The UI's deployment views (issue 29 item 7) through FastAPI's TestClient, over every mode.

The card page's "Deployments" section, ``/ui/deployments`` and the list page's
"serving" marks after a real walk (deploy v1, deploy v2, roll back to v1), user
text rendered inert, the CSP, and the registry server's auth (a reader of one
repository sees none of it; a global reader sees it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings
from opsml_server.ui import deployview
from opsml_server.ui.standalone import create_ui_app

from opsml.auth.roles import Principal, Role
from opsml.backends import build_backend, clear_backend_cache
from opsml.errors import PermissionDeniedError
from tests._ui_deploy_seed import D1, D2, PREFECT, PROD, STAGING, deploy_walk, deploy_xss
from tests._ui_seed import seed

MODES = ["sqlite", "postgres", "mariadb", "http"]


@pytest.fixture(params=MODES)
def ui_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    from tests.conftest import _make_env

    env = _make_env(request.param, request, tmp_path)
    yield env
    clear_backend_cache()


def _page(ui: TestClient, url: str) -> str:
    """The page's HTML without the ``<wbr>`` line-break hints inside targets."""
    response = ui.get(url)
    assert response.status_code == 200, response.text
    return response.text.replace("<wbr>", "")


def _section(html: str, heading_id: str) -> str:
    """The HTML of the ``<section>`` whose heading has ``id=heading_id``."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _rows(html: str) -> list[str]:
    """Each body row's text, tags stripped and whitespace collapsed."""
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[-1], flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def _state_env(row: str) -> list[str]:
    """The state and environment a record row names."""
    found = re.search(r"\b(packaged|deployed|retired|failed) (production|staging)\b", row)
    assert found is not None, row
    return [found.group(1), found.group(2)]


def test_deployment_views_after_a_rollback_every_mode(ui_env: Any, tmp_path: Path) -> None:
    story = seed(ui_env.settings, tmp_path / "src")
    walk = deploy_walk(ui_env.settings, story)
    v1, v2 = story.model_v1.uid, story.model_v2.uid
    with TestClient(create_ui_app(build_backend(ui_env.settings))) as ui:
        overview = _page(ui, "/ui/deployments")
        prod = _rows(_section(overview, "env-1"))  # environments in name order
        assert len(prod) == 1
        assert re.fullmatch(
            f"{PROD} churn v1.0.0 ds churn-api:1.0.0 sha256:1a1a1a1a1a1a… "
            f"{walk.rollback.recorded_at:%Y-%m-%d %H:%M} UTC (just now|1 min ago) "
            f"{re.escape(walk.rollback.actor or '—')} deploy-3 "  # the declared actor, as audited
            r"\(Prefect flow run that deployed k8s/ml-prod/churn-api\)",
            prod[0],
        ), prod
        assert f'<a href="/ui/model/{v1}">churn v1.0.0</a>' in overview
        assert f'href="{PREFECT}deploy-3"' in overview
        assert _rows(_section(overview, "env-2"))[0].startswith(f"{STAGING} churn v1.1.0")
        assert '<span class="env">production</span>' in overview
        recent = [_state_env(r) for r in _rows(_section(overview, "recent"))]
        assert recent[:3] == [["deployed", "production"], ["retired", "production"],
                              ["deployed", "staging"]]  # fmt: skip

        card = _page(ui, f"/ui/model/{v1}")
        section = _section(card, "deployments")
        serving = section.split('<ul class="targets">')[1].split("</ul>")[0]
        assert PROD in serving and f'<code class="digest">{D1}</code>' in serving
        assert "churn-api:1.0.0" in serving and f'href="{PREFECT}deploy-3"' in serving
        assert STAGING not in serving  # v1.1.0 serves staging
        others = section.split('<ul class="others">')[1].split("</ul>")[0]
        assert STAGING in others and f'<a href="/ui/model/{v2}">v1.1.0</a>' in others
        history = _rows(section.split("<h3>Records of this version</h3>")[1])
        assert [_state_env(r)[0] for r in history] == [
            "deployed",
            "retired",
            "deployed",
            "packaged",
        ]  # newest first: the rollback, retired by v1.1.0, the first deploy, its packaging
        assert "superseded by: ds/churn v1.1.0" in history[1]
        assert section.count(D1) == 5 and f'href="{PREFECT}pack-1"' in section
        assert card.index('id="deployments"') < card.index('id="files"')

        newer = _section(_page(ui, f"/ui/model/{v2}"), "deployments")
        serving = newer.split('<ul class="targets">')[1].split("</ul>")[0]
        assert STAGING in serving and PROD not in serving  # rolled back on production
        others = newer.split('<ul class="others">')[1].split("</ul>")[0]
        assert f'{PROD}</code> → <a href="/ui/model/{v1}">v1.0.0</a>' in others
        history = _rows(newer.split("<h3>Records of this version</h3>")[1])
        assert [_state_env(r) for r in history] == [
            ["retired", "production"], ["deployed", "staging"], ["deployed", "production"],
            ["packaged", "production"],
        ]  # fmt: skip
        assert "superseded by: ds/churn v1.0.0" in history[0]
        assert f'<code class="digest full">{D2}</code>' in newer

        listed = _page(ui, "/ui/model")
        marks = re.findall(r'href="/ui/model/([0-9a-f]{32})#deployments"', listed)
        assert sorted(marks) == sorted([v1, v2])  # v1 on production, v2 on staging
        assert f"v1.0.0 on production/{PROD}</span>" in listed
        assert story.sk_model.uid in listed and story.sk_model.uid not in marks
        assert "#deployments" not in ui.get("/ui/run").text

        no_records = ui.get(f"/ui/model/{story.sk_model.uid}").text
        assert "No deployment records for this version." in no_records
        assert 'id="deployments"' not in ui.get(f"/ui/run/{story.run.uid}").text


def test_user_text_in_records_renders_inert(ui_env: Any, tmp_path: Path) -> None:
    story = seed(ui_env.settings, tmp_path / "src")
    deploy_xss(ui_env.settings, story.model_v1)
    with TestClient(create_ui_app(build_backend(ui_env.settings))) as ui:
        pages = [
            _page(ui, "/ui/deployments"),
            _page(ui, f"/ui/model/{story.model_v1.uid}"),
            _page(ui, "/ui/model"),
        ]
    for html in pages:
        body = html.split("</head>", 1)[1]
        assert "<script>" not in body and "<img" not in body and "<b>" not in body
        assert "javascript:" not in body
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(&#34;i&#34;)&gt;:1" in pages[1]
    assert "&lt;script&gt;: &lt;script&gt;alert(2)&lt;/script&gt;" in pages[1]
    assert "&lt;b&gt;run&lt;" in pages[1]  # the flow run id, shown as text without its link


def _sqlite(tmp_path: Path) -> Any:
    from opsml.config import OpsmlSettings

    return OpsmlSettings(
        tracking_uri=f"sqlite:///{(tmp_path / 'ui.db').as_posix()}",
        storage_uri=(tmp_path / "store").as_posix(),
    )


def test_empty_registry_and_csp(tmp_path: Path) -> None:
    with TestClient(create_ui_app(build_backend(_sqlite(tmp_path)))) as ui:
        page = ui.get("/ui/deployments")
    assert page.status_code == 200 and "Nothing is deployed anywhere yet." in page.text
    assert "No deployment records yet." in page.text
    assert 'aria-current="page">Deployments</a>' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_views_show_only_readable_repositories(tmp_path: Path) -> None:
    """The views filter as the API does (``readable``), whoever calls them."""
    from opsml import CardRegistry, RunCard

    settings = _sqlite(tmp_path)
    runs = CardRegistry("run", settings=settings)
    mine = RunCard(name="a", repository="mine", contact="me")
    theirs = RunCard(name="b", repository="theirs", contact="me")
    for card, target in ((mine, "t-mine"), (theirs, "t-theirs")):
        runs.register_card(card)
        runs.record_deployment(card, target=target, state="deployed")
    backend = build_backend(settings)
    reader = Principal("r", {"mine": Role.READER})
    view = deployview.overview(backend, reader)
    assert [r.target for g in view.environments for r in g.rows] == ["t-mine"]
    assert [r.target for r in view.recent] == ["t-mine"]
    assert [r.target for g in deployview.overview(backend, None).environments
            for r in g.rows] == ["t-mine", "t-theirs"]  # fmt: skip
    nobody = Principal("n", {"else": Role.READER})
    assert deployview.overview(backend, nobody).environments == []
    summaries = runs.list_cards(limit=10)
    assert set(deployview.serving(backend, summaries, reader)) == {mine.uid}
    with pytest.raises(PermissionDeniedError, match="'reader' role on repository 'theirs'"):
        deployview.for_card(backend, backend.get_card("run", uid=theirs.uid), nobody)


def test_server_pages_need_a_global_reader(tmp_path: Path) -> None:
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
        storage_uri=(tmp_path / "storage").as_posix(),
        username="alice",
        password="s3cret-pass",
    )
    alice = ("alice", "s3cret-pass")
    with TestClient(create_app(settings)) as client:
        assert client.get("/ui/deployments").status_code == 401
        for name, repository in (("one-repo", "ds"), ("everywhere", None)):
            made = client.post(
                "/api/v1/users", json={"name": name, "password": "user-password-123"}, auth=alice
            )
            assert made.status_code == 201, made.text
            grant = {"role": "reader", "repository": repository}
            assert client.post(f"/api/v1/users/{name}/grants", json=grant, auth=alice).is_success
        refused = client.get("/ui/deployments", auth=("one-repo", "user-password-123"))
        assert refused.status_code == 403 and "reader" in refused.text
        assert "unsafe-inline" not in refused.headers["content-security-policy"]
        shown = client.get("/ui/deployments", auth=("everywhere", "user-password-123"))
        assert shown.status_code == 200 and "Signed in as everywhere" in shown.text
        bad = client.get("/api/v1/deployments", params={"uids": "not-a-uid"}, auth=alice)
        assert bad.status_code == 400 and "uids" in bad.text
        many = client.get("/api/v1/deployments", params={"uids": ["a" * 32] * 101}, auth=alice)
        assert many.status_code == 400 and "uids" in many.text
        fine = client.get("/api/v1/deployments", params={"uids": ["a" * 32], "current": "true"},
                          auth=alice)  # fmt: skip
        assert fine.status_code == 200 and fine.json()["items"] == []
