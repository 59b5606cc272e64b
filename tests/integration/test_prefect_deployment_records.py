"""The Prefect side of deployment records (issue 29): the ``record_deployment`` task and its
async twin, ``record_packaging`` for the packaging flow, and the ``opsml.card.deployed`` event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

TARGET = "k8s/models/churn-api"
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Capture what the collection passes to ``prefect.events.emit_event``."""
    import prefect.events

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw))
    return calls


def _cards(count: int) -> list[Any]:
    from opsml import CardRegistry, RunCard

    registry = CardRegistry("run")
    return [
        registry.register_card(RunCard(name="churn", repository="ds-team", contact="ds@x.com"))
        for _ in range(count)
    ]


def test_tasks_record_the_flow_run_and_emit_deployed(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from prefect import flow

    from opsml import CardRegistry
    from opsml_prefect import arecord_deployment, record_deployment

    first, second = _cards(2)
    emitted.clear()

    @flow
    def sync_flow() -> list[Any]:
        packaged = record_deployment(
            first, TARGET, "packaged", registry_type="run", image="churn:1.0.0", image_digest=D1
        )
        deployed = record_deployment(first, TARGET, "deployed", registry_type="run")
        again = record_deployment(first, TARGET, "deployed", registry_type="run")  # a retry
        return [packaged, deployed, again]

    @flow
    async def async_flow() -> Any:
        return await arecord_deployment(
            second.uid, TARGET, "deployed", registry_type="run", image_digest=D2
        )

    packaged, deployed, again = sync_flow()
    later = asyncio.run(async_flow())
    assert again == deployed  # the same run recording again changed nothing
    assert deployed.image_digest == D1 and deployed.flow_run_id == packaged.flow_run_id
    assert deployed.flow_run_url and deployed.flow_run_url.endswith(deployed.flow_run_id or "?")
    assert later.flow_run_id and later.flow_run_id != deployed.flow_run_id
    current = CardRegistry("run").current_deployment(target=TARGET)
    assert current is not None and current.id == later.id and current.version == "1.1.0"
    deployed_events = [c for c in emitted if c["event"] == "opsml.card.deployed"]
    assert [(c["resource"]["opsml.version"], c["resource"]["opsml.state"]) for c in
            deployed_events] == [("1.0.0", "packaged"), ("1.0.0", "deployed"),
                                 ("1.0.0", "retired"), ("1.1.0", "deployed")]  # fmt: skip
    last = deployed_events[-1]
    assert last["resource"] == {
        "prefect.resource.id": f"opsml.card.{second.uid}",
        "prefect.resource.name": "ds-team/churn",
        "opsml.registry": "run",
        "opsml.name": "churn",
        "opsml.repository": "ds-team",
        "opsml.version": "1.1.0",
        "opsml.target": TARGET,
        "opsml.environment": later.environment,
        "opsml.state": "deployed",
    }
    assert last["related"] == [
        {"prefect.resource.id": f"prefect.flow-run.{later.flow_run_id}",
         "prefect.resource.role": "flow-run"}
    ]  # fmt: skip
    assert last["payload"]["image_digest"] == D2 and last["payload"]["id"] == later.id


def _model_card() -> Any:
    from sklearn.linear_model import LogisticRegression

    from opsml import CardRegistry, ModelCard

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    card = ModelCard(
        name="churn", repository="ds-team", contact="ds@x.com", model=model, sample_input=x[:2]
    )
    return CardRegistry("model").register_card(card)


def test_record_packaging_records_packaged_or_failed(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from prefect import flow

    from opsml import CardRegistry
    from opsml_prefect import record_packaging

    card = _model_card()

    @flow
    def packaging() -> list[Any]:
        built = record_packaging(card.uid, TARGET, image="churn:1.0.0", image_digest="1" * 64)
        failed = record_packaging(
            card.uid, TARGET, error=RuntimeError("podman build: exit 125"), step="build"
        )
        lost = record_packaging("f" * 32, TARGET, error=ValueError("x"), step="smoke-run")
        return [built, failed, lost]

    built, failed, lost = packaging()
    assert (built.state, built.image, built.image_digest) == ("packaged", "churn:1.0.0", D1)
    assert failed.state == "failed"
    assert failed.detail == {"step": "build", "reason": "RuntimeError: podman build: exit 125"}
    assert failed.flow_run_id == built.flow_run_id is not None
    assert lost is None  # recording a failure never raises over the packaging's own error
    history = CardRegistry("model").list_deployments(card=card).items
    assert [r.state for r in history] == ["failed", "packaged"]
    assert CardRegistry("model").current_deployment(target=TARGET) is None
    assert [c["resource"]["opsml.state"] for c in emitted if c["event"] == "opsml.card.deployed"
            ] == ["packaged", "failed"]  # fmt: skip
