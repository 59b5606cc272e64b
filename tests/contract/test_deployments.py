"""Deployment records on every mode (docs/design.md §17): record, list, current, retire,
rollback by alias move, stale recorders, deletes, bad input, concurrent recorders."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsml.auth.models import AuditQuery
from opsml.backends.sql import SqlBackend
from opsml.errors import (
    CardNotFoundError,
    DeploymentInUseError,
    DeploymentStateError,
    InvalidInputError,
)
from opsml.schemas_deployments import DeploymentQuery
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card, worker_settings
from tests.contract._workers import record_deployed_many

TARGET = "k8s/ml-prod/train-api"
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
PROCESSES = 6
RECORDS_PER_PROCESS = 20


def _audit(env: RegistryEnv, tmp_path: Path) -> list[dict[str, Any]]:
    """The ``deployment`` audit entries, oldest first, read from the registry's database."""
    sql = SqlBackend(env.db_url, (tmp_path / "audit-store").as_posix())
    try:
        entries = sql.identity().list_audit(AuditQuery(action="deployment", limit=1000)).items
    finally:
        sql.close()
    return [e.model_dump() for e in reversed(entries)]


def _versions(env: RegistryEnv, count: int) -> list[Any]:
    reg = env.registry("run")
    return [reg.register_card(run_card(), version_type="minor") for _ in range(count)]


def _history(reg: Any, **filters: Any) -> list[tuple[str, str, str | None]]:
    return [(r.version, r.state, r.image_digest) for r in reg.list_deployments(**filters).items]


def test_deployed_moves_current_and_retires_the_previous(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    assert reg.current_deployment(target=TARGET) is None
    packaged = reg.record_deployment(
        first, target=TARGET, state="packaged", image="train:1.0.0", image_digest=D1
    )
    assert (packaged.state, packaged.version, packaged.uid) == ("packaged", "1.0.0", first.uid)
    assert reg.current_deployment(target=TARGET) is None  # packaged is not deployed
    deployed = reg.record_deployment(first, target=TARGET, state="deployed", flow_run_id="r1")
    assert (deployed.image, deployed.image_digest) == ("train:1.0.0", D1)  # from its packaging
    assert deployed.recorded_at.tzinfo is not None
    assert reg.current_deployment(target=TARGET) == deployed
    env_name = deployed.environment
    assert reg.current_deployment(target=TARGET, environment=env_name) == deployed
    assert reg.current_deployment(target=TARGET, environment="elsewhere") is None
    now = reg.record_deployment(
        second, target=TARGET, state="deployed", image_digest=D2, flow_run_id="r2",
        flow_run_url="http://prefect/runs/r2", detail={"replicas": 2},
    )  # fmt: skip
    current = reg.current_deployment(target=TARGET)
    assert current is not None and current.id == now.id and current.version == "1.1.0"
    assert current.detail == {"replicas": 2} and current.flow_run_url == "http://prefect/runs/r2"
    assert _history(reg) == [
        ("1.1.0", "deployed", D2),
        ("1.0.0", "retired", D1),
        ("1.0.0", "deployed", D1),
        ("1.0.0", "packaged", D1),
    ]
    retired = reg.list_deployments(state="retired").items[0]
    assert retired.detail["retires"] == deployed.id and retired.flow_run_id == "r1"
    assert _history(reg, card=first, state="deployed") == [("1.0.0", "deployed", D1)]
    assert _history(reg, target="other") == []
    page = reg.list_deployments(limit=3)
    assert len(page.items) == 3 and page.next_cursor is not None
    rest = reg.list_deployments(limit=3, cursor=page.next_cursor)
    assert [r.state for r in rest.items] == ["packaged"] and rest.next_cursor is None
    audited = _audit(registry_env, tmp_path)
    assert [(e["version"], e["detail"]["state"]) for e in audited] == [
        ("1.0.0", "packaged"),
        ("1.0.0", "deployed"),
        ("1.0.0", "retired"),
        ("1.1.0", "deployed"),
    ]
    assert {e["detail"]["target"] for e in audited} == {TARGET}


def test_rollback_is_an_alias_move(registry_env: RegistryEnv) -> None:
    """Moving ``champion`` back, then deploying ``champion``, makes the older version
    current again with the image built for it."""
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)

    def deploy_champion(run: str) -> Any:
        champion = reg.load_card(name="train", repository="ds-team", alias="champion")
        return reg.record_deployment(champion, target=TARGET, state="deployed", flow_run_id=run)

    reg.set_alias(first, "champion")
    reg.record_deployment(first, target=TARGET, state="packaged", image="t:1", image_digest=D1)
    deploy_champion("run-1")
    reg.set_alias(second, "champion")
    reg.record_deployment(second, target=TARGET, state="packaged", image="t:2", image_digest=D2)
    assert deploy_champion("run-2").version == "1.1.0"
    reg.set_alias(first, "champion")  # the rollback
    back = deploy_champion("run-3")
    current = reg.current_deployment(target=TARGET)
    assert current is not None and current.id == back.id
    assert (current.version, current.image, current.image_digest) == ("1.0.0", "t:1", D1)
    assert [(v, s) for v, s, _ in _history(reg)][:3] == [
        ("1.0.0", "deployed"),
        ("1.1.0", "retired"),
        ("1.1.0", "deployed"),
    ]


