"""The Prefect collection: plugin cost, events, tasks and retries, the pull step, prefect.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Capture what the collection passes to ``prefect.events.emit_event``."""
    import prefect.events

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw))
    return calls


def _model_card(name: str = "churn") -> Any:
    from sklearn.linear_model import LogisticRegression

    from opsml import ModelCard

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    return ModelCard(
        name=name, repository="ds-team", contact="ds@example.com", model=model, sample_input=x[:2]
    )


# -- plugin ------------------------------------------------------------------------


def test_plugin_is_cheap_and_does_not_import_prefect() -> None:
    code = (
        "import sys, opsml_prefect.plugin, opsml.hooks as h; "
        "print('prefect' in sys.modules, len(h._commit_listeners))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=True,
    )
    assert out.stdout.split() == ["False", "1"]


def test_api_configured_from_env_or_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from opsml_prefect import plugin

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert plugin.prefect_api_configured()
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    (tmp_path / "profiles.toml").write_text(
        'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n'
    )
    assert plugin._profile_api_url() == "http://127.0.0.1:4200/api"
    (tmp_path / "profiles.toml").write_text('active = "dev"\n[profiles.dev]\n')
    assert plugin._profile_api_url() is None
    # parsed once per version of the file: an edit of the same length is seen by its mtime
    profile = tmp_path / "profiles.toml"
    for port in ("4200", "4201"):
        profile.write_text(f'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "http://h:{port}"\n')
        os.utime(profile, ns=(0, int(port) * 10**9))
        assert plugin._profile_api_url() == f"http://h:{port}"


# -- events ------------------------------------------------------------------------


