"""Issue 20: the Prefect path exactly as the README runs it, every part a real process.

``prefect server start`` (temporary home, SQLite), the registry server with
``PREFECT_API_URL``, ``prefect block register -m opsml_prefect``, the
``OpsmlCredentials`` block saved under one name, a process work pool,
``prefect deploy --all --prefect-file deployments/prefect.yaml`` from the project
root, ``prefect worker start`` with ``OPSML_PROJECT_DIR``; then a training run
started through the API. The deploy gate (issue 13): the model registration
alone packages nothing; moving the alias ``champion`` to it triggers the
packaging run (which must complete with its build context and manifests); a
direct registration again packages nothing until the alias moves to it. Each
packaging run ends with an image that was built, started as its user and
answered predictions over HTTP (issue 28); the registry records it, the deploy
flow records it deployed, and moving the alias back rolls back (issue 29); the
spec requires a signature, so only signed champions are packaged (issue 32).
The delays alias move -> run created -> running -> completed are printed.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e._prefect_stack import (
    BIN,
    BLOCK_NAME,
    PrefectStack,
    copy_project,
    prefect_stack,
)
from tests.e2e.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

PACKAGING = "opsml-packaging/iris-classifier-api"
TRAINING = "opsml-training/nightly"
GRACE = 8.0
"""Seconds an automation gets to react to a registration, before we check it did not."""


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _runs_of(deployment_id: Any) -> list[Any]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with _client() as client:
        return list(
            client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
        )


def _final_run(deployment_id: Any, version: str) -> Any:
    def done() -> Any:
        runs = [r for r in _runs_of(deployment_id) if r.parameters.get("version") == version]
        finished = [r for r in runs if r.state and r.state.is_final()]
        return finished[0] if finished else None

    return wait_for(done, timeout=600, interval=1.0, what=f"the packaging run of v{version}")


def _delays(registered_at: datetime, run: Any) -> dict[str, float]:
    return {
        "move->created": (run.created - registered_at).total_seconds(),
        "created->running": (run.start_time - run.created).total_seconds(),
        "running->completed": (run.end_time - run.start_time).total_seconds(),
        "move->completed": (run.end_time - registered_at).total_seconds(),
    }


def _check_packaged(project: Path, version: str, engine: Any) -> None:
    from flows.model_packaging import inspect_image, not_readable_by_all

    out = project / "build" / f"iris-classifier-{version}"
    # the image was built, started as its user and answered over HTTP (its access log)
    image = inspect_image(engine, f"registry.example.com/ds-team/iris-api:{version}")
    assert image.labels["ai.opsml.model.version"] == version and image.user == "10001"
    served = (out / "image-run.log").read_text()
    assert '"POST /predict HTTP/1.1" 200' in served, served[-2000:]
    assert served.count('"POST /predict HTTP/1.1" 422') == 2, served[-2000:]
    context = out / "context"
    assert (context / "Dockerfile").is_file(), sorted(p.name for p in out.glob("*"))
    card = (context / "model" / "card.json").read_text()
    assert f'"version": "{version}"' in card
    assert not_readable_by_all(context) == []  # the image's USER 10001 can read the model
    deployment = yaml.safe_load((out / "k8s" / "deployment.yaml").read_text())
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(f":{version}")
    assert (out / "k8s" / "service.yaml").is_file()


def _set_up(stack: PrefectStack, project: Path, registry_url: str) -> None:
    """The README's Prefect sequence: block type, block, work pool, deploy."""
    prefect = str(BIN / "prefect")
    stack.run(prefect, "block", "register", "-m", "opsml_prefect", cwd=project)
    stack.run(
        str(BIN / "python"),
        "-c",
        "from opsml_prefect import OpsmlCredentials; "
        f"OpsmlCredentials(tracking_uri={registry_url!r}).save({BLOCK_NAME!r}, overwrite=True)",
        cwd=project,
    )
    stack.run(prefect, "work-pool", "create", "opsml-pool", "--type", "process", cwd=project)
    stack.run(
        prefect,
        "--no-prompt",
        "deploy",
        "--all",
        "--prefect-file",
        "deployments/prefect.yaml",
        cwd=project,
    )