def test_current_filter_lists_one_record_per_serving_target(registry_env: RegistryEnv) -> None:
    """``current=True`` answers what serves each target now (the UI's pages read it)."""
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    assert reg.list_deployments(current=True).items == []
    reg.record_deployment(first, target="a", state="packaged", image_digest=D1)
    reg.record_deployment(first, target="a", state="deployed", flow_run_id="r1")
    reg.record_deployment(first, target="b", state="deployed", image_digest=D1)
    reg.record_deployment(second, target="a", state="deployed", image_digest=D2)
    reg.record_deployment(first, target="c", state="deployed", environment="staging")
    reg.record_deployment(first, target="c", state="retired", environment="staging")
    now = reg.list_deployments(current=True).items
    assert [(r.target, r.version, r.state) for r in now] == [
        ("a", "1.1.0", "deployed"),
        ("b", "1.0.0", "deployed"),
    ]  # newest first; retired "a" (1.0.0) and "c" are not current
    assert [r.target for r in reg.list_deployments(current=True, target="a").items] == ["a"]
    mine = reg.list_deployments(card=first, current=True).items
    assert [(r.target, r.image_digest) for r in mine] == [("b", D1)]
    assert reg.list_deployments(current=True, environment="staging").items == []
    page = reg.list_deployments(current=True, limit=1)
    assert len(page.items) == 1 and page.next_cursor is not None
    rest = reg.list_deployments(current=True, limit=1, cursor=page.next_cursor)
    assert [r.target for r in rest.items] == ["b"] and rest.next_cursor is None
    backend = reg.backend  # the list page asks for the uids it shows
    both = backend.list_deployments(DeploymentQuery(uids=[first.uid, second.uid], current=True))
    assert [(r.target, r.version) for r in both.items] == [("a", "1.1.0"), ("b", "1.0.0")]
    only = backend.list_deployments(DeploymentQuery(uids=[second.uid])).items
    assert [(r.uid, r.state) for r in only] == [(second.uid, "deployed")]
    assert backend.list_deployments(DeploymentQuery(uids=[])).items == []


def test_records_of_one_card_by_uid_whatever_came_after(registry_env: RegistryEnv) -> None:
    """``card=`` takes a uid: a card's records page by page, however many others are newer."""
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.record_deployment(first, target=TARGET, state="packaged", image="t:1", image_digest=D1)
    reg.record_deployment(first, target="k8s/b", state="packaged", image="t:1", image_digest=D1)
    for _ in range(12):
        reg.record_deployment(second, target=TARGET, state="packaged", image_digest=D2)
    mine = reg.list_deployments(card=first.uid, state="packaged", limit=1)
    assert [(r.uid, r.target) for r in mine.items] == [(first.uid, "k8s/b")]
    rest = reg.list_deployments(card=first.uid, state="packaged", cursor=mine.next_cursor)
    assert [(r.uid, r.target) for r in rest.items] == [(first.uid, TARGET)]
    assert rest.next_cursor is None
    both = [*mine.items, *rest.items]
    assert reg.list_deployments(card=first).items == both
    assert reg.list_deployments(card=first.uid, repository="ds-team", limit=2).items == both
    assert reg.list_deployments(card="f" * 32).items == []
    assert len(reg.list_deployments(card=second.uid, limit=1000).items) == 12
    with pytest.raises(InvalidInputError, match="not a card uid"):
        reg.list_deployments(card="F" * 32)
    server = registry_env.extra.get("server")
    if server is not None:  # the server refuses it too: 400 naming the field
        answer = httpx.get(f"{server.url}/api/v1/deployments", params={"uid": "F" * 32}, timeout=30)
        assert answer.status_code == 400, answer.text
        assert "uid" in answer.json()["error"]["message"]


