"""Scenario 2 triggered by an event: moving the alias champion runs the served packaging deployment.

The deploy gate (issue 13): a direct registration emits ``opsml.card.registered``
once and packages nothing; moving the alias emits ``opsml.card.alias_set`` once,
and that runs the packaging of the aliased version.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.e2e._serve_packaging import served_name
from tests.e2e.conftest import REPO_ROOT, E2ERegistry, registered_events, wait_for


def _spec(tmp_path: Path, name: str, version: str = "^1") -> Path:
    shutil.copytree(REPO_ROOT / "flows" / "model_api", tmp_path / "model_api")
    spec = yaml.safe_load((REPO_ROOT / "flows" / "model_spec.yaml").read_text())
    spec["model"].update(name=name, version=version)
    path = tmp_path / "model_spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _fit() -> tuple[object, object]:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    frame = load_iris(as_frame=True)
    x = frame.data
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, frame.target), x


def _flow_runs(deployment_id: object) -> list[object]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        return list(
            client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
        )


@pytest.fixture
def served_packaging(e2e_registry: E2ERegistry, prefect_api: str, tmp_path: Path):
    """The packaging flow served (prefect ``serve``) in a subprocess with the yaml's trigger."""
    from prefect.client.orchestration import get_client

    name = f"iris-trigger-{uuid.uuid4().hex[:6]}"
    spec = _spec(tmp_path, name)
    out = tmp_path / "build"
    env = {
        **os.environ,
        **e2e_registry.env,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e._serve_packaging", name, str(spec), str(out)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def ready() -> object:
        if process.poll() is not None:
            pytest.fail(f"serve exited:\n{(tmp_path / 'serve.log').read_text()[-3000:]}")
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(served_name(name))
            except Exception:
                return None
            automations = client.read_resource_related_automations(
                f"prefect.deployment.{deployment.id}"
            )
        return deployment if automations else None

    try:
        deployment = wait_for(ready, timeout=90, what="the served packaging deployment")
        yield name, out, deployment
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        print((tmp_path / "serve.log").read_text()[-2000:])


def test_direct_registration_emits_once_and_alias_move_triggers_packaging(
    served_packaging: tuple[str, Path, object], e2e_registry: E2ERegistry
) -> None:
    from opsml import CardRegistry, ModelCard

    name, out, deployment = served_packaging
    model, x = _fit()
    sample = x.head(5)  # type: ignore[attr-defined]
    card = ModelCard(
        name=name, repository="ds-team", contact="ds@example.com", model=model, sample_input=sample
    )
    registered_at = datetime.now(UTC)
    t0 = time.perf_counter()
    CardRegistry("model").register_card(card)  # direct client use, outside any flow
    register_seconds = time.perf_counter() - t0
    assert card.lineage == {}

    # exactly one event for this registration
    events = wait_for(lambda: registered_events([card.uid]), timeout=30, what="the event")
    time.sleep(2)
    events = registered_events([card.uid])
    assert len(events) == 1
    assert events[0].resource["opsml.version"] == card.version == "1.0.0"
    assert events[0].resource["opsml.name"] == name

    # the deploy gate: a registration alone packages nothing
    time.sleep(3)
    assert _flow_runs(deployment.id) == []  # type: ignore[attr-defined]
    registered_at = datetime.now(UTC)
    CardRegistry("model").set_alias(card, "champion")
    moves = wait_for(
        lambda: registered_events([card.uid], "opsml.card.alias_set"), timeout=30, what="the move"
    )
    assert moves[0].resource["opsml.alias"] == "champion"

    # the trigger runs the packaging deployment with the event's version
    def finished() -> object:
        runs = _flow_runs(deployment.id)  # type: ignore[attr-defined]
        done = [r for r in runs if r.state and r.state.is_final()]
        return done[0] if done else None

    run = wait_for(finished, timeout=180, interval=0.5, what="the triggered packaging run")
    assert run.state.is_completed(), run.state.message
    assert run.parameters["version"] == card.version
    assert len(_flow_runs(deployment.id)) == 1  # type: ignore[attr-defined]
    assert len(registered_events([card.uid], "opsml.card.alias_set")) == 1  # exactly once
    latency = (run.start_time - registered_at).total_seconds()
    print(
        f"\n[{e2e_registry.mode}] register {register_seconds:.3f} s; alias move -> "
        f"triggered run start {latency:.2f} s; packaging run "
        f"{run.total_run_time.total_seconds():.2f} s"
    )

    # the build context's API answers with the registered model's output
    context = out / f"{name}-{card.version}" / "context"
    assert (context / "Dockerfile").is_file() and (context / "model" / "card.json").is_file()
    manifests = out / f"{name}-{card.version}" / "k8s"
    deployment_yaml = yaml.safe_load((manifests / "deployment.yaml").read_text())
    image = deployment_yaml["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":1.0.0")

    from fastapi.testclient import TestClient

    module_spec = importlib.util.spec_from_file_location("e2e_model_api", context / "app.py")
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    sys.modules["e2e_model_api"] = module
    try:
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
        other = x.tail(7)  # type: ignore[attr-defined]
        with TestClient(module.create_app(context / "model")) as client:
            answer = client.post("/predict", json={"inputs": other.to_dict(orient="records")})
    finally:
        sys.modules.pop("e2e_model_api", None)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == model.predict(other).tolist()  # type: ignore[attr-defined]
    assert answer.json()["version"] == card.version
