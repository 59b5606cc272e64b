"""Issue 33, the real-process walk: ``flows/promote.py --request`` asks for ``champion`` in a
production registry where it is protected; a second person approves in the web UI
(Chromium); the alias moves; the packaging deployment runs on the alias event.

Every part is its own process: the Prefect API (test harness), the production registry
server (users, production token, ``PREFECT_API_URL``), the packaging flow served with the
trigger of ``deployments/prefect.yaml``, ``python flows/promote.py`` and the browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry
from opsml_testing.live_server import LiveServer, start_server
from tests._live_server import PROD_TOKEN
from tests.e2e._browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.e2e._serve_packaging import served_name
from tests.e2e.conftest import REPO_ROOT, registered_events, wait_for
from tests.e2e.test_packaging_trigger import _fit, _flow_runs, _spec
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
WRITER, APPROVER, PACKAGER = "ml-dev", "release-boss", "packager"


@pytest.fixture(scope="module")
def prod(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_chromium()
    env = {"PREFECT_API_URL": prefect_api, "APP_ENV": "production", "OPSML_PROD_TOKEN": PROD_TOKEN,
           "OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1],
           "OPSML_PROTECTED_ALIASES": "champion"}  # fmt: skip
    server = start_server(tmp_path_factory.mktemp("prod-registry"), env=env)
    try:
        add_user(server, WRITER, [{"role": "writer", "repository": "ds-team"}])
        add_user(server, APPROVER, [{"role": "approver", "repository": "ds-team"},
                                    {"role": "reader"}])  # fmt: skip
        add_user(
            server, PACKAGER, [{"role": "reader"}, {"role": "writer", "repository": "ds-team"}]
        )
        yield server
    finally:
        server.stop()


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    return {**base, "PYTHONUNBUFFERED": "1", **extra}


def _served(prod: LiveServer, prefect_api: str, name: str, tmp: Path) -> tuple[Any, Any]:
    from prefect.client.orchestration import get_client

    env = _env(OPSML_TRACKING_URI=prod.url, OPSML_USERNAME=PACKAGER, OPSML_PASSWORD=PASSWORD,
               OPSML_PROD_TOKEN=PROD_TOKEN,  # it records `packaged`: a write in production
               PREFECT_API_URL=prefect_api, PREFECT_RUNNER_POLL_FREQUENCY="1")  # fmt: skip
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e._serve_packaging", name, str(_spec(tmp, name)),
         str(tmp / "build")],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def ready() -> Any:
        if process.poll() is not None:
            pytest.fail(f"serve exited:\n{(tmp / 'serve.log').read_text()[-3000:]}")
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(served_name(name))
            except Exception:
                return None
            related = client.read_resource_related_automations(
                f"prefect.deployment.{deployment.id}"
            )
        return deployment if related else None

    return process, wait_for(ready, timeout=90, what="the served packaging deployment")


def _approve_in_the_browser(prod: LiveServer, approval_id: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(
                base_url=prod.url, http_credentials={"username": APPROVER, "password": PASSWORD}
            )
            page = context.new_page()
            page.goto("/ui/approvals")
            page.locator(f"a[href='/ui/approvals/{approval_id}']").click()
            form = page.locator("form.decision", has=page.locator("button.approve"))
            form.locator("textarea").fill("staging checks passed")
            form.locator("input[name=prod_token]").fill(PROD_TOKEN)
            form.locator("button.approve").click()
            page.wait_for_url(f"**/ui/approvals/{approval_id}")
            assert f"approved by {APPROVER}" in page.content()
        finally:
            chromium.close()


def test_promote_requests_the_ui_approves_packaging_runs(
    prod: LiveServer, prefect_api: str, tmp_path: Path
) -> None:
    name = f"iris-approved-{uuid.uuid4().hex[:6]}"
    staging_db = f"sqlite:///{(tmp_path / 'staging' / 'registry.db').as_posix()}"
    staging = CardRegistry("model", tracking_uri=staging_db)
    from opsml import ModelCard

    model, x = _fit()
    card = staging.register_card(ModelCard(name=name, repository="ds-team", contact="ds@x.com",
                                           model=model, sample_input=x.head(5)))  # type: ignore[attr-defined]  # fmt: skip
    staging.set_alias(card, "champion")
    serve, deployment = _served(prod, prefect_api, name, tmp_path)
    approver = CardRegistry("model", tracking_uri=prod.url, username=APPROVER, password=PASSWORD)
    promote_log = tmp_path / "promote.log"
    env = _env(OPSML_USERNAME=WRITER, OPSML_PASSWORD=PASSWORD, OPSML_TARGET_PROD_TOKEN=PROD_TOKEN,
               PREFECT_API_URL=prefect_api)  # fmt: skip
    with promote_log.open("wb") as log:
        promote = subprocess.Popen(
            [sys.executable, "flows/promote.py", "--name", name, "--repository", "ds-team",
             "--source", staging_db, "--target", prod.url, "--request", "--reason",
             "staging champion", "--poll-interval", "0.5", "--wait-timeout", "300"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            pending = wait_for(
                lambda: approver.list_approvals(state="pending", name=name).items
                or (promote.poll() is not None and pytest.fail(promote_log.read_text()[-3000:])),
                timeout=180, interval=0.5, what="the promote flow's request",
            )  # fmt: skip
            assert approver.list_aliases(name=name, repository="ds-team") == {}
            assert _flow_runs(deployment.id) == []  # nothing moved: nothing is packaged
            approved_at = time.monotonic()
            _approve_in_the_browser(prod, pending[0].id)
            assert promote.wait(timeout=120) == 0, promote_log.read_text()[-3000:]
        finally:
            if promote.poll() is None:
                promote.kill()
    output = promote_log.read_text()
    assert f"{APPROVER} approved request #{pending[0].id}" in output
    assert approver.list_aliases(name=name, repository="ds-team") == {"champion": card.version}

    def approved_move() -> list[Any]:  # staging's own (direct) move has the same uid
        events = registered_events([card.uid], "opsml.card.alias_set")
        return [e for e in events if "opsml.approved_by" in e.resource]

    moves = wait_for(approved_move, timeout=30, what="the approved alias event")
    assert moves[0].resource["opsml.approved_by"] == APPROVER
    assert moves[0].resource["opsml.requested_by"] == WRITER

    def finished() -> Any:
        done = [r for r in _flow_runs(deployment.id) if r.state and r.state.is_final()]
        return done[0] if done else None

    try:
        run = wait_for(finished, timeout=240, interval=0.5, what="the triggered packaging run")
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert run.state.is_completed(), run.state.message
    assert run.parameters["version"] == card.version
    context = tmp_path / "build" / f"{name}-{card.version}" / "context"
    assert (context / "model" / "card.json").is_file()
    print(
        f"\napproval in the UI -> packaging run completed: {time.monotonic() - approved_at:.1f} s"
    )