def _use_base(project: Path, base: str, public_key: Path) -> None:
    """The copied spec builds on the Debian base (python:3.11-slim cannot be pulled here)
    and packages only models signed by ``public_key`` (issue 32)."""
    path = project / "flows" / "model_spec.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["api"]["base_image"] = base
    spec["require_signature"] = {"public_keys": [str(public_key)]}
    path.write_text(yaml.safe_dump(spec))


def test_issue_20_prefect_path_as_users_run_it(
    tmp_path: Path, container_engine: Any, debian_base: str
) -> None:
    from opsml import CardRegistry, ModelCard
    from opsml.config import OpsmlSettings
    from opsml_testing.live_server import start_server
    from opsml_testing.signing import make_keys

    keys = make_keys(tmp_path / "keys")
    project = copy_project(tmp_path / "project")
    _use_base(project, debian_base, keys.public)
    with prefect_stack(tmp_path / "prefect") as stack:
        registry = start_server(
            tmp_path / "registry",
            env={
                "PREFECT_API_URL": stack.api_url,
                "PREFECT_HOME": stack.env["PREFECT_HOME"],
                "OPSML_LOG_LEVEL": "INFO",
            },
        )
        try:
            _run_the_path(
                stack,
                project,
                registry.url,
                (CardRegistry, ModelCard, OpsmlSettings),
                (container_engine, keys.private),
            )
            log = registry.log_path.read_text(errors="replace")
            assert f"opsml.card.registered is emitted to {stack.api_url}" in log
        finally:
            registry.stop()


def _run_the_path(
    stack: PrefectStack,
    project: Path,
    registry_url: str,
    types: tuple[Any, Any, Any],
    tools: tuple[Any, Path],
) -> None:
    card_registry, model_card, settings_type = types
    engine, signing_key = tools
    _set_up(stack, project, registry_url)
    stack.spawn(
        "worker",
        str(BIN / "prefect"),
        "worker",
        "start",
        "--pool",
        "opsml-pool",
        cwd=project,
        env={
            "OPSML_PROJECT_DIR": str(project),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "OPSML_SIGNING_KEY": str(signing_key),  # the training flow signs what it registers
        },
    )
    models = card_registry("model", settings=settings_type(tracking_uri=registry_url))
    with stack.client_settings(), _client() as client:
        packaging = client.read_deployment_by_name(PACKAGING)
        training = client.read_deployment_by_name(TRAINING)
        # deployed from a shell without OPSML_PROJECT_DIR: read on the worker, not frozen
        assert "{{ $OPSML_PROJECT_DIR }}" in str(packaging.pull_steps)
        assert BLOCK_NAME in str(packaging.pull_steps)
        assert client.read_resource_related_automations(f"prefect.deployment.{packaging.id}")
        trained = client.create_flow_run_from_deployment(training.id)

    with stack.client_settings():
        training_run = wait_for(
            lambda: _finished(trained.id), timeout=600, interval=1.0, what="the training run"
        )
        assert training_run.state.is_completed(), _why(stack, training_run)
        first = models.load_card(name="iris-classifier", repository="ds-team")
        time.sleep(GRACE)  # a registration alone packages nothing (the deploy gate)
        assert _runs_of(packaging.id) == []
        moved = models.set_alias(first, "champion")  # the gate: move the alias
        run = _final_run(packaging.id, first.version)
        assert run.state.is_completed(), _why(stack, run)
        _check_packaged(project, first.version, engine)
        _report("alias moved after the training run", moved.set_at, run)

        second = model_card(
            name="iris-classifier",
            repository="ds-team",
            contact="ds@example.com",
            model=first.load_model(),
            sample_input=first.metadata["model"]["signature"]["sample_input"],
        )
        _sample_frame(second)
        models.register_card(second, sign_with=str(signing_key))  # direct, outside any flow
        assert second.version != first.version
        time.sleep(GRACE)
        assert [r.parameters.get("version") for r in _runs_of(packaging.id)] == [first.version]
        moved = models.set_alias(second, "champion")
        run = _final_run(packaging.id, second.version)
        assert run.state.is_completed(), _why(stack, run)
        _check_packaged(project, second.version, engine)
        _report("alias moved to a direct registration", moved.set_at, run)
        versions = [r.parameters.get("version") for r in _runs_of(packaging.id)]
        assert sorted(versions) == sorted([first.version, second.version])  # one run per move
        _check_recorded(models, first, second, engine)

        # Rollback is an alias move: champion back to the first version packages and
        # deploys it again, and the registry's view of production follows.
        built_log = project / "build" / f"iris-classifier-{first.version}" / "image-build.log"
        built_at = built_log.stat().st_mtime
        models.set_alias(first, "champion")
        _wait_current(models, first.version)
        history = models.list_deployments(target=TARGET, state="deployed").items
        assert [r.version for r in history][:3] == [first.version, second.version, first.version]
        # its image was built for it before: checked again, not rebuilt
        assert built_log.stat().st_mtime == built_at
        packaged = models.list_deployments(card=first, state="packaged").items
        assert len(packaged) == 2 and len({r.image_digest for r in packaged}) == 1

        # The spec requires a signature: an unsigned champion is refused before any work.
        unsigned = model_card(
            name="iris-classifier",
            repository="ds-team",
            contact="ds@example.com",
            model=first.load_model(),
            sample_input=first.metadata["model"]["signature"]["sample_input"],
        )
        _sample_frame(unsigned)
        models.register_card(unsigned)
        models.set_alias(unsigned, "champion")
        run = _final_run(packaging.id, unsigned.version)
        assert run.state.is_failed(), _why(stack, run)
        assert "is unsigned: a signature by a trusted key is required" in str(run.state.message)
        assert not (project / "build" / f"iris-classifier-{unsigned.version}").exists()
        assert models.current_deployment(target=TARGET).version == first.version