def test_direct_registration_emits_exactly_one_event(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from opsml import CardRegistry

    card = CardRegistry("model").register_card(_model_card())
    assert len(emitted) == 1
    call = emitted[0]
    assert call["event"] == "opsml.card.registered"
    assert call["resource"] == {
        "prefect.resource.id": f"opsml.card.{card.uid}",
        "prefect.resource.name": "ds-team/churn",
        "opsml.registry": "model",
        "opsml.name": "churn",
        "opsml.repository": "ds-team",
        "opsml.version": "1.0.0",
    }
    assert call["related"] is None  # outside a flow run: no flow-run resource
    CardRegistry("model").register_card(_model_card(), version_type="patch")
    assert [c["resource"]["opsml.version"] for c in emitted] == ["1.0.0", "1.0.1"]


def test_no_event_without_a_prefect_api(
    embedded: Path,
    emitted: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from opsml import CardRegistry

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    with temporary_settings(updates={PREFECT_API_URL: None}):
        CardRegistry("model").register_card(_model_card())
    assert emitted == []


def test_http_client_leaves_the_event_to_the_server(
    tmp_path: Path,
    emitted: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    prefect_api: str,
) -> None:
    """Through a registry server the client emits nothing: the server does (see e2e)."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings
    from opsml_testing.live_server import running_server

    with running_server(tmp_path / "server") as server:
        registry = CardRegistry("model", settings=OpsmlSettings(tracking_uri=server.url))
        card = registry.register_card(_model_card())
    assert card.version == "1.0.0"
    assert emitted == []


# -- tasks -------------------------------------------------------------------------


def test_tasks_and_async_twins_share_one_implementation(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    import asyncio

    from prefect import flow

    from opsml_prefect import (
        aload_card,
        apull_model,
        aregister_card,
        list_cards,
        load_card,
        pull_model,
        register_card,
    )

    @flow
    def sync_flow() -> dict[str, Any]:
        card = register_card(_model_card())
        loaded = load_card("model", name="churn", repository="ds-team", version="1.0.0")
        listed = list_cards("model", name="churn")
        path = pull_model("churn", "ds-team", "^1", str(embedded / "pulled"))
        return {"card": card, "loaded": loaded, "listed": listed, "path": path}

    @flow
    async def async_flow() -> dict[str, Any]:
        card = await aregister_card(_model_card(), version_type="patch")
        loaded = await aload_card("model", uid=card.uid)
        path = await apull_model("churn", "ds-team", card.version, str(embedded / "apulled"))
        return {"card": card, "loaded": loaded, "path": path}

    first = sync_flow()
    second = asyncio.run(async_flow())
    assert first["card"].version == "1.0.0" and second["card"].version == "1.0.1"
    assert first["loaded"].uid == first["card"].uid and second["loaded"].uid == second["card"].uid
    assert [c.version for c in first["listed"]] == ["1.0.0"]
    for result in (first, second):
        card = result["card"]
        assert card.lineage["flow_run_id"] and card.lineage["run_url"].endswith(
            card.lineage["flow_run_id"]
        )
        folder = Path(result["path"])
        assert (folder / "model" / "model.skops").is_file()
        assert f'"version": "{card.version}"' in (folder / "card.json").read_text()
    assert first["card"].lineage["flow_run_id"] != second["card"].lineage["flow_run_id"]
    # events carry the run as a related resource (Prefect's own task-run events may pass
    # through the same patched emit_event: only the collection's are looked at)
    ours = [e for e in emitted if e["event"].startswith("opsml.")]
    assert ours[0]["related"][0]["prefect.resource.id"] == (
        f"prefect.flow-run.{first['card'].lineage['flow_run_id']}"
    )
    # each run got an artifact for its card, sync and async alike
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    for result in (first, second):
        run_id = UUID(result["card"].lineage["flow_run_id"])
        with get_client(sync_client=True) as client:
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        assert [a.key for a in artifacts] == ["opsml-model-ds-team-churn"]
        assert result["card"].uid in str(artifacts[0].data)


def test_item_2_lineage_link_is_prefects_own_url_for_the_run(
    prefect_api: str, embedded: Path
) -> None:
    from prefect import flow
    from prefect.utilities.urls import url_for

    from opsml_prefect import register_card

    @flow
    def register() -> Any:
        return register_card(_model_card("lineage-link"))

    card = register()
    run_id = card.lineage["flow_run_id"]
    expected = url_for("flow-run", obj_id=run_id)
    assert expected and "/runs/flow-run/" in expected
    assert card.lineage["run_url"] == expected


def test_retries_only_on_transient_errors(prefect_api: str, embedded: Path) -> None:
    from prefect import flow
    from prefect.states import Failed

    from opsml.errors import BackendUnavailableError, CardNotFoundError, StorageError
    from opsml_prefect import load_card
    from opsml_prefect.tasks import is_transient

    assert is_transient(None, None, Failed(data=BackendUnavailableError("down")))  # type: ignore[arg-type]
    assert is_transient(None, None, Failed(data=StorageError("down")))  # type: ignore[arg-type]
    assert not is_transient(None, None, Failed(data=CardNotFoundError("no")))  # type: ignore[arg-type]

    calls = {"n": 0}
    import opsml.registry

    original = opsml.registry.CardRegistry.load_card

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise BackendUnavailableError("registry server unreachable")
        return original(self, *args, **kwargs)

    from opsml import CardRegistry

    CardRegistry("model").register_card(_model_card())

    @flow
    def load_twice() -> Any:
        fast = load_card.with_options(retry_delay_seconds=0)
        card = fast("model", name="churn")
        state = fast("model", name="missing", return_state=True)
        return card, state

    mp = pytest.MonkeyPatch()
    mp.setattr(opsml.registry.CardRegistry, "load_card", flaky)
    try:
        card, state = load_twice()
    finally:
        mp.undo()
    assert card.name == "churn"
    assert state.is_failed()
    assert calls["n"] == 3  # 1 transient failure + 1 retry, then 1 attempt for the missing card


# -- deployment step ------------------------------------------------------------------


def test_issue_20_pull_section_leaves_prefect_in_the_project_folder(
    prefect_api: str, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The yaml's whole ``pull:`` section, run by Prefect's step runner: the merged output's
    ``directory`` (where Prefect changes to before loading the entrypoint) is the project."""
    import asyncio

    from prefect.deployments.steps.core import run_steps

    from opsml import CardRegistry

    card = CardRegistry("model").register_card(_model_card("iris-classifier"))
    CardRegistry("model").set_alias(card, "champion")  # the yaml's pull step takes champion
    config = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())
    packaging = next(d for d in config["deployments"] if d["name"] == "iris-classifier-api")
    assert (
        packaging["pull"][-1]["opsml_prefect.deployments.steps.pull_model"]["alias"] == "champion"
    )
    steps = [
        {key: {k: v for k, v in args.items() if k != "credentials"}}  # no block in this test
        for step in packaging["pull"]
        for key, args in step.items()
    ]
    _checkout(embedded)
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(embedded))
    monkeypatch.chdir(embedded)
    outputs = asyncio.run(run_steps(steps))
    assert Path(outputs["directory"]) == embedded  # not the pulled model's folder
    pulled = outputs["pulled-model"]
    assert "directory" not in pulled
    assert pulled["version"] == card.version and pulled["uid"] == card.uid
    assert Path(pulled["model_dir"]) == (embedded / "build" / "pulled-model").resolve()
    assert (Path(pulled["model_dir"]) / "card.json").is_file()


