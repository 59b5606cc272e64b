"""Scenario 1 under a real Prefect API: linked cards, lineage, run artifacts, events."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from uuid import UUID

import pytest

from tests.e2e.conftest import REPO_ROOT, E2ERegistry, registered_events, wait_for


def test_training_flow_registers_linked_cards_with_lineage_and_artifacts(
    e2e_registry: E2ERegistry,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.training import training
    from opsml import CardRegistry

    name = f"iris-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    state = training(name=name, repository="ds-team", version_type="minor", return_state=True)
    wall = time.perf_counter() - started
    assert state.is_completed(), state.message
    result = state.result()
    flow_run_id = str(state.state_details.flow_run_id)
    print(
        f"\n[{e2e_registry.mode}] training flow wall {wall:.2f} s, "
        f"opsml tasks {result['timings']['opsml_seconds']:.3f} s of "
        f"{result['timings']['flow_seconds']:.3f} s flow body"
    )

    data = CardRegistry("data").load_card(uid=result["data"]["uid"])
    run = CardRegistry("run").load_card(uid=result["run"]["uid"])
    model = CardRegistry("model").load_card(uid=result["model"]["uid"])
    pipeline = CardRegistry("pipeline").load_card(uid=result["pipeline"]["uid"])

    # linked
    assert model.datacard_uid == data.uid and model.runcard_uid == run.uid
    assert run.datacard_uids == [data.uid] and run.modelcard_uids == [model.uid]
    assert run.params["C"] == 1.0 and run.metrics["accuracy"][-1]["value"] > 0.8
    assert model.signature["sample_input"] and model.signature["sample_output"]
    assert pipeline.card_uids == {"data": [data.uid], "run": [run.uid], "model": [model.uid]}
    assert pipeline.flow_run_id == flow_run_id and pipeline.flow_name == "opsml-training"

    # lineage: every card names this flow run
    for card in (data, run, model, pipeline):
        assert card.lineage["flow_run_id"] == flow_run_id, card
        assert card.lineage["flow_name"] == "opsml-training"
        assert card.lineage["run_url"].endswith(flow_run_id)
    assert pipeline.run_url == model.lineage["run_url"]

    # the run's artifacts, read back through the Prefect API, agree with the cards
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])
            )
        )
    by_uid = {}
    for artifact in artifacts:
        for card in (data, run, model, pipeline):
            if f"| uid | `{card.uid}` |" in str(artifact.data):
                by_uid[card.uid] = artifact
    assert set(by_uid) == {data.uid, run.uid, model.uid, pipeline.uid}
    for card in (data, run, model, pipeline):
        artifact = by_uid[card.uid]
        assert artifact.type == "markdown"
        assert artifact.key == f"opsml-{card.registry_type}-ds-team-{card.name}"
        assert f"| version | `{card.version}` |" in artifact.data
        assert f"| registry | `{card.registry_type}` |" in artifact.data
        assert str(artifact.flow_run_id) == card.lineage["flow_run_id"]

    # one opsml.card.registered event per registration, linked to the run
    uids = [data.uid, run.uid, model.uid, pipeline.uid]
    events = wait_for(
        lambda: (lambda ev: ev if len(ev) >= 4 else None)(registered_events(uids)),
        timeout=30,
        what="4 opsml.card.registered events",
    )
    assert sorted(e.resource.id for e in events) == sorted(f"opsml.card.{u}" for u in uids)
    model_event = next(e for e in events if e.resource.id == f"opsml.card.{model.uid}")
    assert model_event.resource["opsml.registry"] == "model"
    assert model_event.resource["opsml.name"] == name
    assert model_event.resource["opsml.repository"] == "ds-team"
    assert model_event.resource["opsml.version"] == model.version
    assert f"prefect.flow-run.{flow_run_id}" in {r.id for r in model_event.related}


@pytest.mark.parametrize("framework", ["xgboost", "lightgbm"])
def test_training_flow_trains_each_framework_and_the_api_serves_it(
    e2e_registry: E2ERegistry, tmp_path: Path, framework: str
) -> None:
    """Scenario 1 → Scenario 2 for a gradient-boosted model: train, register, package, smoke."""
    import yaml

    from flows import model_packaging as steps
    from flows.training import training
    from opsml import CardRegistry

    name = f"iris-{framework}-{uuid.uuid4().hex[:6]}"
    state = training(name=name, repository="ds-team", framework=framework, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["metrics"]["accuracy"] > 0.8
    model = CardRegistry("model").load_card(uid=result["model"]["uid"])
    assert model.model_info["serializer"] == framework
    assert framework in model.model_info["library_versions"]
    assert model.tags["framework"] == framework
    run = CardRegistry("run").load_card(uid=result["run"]["uid"])
    assert run.params["framework"] == framework

    shutil.copytree(REPO_ROOT / "flows" / "model_api", tmp_path / "model_api")
    spec = yaml.safe_load((REPO_ROOT / "flows" / "model_spec.yaml").read_text())
    spec["model"].update(name=name, repository="ds-team", version=model.version)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    context = steps.assemble_context(
        steps.load_spec(tmp_path / "spec.yaml"),
        tmp_path,
        model.pull(tmp_path / "model"),
        tmp_path / "out",
    )
    smoke = steps.smoke_test(context)
    assert smoke["predictions"] == model.signature["sample_output"] and smoke["refused"] == 2