TARGET = "k8s/models/iris-classifier-api"
"""The target of the shipped flows/deploy_spec.yaml."""


def _wait_current(models: Any, version: str) -> Any:
    def current() -> Any:
        record = models.current_deployment(target=TARGET)
        return record if record is not None and record.version == version else None

    return wait_for(current, timeout=300, interval=1.0, what=f"v{version} deployed at {TARGET}")


def _check_recorded(models: Any, first: Any, second: Any, engine: Any) -> None:
    """What ran where: each packaging recorded its image digest, then the deploy flow ran."""
    from flows.model_packaging import inspect_image

    current = _wait_current(models, second.version)
    for card in (first, second):
        [packaged] = models.list_deployments(card=card, state="packaged").items
        built = inspect_image(engine, f"registry.example.com/ds-team/iris-api:{card.version}")
        assert packaged.image_digest == built.digest and packaged.flow_run_id
    assert current.image_digest == built.digest  # the second's image serves now
    [retired] = models.list_deployments(card=first, state="retired").items
    assert retired.target == TARGET


def _sample_frame(card: Any) -> None:
    import pandas as pd

    card.sample_input = pd.DataFrame(card.sample_input)


def _finished(run_id: Any) -> Any:
    with _client() as client:
        run = client.read_flow_run(run_id)
    return run if run.state and run.state.is_final() else None


def _why(stack: PrefectStack, run: Any) -> str:
    worker = (stack.root / "worker.log").read_text(errors="replace")[-6000:]
    return f"{run.name}: {run.state.type} {run.state.message}\nworker log:\n{worker}"


def _report(what: str, registered_at: datetime, run: Any) -> None:
    delays = _delays(registered_at, run)
    print(
        f"\n[prefect path] {what} v{run.parameters['version']}: "
        + "; ".join(f"{k} {v:.2f} s" for k, v in delays.items())
    )