def _checkout(root: Path) -> Path:
    """The project's ``flows/`` in ``root``, as a worker's checkout holds it."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
    shutil.copytree(REPO_ROOT / "flows", root / "flows", ignore=ignore, dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("project", ["unset", "empty-folder"])
def test_pull_section_without_the_project_fails_at_its_first_step(
    prefect_api: str, embedded: Path, monkeypatch: pytest.MonkeyPatch, project: str
) -> None:
    """A worker without OPSML_PROJECT_DIR, or with one naming a folder without the flows:
    the packaging deployment's pull section, run by Prefect's step runner as a worker runs
    it (from the run's temporary folder), fails at its first step naming the variable and
    what to set it to, and pulls nothing. Before, the steps passed (Prefect stayed in the
    temporary folder) and the run crashed later with ``FileNotFoundError: /tmp/tmp…/flows/…``.
    """
    import asyncio

    from prefect.deployments.steps.core import _PULL_STEP_SOURCE_CWD, StepExecutionError, run_steps

    from opsml import CardRegistry
    from opsml.errors import ConfigurationError

    card = CardRegistry("model").register_card(_model_card("iris-classifier"))
    CardRegistry("model").set_alias(card, "champion")
    config = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())
    packaging = next(d for d in config["deployments"] if d["name"] == "iris-classifier-api")
    steps = [
        {key: {k: v for k, v in args.items() if k != "credentials"}}
        for step in packaging["pull"]
        for key, args in step.items()
    ]
    run_folder = embedded / "tmp-run-prefect"  # the worker's temporary run folder
    run_folder.mkdir()
    if project == "unset":
        monkeypatch.delenv("OPSML_PROJECT_DIR", raising=False)
    else:
        (embedded / "empty").mkdir()
        monkeypatch.setenv("OPSML_PROJECT_DIR", str(embedded / "empty"))
    monkeypatch.chdir(run_folder)
    token = _PULL_STEP_SOURCE_CWD.set(run_folder)  # as Prefect's worker sets it
    try:
        with pytest.raises(StepExecutionError, match="set_project_directory") as caught:
            asyncio.run(run_steps(steps))
    finally:
        _PULL_STEP_SOURCE_CWD.reset(token)
    cause = caught.value.__cause__
    assert isinstance(cause, ConfigurationError), repr(cause)
    assert "OPSML_PROJECT_DIR" in cause.message and "flows/package_model.py" in cause.message
    assert (
        "set OPSML_PROJECT_DIR" in cause.message or "OPSML_PROJECT_DIR is not set" in cause.message
    )
    assert not list(embedded.rglob("pulled-model"))  # the model step never ran
    assert Path.cwd() == run_folder


def test_issue_20_readme_pull_step_example_works_as_written(
    prefect_api: str, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``pull:`` example, credentials block by name included, through Prefect."""
    import asyncio
    import re

    from prefect.deployments.steps.core import run_steps

    from opsml import CardRegistry
    from opsml_prefect import OpsmlCredentials

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("- **Pull step** for any `prefect.yaml`") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    steps = yaml.safe_load(block.group(1))["pull"]
    name = next(s for s in steps if "opsml_prefect.deployments.steps.pull_model" in s)
    block_name = name["opsml_prefect.deployments.steps.pull_model"]["credentials"]
    OpsmlCredentials(tracking_uri=os.environ["OPSML_TRACKING_URI"]).save(block_name, overwrite=True)
    card = CardRegistry("model").register_card(_model_card("iris-classifier"))
    project = _checkout(embedded / "project")
    monkeypatch.setenv("OPSML_PROJECT_DIR", str(project))
    monkeypatch.delenv("OPSML_TRACKING_URI")  # the block alone names the registry
    outputs = asyncio.run(run_steps(steps))
    assert Path(outputs["directory"]) == project
    model_dir = Path(outputs["model"]["model_dir"])
    assert model_dir == project / "build" / "pulled-model"
    assert f'"uid": "{card.uid}"' in (model_dir / "card.json").read_text()


def test_pull_step_rebuilds_credentials_from_a_dict(embedded: Path) -> None:
    from opsml import CardRegistry
    from opsml_prefect.deployments.steps import pull_model

    CardRegistry("model").register_card(_model_card())
    block = {
        "tracking_uri": os.environ["OPSML_TRACKING_URI"],
        "username": None,
        "block_type_slug": "opsml-credentials",
    }
    out = pull_model("churn", "ds-team", None, str(embedded / "m"), credentials=block)
    assert out["version"] == "1.0.0" and Path(out["model_dir"], "card.json").is_file()


# -- prefect.yaml --------------------------------------------------------------------


def test_prefect_yaml_loads_with_prefects_models() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.events import DeploymentEventTrigger, DeploymentTriggerTypes
    from pydantic import TypeAdapter

    raw = yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())
    model = PrefectYamlModel.model_validate(raw)
    by_name = {d.name: d for d in model.deployments}
    assert set(by_name) == {"nightly", "iris-classifier-api", "iris-classifier-deploy"}
    nightly = by_name["nightly"]
    assert nightly.schedules and nightly.schedules[0].cron == "0 3 * * *"  # type: ignore[union-attr]
    packaging = by_name["iris-classifier-api"]
    assert packaging.triggers
    trigger = TypeAdapter(DeploymentTriggerTypes).validate_python(packaging.triggers[0])
    assert isinstance(trigger, DeploymentEventTrigger)
    assert trigger.expect == {"opsml.card.alias_set"}  # the deploy gate: alias moves only
    match = {k: v[0] if isinstance(v, list) else v for k, v in trigger.match.items()}
    assert match["prefect.resource.id"] == "opsml.card.*"
    assert match["opsml.name"] == "iris-classifier" and match["opsml.registry"] == "model"
    assert match["opsml.alias"] == "champion"
    assert trigger.parameters["version"] == "{{ event.resource['opsml.version'] }}"  # type: ignore[index]
    deploy = by_name["iris-classifier-deploy"]  # after packaging: its `packaged` record
    assert deploy.triggers
    after = TypeAdapter(DeploymentTriggerTypes).validate_python(deploy.triggers[0])
    assert isinstance(after, DeploymentEventTrigger)
    assert after.expect == {"opsml.card.deployed"}
    after_match = {k: v[0] if isinstance(v, list) else v for k, v in after.match.items()}
    assert after_match["opsml.state"] == "packaged"
    assert {k: after_match[k] for k in ("opsml.name", "opsml.repository")} == {
        k: match[k] for k in ("opsml.name", "opsml.repository")
    }
    spec = yaml.safe_load((REPO_ROOT / "flows" / "model_spec.yaml").read_text())
    assert match["opsml.name"] == spec["model"]["name"]
    assert match["opsml.repository"] == spec["model"]["repository"]
    for deployment in model.deployments:
        path, _, func = (deployment.entrypoint or "").partition(":")
        assert (REPO_ROOT / path).is_file() and f"def {func}(" in (REPO_ROOT / path).read_text()


