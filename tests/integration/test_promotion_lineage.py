"""Promotion with lineage (issue 13): linked data and run cards are copied first, same uids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsml import CardRegistry, DataCard, ModelCard, RunCard
from opsml.errors import ArtifactIntegrityError, CardNotFoundError, VersionConflictError
from opsml_testing.live_server import LiveServer
from tests._live_server import PROD_TOKEN, server_snapshot


def _embedded(root: Path, kind: Any) -> CardRegistry:
    return CardRegistry(
        kind,
        tracking_uri=f"sqlite:///{(root / 'src.db').as_posix()}",
        storage_uri=(root / "src-artifacts").as_posix(),
    )


def _model(name: str, data_uid: str | None, run_uid: str | None) -> ModelCard:
    from sklearn.linear_model import LogisticRegression

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    return ModelCard(
        name=name, repository="ds", contact="ds@example.com",
        model=LogisticRegression().fit(x, [0, 1, 0, 1]), sample_input=x[:2],
        datacard_uid=data_uid, runcard_uid=run_uid,
    )  # fmt: skip


def _lineage(regs: dict[str, CardRegistry], name: str, tmp_path: Path) -> dict[str, Any]:
    """A data card, a run that used it (with a file), and a model linking both."""
    data = regs["data"].register_card(
        DataCard(name=name, repository="ds", contact="ds@example.com",
                 data=np.arange(64, dtype=np.float64).reshape(16, 4))
    )  # fmt: skip
    blob = tmp_path / f"{name}-run.bin"
    blob.write_bytes(os.urandom(20_000))
    run = RunCard(name=name, repository="ds", contact="ds@example.com", datacard_uids=[data.uid])
    run.log_artifact(blob)
    run = regs["run"].register_card(run)
    model = regs["model"].register_card(_model(name, data.uid, run.uid))
    return {"data": data, "run": run, "model": model}


def _digests(card: Any) -> list[tuple[str, int, str]]:
    return [(f.path, f.size, f.sha256) for f in card._registered()[0].files]


def _registries(**kwargs: Any) -> dict[str, CardRegistry]:
    return {kind: CardRegistry(kind, **kwargs) for kind in ("data", "run", "model")}  # type: ignore[arg-type]


def test_lineage_from_embedded_sqlite_to_a_server(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    source = {kind: _embedded(tmp_path, kind) for kind in ("data", "run", "model")}
    cards = _lineage(source, "lin-emb", tmp_path)
    target = _registries(tracking_uri=staging_server.url)
    before = server_snapshot(staging_server)
    copied = source["model"].copy_card(cards["model"], to=target["model"], with_lineage=True)
    assert (copied.uid, copied.version) == (cards["model"].uid, cards["model"].version)
    for kind, card in cards.items():  # every card there, same uid, version and digests
        there = target[kind].load_card(uid=card.uid)
        assert there.version == card.version and _digests(there) == _digests(card)
    # the links resolve in the target
    assert target["data"].load_card(uid=copied.datacard_uid).name == "lin-emb"
    run = target["run"].load_card(uid=copied.runcard_uid)
    assert [target["data"].load_card(uid=u).uid for u in run.datacard_uids] == [cards["data"].uid]
    assert server_snapshot(staging_server) != before
    after = server_snapshot(
        staging_server
    )  # again: everything is there already, nothing is written
    source["model"].copy_card(cards["model"], to=target["model"], with_lineage=True)
    assert server_snapshot(staging_server) == after


def test_without_lineage_only_the_model_is_copied(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    source = {kind: _embedded(tmp_path, kind) for kind in ("data", "run", "model")}
    cards = _lineage(source, "lin-none", tmp_path)
    target = _registries(tracking_uri=staging_server.url)
    source["model"].copy_card(cards["model"], to=target["model"])
    assert target["model"].load_card(uid=cards["model"].uid).version == cards["model"].version
    for kind in ("data", "run"):
        with pytest.raises(CardNotFoundError):
            target[kind].load_card(uid=cards[kind].uid)


def test_a_conflicting_linked_card_writes_nothing(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    source = {kind: _embedded(tmp_path / "a", kind) for kind in ("data", "run", "model")}
    cards = _lineage(source, "lin-clash", tmp_path)
    other = _embedded(tmp_path / "b", "data")  # same name and version, other rows
    clash = other.register_card(
        DataCard(name="lin-clash", repository="ds", contact="ds@example.com",
                 data=np.zeros((3, 4)))
    )  # fmt: skip
    assert clash.version == cards["data"].version
    target = _registries(tracking_uri=staging_server.url)
    other.copy_card(clash, to=target["data"])
    before = server_snapshot(staging_server)
    with pytest.raises(VersionConflictError, match="other files"):
        source["model"].copy_card(cards["model"], to=target["model"], with_lineage=True)
    assert server_snapshot(staging_server) == before  # neither the run nor the model


def test_a_linked_card_with_another_uid_is_a_conflict(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    source = {kind: _embedded(tmp_path, kind) for kind in ("data", "run", "model")}
    cards = _lineage(source, "lin-uid", tmp_path)
    target = _registries(tracking_uri=staging_server.url)
    # the same data, registered in the target on its own: same files, another uid
    public = cards["data"]._registered()[0]
    src_dir = tmp_path / "same-data"
    cards["data"].download_artifacts(src_dir)
    from opsml.schemas import CardCreate

    request = CardCreate(
        registry="data", name=public.name, repository="ds", contact="ds@example.com",
        version=public.version, files=public.files, metadata=public.metadata,
    )  # fmt: skip
    target["data"].backend.register_card(request, src_dir)
    before = server_snapshot(staging_server)
    with pytest.raises(VersionConflictError, match="would not resolve"):
        source["model"].copy_card(cards["model"], to=target["model"], with_lineage=True)
    assert server_snapshot(staging_server) == before


def test_a_failed_linked_copy_leaves_the_model_out(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    source = {kind: _embedded(tmp_path, kind) for kind in ("data", "run", "model")}
    cards = _lineage(source, "lin-fail", tmp_path)
    stored = next((tmp_path / "src-artifacts").rglob("lin-fail-run.bin"))
    stored.write_bytes(b"x" * stored.stat().st_size)  # the run's file no longer matches
    target = _registries(tracking_uri=staging_server.url)
    with pytest.raises(ArtifactIntegrityError, match="does not match its record"):
        source["model"].copy_card(cards["model"], to=target["model"], with_lineage=True)
    with pytest.raises(CardNotFoundError):
        target["model"].load_card(uid=cards["model"].uid)
    with pytest.raises(CardNotFoundError):
        target["run"].load_card(uid=cards["run"].uid)
    # the data card went first and is a complete copy: a retry skips it
    assert _digests(target["data"].load_card(uid=cards["data"].uid)) == _digests(cards["data"])


def test_a_dangling_link_writes_nothing(tmp_path: Path, staging_server: LiveServer) -> None:
    source = _embedded(tmp_path, "model")
    card = source.register_card(_model("lin-dangling", "f" * 32, None))
    target = CardRegistry("model", tracking_uri=staging_server.url)
    before = server_snapshot(staging_server)
    with pytest.raises(CardNotFoundError, match="f{32}.*datacard_uid.*does not have"):
        source.copy_card(card, to=target, with_lineage=True)
    assert server_snapshot(staging_server) == before


def test_lineage_between_two_servers_and_the_cli(
    tmp_path: Path, staging_server: LiveServer, prod_server: LiveServer
) -> None:
    from typer.testing import CliRunner

    from opsml.cli import app

    staging = _registries(tracking_uri=staging_server.url)
    cards = _lineage(staging, "lin-cli", tmp_path)
    staging["model"].set_alias(cards["model"], "champion")
    args = ["cards", "copy", "--from", staging_server.url, "--to", prod_server.url]
    args += ["--name", "lin-cli", "--repository", "ds", "--alias", "champion", "--with-lineage"]
    before = server_snapshot(prod_server)
    refused = CliRunner().invoke(app, args)  # no production token: nothing at all
    assert refused.exit_code == 1 and "production token" in refused.output
    assert server_snapshot(prod_server) == before
    done = CliRunner().invoke(app, args, env={"OPSML_TARGET_PROD_TOKEN": PROD_TOKEN})
    assert done.exit_code == 0, done.output
    assert f"with data card ds/lin-cli v{cards['data'].version} (uid {cards['data'].uid})" in (
        done.output
    )
    assert f"with run card ds/lin-cli v{cards['run'].version}" in done.output
    prod = _registries(tracking_uri=prod_server.url)
    for kind, card in cards.items():
        assert _digests(prod[kind].load_card(uid=card.uid)) == _digests(card)


def test_promote_flow_with_lineage(
    tmp_path: Path, staging_server: LiveServer, prod_server: LiveServer, prefect_api: str
) -> None:
    from flows.promote import promote
    from opsml_prefect import OpsmlCredentials

    staging = _registries(tracking_uri=staging_server.url)
    cards = _lineage(staging, "lin-flow", tmp_path)
    staging["model"].set_alias(cards["model"], "champion")
    source = OpsmlCredentials(tracking_uri=staging_server.url)
    target = OpsmlCredentials(tracking_uri=prod_server.url, prod_token=PROD_TOKEN)
    out = promote(name="lin-flow", repository="ds", source=source, target=target, with_lineage=True)
    assert out == {"version": cards["model"].version, "uid": cards["model"].uid}
    prod = _registries(tracking_uri=prod_server.url)
    for kind, card in cards.items():
        assert _digests(prod[kind].load_card(uid=card.uid)) == _digests(card)
    assert prod["model"].list_aliases(name="lin-flow") == {"champion": cards["model"].version}