def test_the_same_deployment_recorded_again_changes_nothing(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    once = reg.record_deployment(card, target=TARGET, state="deployed", image_digest=D1,
                                 flow_run_id="r1")  # fmt: skip
    again = reg.record_deployment(card, target=TARGET, state="deployed", image_digest=D1,
                                  flow_run_id="r1")  # fmt: skip
    assert again == once
    assert len(reg.list_deployments().items) == 1
    rebuilt = reg.record_deployment(card, target=TARGET, state="deployed", image_digest=D2,
                                    flow_run_id="r2")  # fmt: skip
    assert rebuilt.id != once.id
    assert _history(reg) == [("1.0.0", "deployed", D2), ("1.0.0", "retired", D1),
                             ("1.0.0", "deployed", D1)]  # fmt: skip


def test_illegal_state_changes_are_refused(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.record_deployment(first, target=TARGET, state="deployed", image_digest=D1, flow_run_id="a")
    reg.record_deployment(second, target=TARGET, state="deployed", image_digest=D2, flow_run_id="b")
    before = (registry_env.snapshot(), reg.list_deployments().items)
    with pytest.raises(DeploymentStateError, match=r"retired -> deployed .*flow run a"):
        reg.record_deployment(first, target=TARGET, state="deployed", flow_run_id="a")  # stale
    with pytest.raises(DeploymentStateError, match=r"deployed -> packaged"):
        reg.record_deployment(second, target=TARGET, state="packaged", flow_run_id="b")
    with pytest.raises(DeploymentStateError, match=r"not the current deployment .*v1\.1\.0"):
        reg.record_deployment(first, target=TARGET, state="retired")
    with pytest.raises(DeploymentStateError, match="current: nothing"):
        reg.record_deployment(first, target="k8s/other", state="retired")
    assert (registry_env.snapshot(), reg.list_deployments().items) == before
    retired = reg.record_deployment(second, target=TARGET, state="retired", flow_run_id="c")
    assert (retired.state, retired.flow_run_id, retired.detail) == (
        "retired", "b", {"retires": before[1][0].id, "retired_by": "c"},
    )  # fmt: skip
    assert reg.current_deployment(target=TARGET) is None
    failed = reg.record_deployment(first, target=TARGET, state="failed", flow_run_id="d",
                                   detail={"step": "build", "reason": "no base image"})  # fmt: skip
    assert failed.detail["step"] == "build" and reg.current_deployment(target=TARGET) is None


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("target", "", "target must not be empty"),
        ("target", "   ", "target must not be empty or whitespace"),
        ("target", "a" * 256, "target is 256 characters long: at most 255"),
        ("target", "k8s/prod api", "target .* must not contain whitespace"),
        ("state", "running", "state"),
        ("image_digest", "sha256:abc", "image_digest"),
        ("image_digest", "md5:" + "a" * 64, "image_digest"),
        ("environment", " ", "environment must not be empty"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    registry_env: RegistryEnv, field: str, value: str, match: str
) -> None:
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    before = registry_env.snapshot()
    fields: dict[str, Any] = {"target": TARGET, "state": "deployed", field: value}
    with pytest.raises(InvalidInputError, match=match):
        reg.record_deployment(card, **fields)
    server = registry_env.extra.get("server")
    if server is not None:  # the server refuses it too: 400 naming the field
        body = {"registry": "run", "uid": card.uid, "target": TARGET, "state": "deployed",
                field: value}  # fmt: skip
        answer = httpx.post(f"{server.url}/api/v1/deployments", json=body, timeout=30)
        assert answer.status_code == 400, answer.text
        assert field in answer.json()["error"]["message"]
    assert registry_env.snapshot() == before
    assert reg.list_deployments().items == []


def test_unknown_or_deleted_cards_are_not_found(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.delete_card(second)
    for uid in (second.uid, "f" * 32):
        with pytest.raises(CardNotFoundError, match=uid):
            reg.record_deployment(uid, target=TARGET, state="deployed")
    with pytest.raises(InvalidInputError, match="not a card uid"):
        reg.record_deployment("nope", target=TARGET, state="deployed")
    assert reg.list_deployments().items == []
    model_registry = registry_env.registry("model")  # a run card is not a model card
    with pytest.raises(CardNotFoundError):
        model_registry.record_deployment(first.uid, target=TARGET, state="deployed")


def test_the_current_deployment_cannot_be_deleted(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.record_deployment(first, target=TARGET, state="deployed", image_digest=D1)
    reg.record_deployment(first, target="k8s/ml-staging/train-api", state="deployed")
    before = registry_env.snapshot()
    with pytest.raises(DeploymentInUseError, match=r"k8s/ml-prod/train-api") as refused:
        reg.delete_card(first)
    assert "k8s/ml-staging/train-api" in str(refused.value)
    assert registry_env.snapshot() == before
    reg.record_deployment(second, target=TARGET, state="deployed", image_digest=D2)
    reg.record_deployment(first, target="k8s/ml-staging/train-api", state="retired")
    reg.delete_card(first)  # its records stay: append-only
    assert [r.version for r in reg.list_deployments(state="retired").items] == ["1.0.0"] * 2


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_concurrent_recorders_leave_exactly_one_current(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    if registry_env.storage_kind != "folder":
        pytest.skip("deployment records do not touch the store: run on folder storage only")
    cards = _versions(registry_env, PROCESSES)
    settings = worker_settings(registry_env)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        futures = [
            pool.submit(
                record_deployed_many, settings, card.uid, TARGET, RECORDS_PER_PROCESS, f"p{i}"
            )
            for i, card in enumerate(cards)
        ]
        ids = sorted(i for f in futures for i in f.result())
    total = PROCESSES * RECORDS_PER_PROCESS
    assert len(set(ids)) == total
    reg = registry_env.registry("run")
    records = reg.list_deployments(limit=1000).items
    deployed = [r for r in records if r.state == "deployed"]
    retired = [r for r in records if r.state == "retired"]
    assert len(deployed) == total and len(retired) == total - 1
    current = reg.current_deployment(target=TARGET)
    assert current is not None and current.id == max(ids) == deployed[0].id
    # every deployment but the current one was retired exactly once, by the next one
    assert sorted(r.detail["retires"] for r in retired) == sorted(set(ids) - {current.id})
    for record in retired:
        assert record.id > record.detail["retires"]
    assert len(_audit(registry_env, tmp_path)) == 2 * total - 1


@pytest.mark.timeout(300)
def test_threads_recording_on_one_target_leave_exactly_one_current(
    registry_env: RegistryEnv,
) -> None:
    if registry_env.storage_kind != "folder":
        pytest.skip("deployment records do not touch the store: run on folder storage only")
    cards = _versions(registry_env, 4)
    reg = registry_env.registry("run")
    barrier = threading.Barrier(len(cards))

    def record(card: Any) -> list[int]:
        barrier.wait()
        return [
            reg.record_deployment(card, target=TARGET, state="deployed", flow_run_id=f"t{i}").id
            for i in range(10)
        ]

    with ThreadPoolExecutor(len(cards)) as pool:
        ids = [i for found in pool.map(record, cards) for i in found]
    records = reg.list_deployments(limit=1000).items
    retired = [r.detail["retires"] for r in records if r.state == "retired"]
    assert sorted(retired) == sorted(set(ids) - {max(ids)})  # each retired once
    current = reg.current_deployment(target=TARGET)
    assert current is not None and current.id == max(ids)