# -- alias events (issue 13) ---------------------------------------------------------


def test_alias_move_emits_alias_set_exactly_once(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from opsml import CardRegistry

    registry = CardRegistry("model")
    first = registry.register_card(_model_card())
    second = registry.register_card(_model_card(), version_type="patch")
    emitted.clear()
    registry.set_alias(first, "champion")
    registry.set_alias(second, "champion")
    registry.delete_alias(name="churn", repository="ds-team", alias="champion")
    assert [c["event"] for c in emitted] == ["opsml.card.alias_set"] * 2
    assert emitted[1]["resource"] == {
        "prefect.resource.id": f"opsml.card.{second.uid}",
        "prefect.resource.name": "ds-team/churn",
        "opsml.registry": "model",
        "opsml.name": "churn",
        "opsml.repository": "ds-team",
        "opsml.version": "1.0.1",
        "opsml.alias": "champion",
    }
    assert emitted[0]["resource"]["opsml.version"] == "1.0.0"
    assert emitted[1]["payload"]["alias"] == "champion"


def test_http_client_leaves_the_alias_event_to_the_server(
    tmp_path: Path, emitted: list[dict[str, Any]], prefect_api: str
) -> None:
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings
    from opsml_testing.live_server import running_server

    with running_server(tmp_path / "server") as server:
        registry = CardRegistry("model", settings=OpsmlSettings(tracking_uri=server.url))
        card = registry.register_card(_model_card())
        registry.set_alias(card, "champion")
        assert registry.list_aliases(name="churn", repository="ds-team") == {"champion": "1.0.0"}
    assert emitted == []


def test_set_alias_tasks_and_pull_by_alias(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    import asyncio

    from prefect import flow

    from opsml import CardRegistry
    from opsml_prefect import aset_alias, pull_model, set_alias
    from opsml_prefect.deployments.steps import pull_model as pull_step

    registry = CardRegistry("model")
    first = registry.register_card(_model_card())
    second = registry.register_card(_model_card(), version_type="patch")

    @flow
    def promote() -> str:
        set_alias(first, "champion")
        return pull_model("churn", "ds-team", out_dir=str(embedded / "a"), alias="champion")

    @flow
    async def apromote() -> Any:
        return await aset_alias(second, "champion")

    folder = Path(promote())
    assert '"version": "1.0.0"' in (folder / "card.json").read_text()
    moved = asyncio.run(apromote())
    assert (moved.alias, moved.version) == ("champion", "1.0.1")
    out = pull_step("churn", "ds-team", directory=str(embedded / "b"), alias="champion")
    assert out["version"] == "1.0.1" and out["uid"] == second.uid
    assert [c["event"] for c in emitted if c["event"].endswith("alias_set")] == [
        "opsml.card.alias_set"
    ] * 2
