"""Promotion (issue 13, docs/design.md §12): copy_card between embedded SQLite and servers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry, RunCard
from opsml.errors import (
    ArtifactIntegrityError,
    PermissionDeniedError,
    VersionConflictError,
)
from opsml_testing.live_server import LiveServer
from tests._live_server import PROD_TOKEN, server_snapshot


def _card(tmp_path: Path, data: bytes, name: str = "promoted") -> RunCard:
    blob = tmp_path / f"{name}-{len(data)}.bin"
    blob.write_bytes(data)
    card = RunCard(name=name, repository="ds", contact="ds@example.com")
    card.log_artifact(blob)
    card.log_metric("accuracy", 0.9)
    return card


def _embedded(tmp_path: Path) -> CardRegistry:
    return CardRegistry(
        "run",
        tracking_uri=f"sqlite:///{(tmp_path / 'src.db').as_posix()}",
        storage_uri=(tmp_path / "src-artifacts").as_posix(),
    )


def test_copy_from_embedded_sqlite_to_a_server(tmp_path: Path, staging_server: LiveServer) -> None:
    source = _embedded(tmp_path)
    target = CardRegistry("run", tracking_uri=staging_server.url)
    card = source.register_card(_card(tmp_path, os.urandom(300_000)))
    source.register_card(_card(tmp_path, os.urandom(10)), version_type="major")  # not copied
    copied = source.copy_card(card, to=target)
    assert (copied.version, copied.uid) == (card.version, card.uid)
    digests = [(f.path, f.size, f.sha256) for f in card._registered()[0].files]
    assert [(f.path, f.size, f.sha256) for f in copied._registered()[0].files] == digests
    provenance = copied._registered()[0].metadata["provenance"]
    assert provenance == {
        "registry": f"sqlite:///{(tmp_path / 'src.db').resolve().as_posix()}",
        "uid": card.uid,
        "version": card.version,
    }
    out = target.load_card(uid=card.uid).download_artifacts(tmp_path / "out")
    pulled = [p.read_bytes() for p in Path(out).rglob("*.bin")]
    assert pulled == [(tmp_path / "promoted-300000.bin").read_bytes()]
    before = server_snapshot(staging_server)
    again = source.copy_card(card, to=target)  # the same content: a no-op
    assert again.uid == copied.uid and server_snapshot(staging_server) == before


def test_same_version_other_content_is_a_conflict(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    first, second = _embedded(tmp_path / "a"), _embedded(tmp_path / "b")
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    target = CardRegistry("run", tracking_uri=staging_server.url)
    one = first.register_card(_card(tmp_path, os.urandom(100), name="clash"))
    other = second.register_card(_card(tmp_path, os.urandom(200), name="clash"))
    assert one.version == other.version
    first.copy_card(one, to=target)
    before = server_snapshot(staging_server)
    with pytest.raises(VersionConflictError, match="other files"):
        second.copy_card(other, to=target)
    assert server_snapshot(staging_server) == before


def test_copy_between_two_servers_needs_the_production_token(
    tmp_path: Path, staging_server: LiveServer, prod_server: LiveServer
) -> None:
    staging = CardRegistry("run", tracking_uri=staging_server.url)
    card = staging.register_card(_card(tmp_path, os.urandom(50_000), name="to-prod"))
    before = server_snapshot(prod_server)
    for token in (None, "wrong-token-0123456789"):
        no_token = CardRegistry("run", tracking_uri=prod_server.url, prod_token=token)
        with pytest.raises(PermissionDeniedError, match="production token"):
            staging.copy_card(card, to=no_token)
        assert server_snapshot(prod_server) == before
    prod = CardRegistry("run", tracking_uri=prod_server.url, prod_token=PROD_TOKEN)
    copied = staging.copy_card(card, to=prod)
    assert (copied.version, copied.uid) == (card.version, card.uid)
    provenance = copied._registered()[0].metadata["provenance"]
    assert provenance["registry"] == staging_server.url and provenance["uid"] == card.uid
    moved = prod.set_alias(copied, "champion")
    assert moved.version == card.version


def test_a_tampered_source_file_leaves_nothing_in_the_target(
    tmp_path: Path, staging_server: LiveServer
) -> None:
    source = _embedded(tmp_path)
    card = source.register_card(_card(tmp_path, os.urandom(4096), name="tampered"))
    stored = next((tmp_path / "src-artifacts").rglob("tampered-4096.bin"))
    stored.write_bytes(b"x" * 4096)
    target = CardRegistry("run", tracking_uri=staging_server.url)
    before = server_snapshot(staging_server)
    with pytest.raises(ArtifactIntegrityError, match="does not match its record"):
        source.copy_card(card, to=target)
    assert server_snapshot(staging_server) == before


def test_cli_copies_the_alias_into_production(
    tmp_path: Path, staging_server: LiveServer, prod_server: LiveServer
) -> None:
    from typer.testing import CliRunner

    from opsml.cli import app

    staging = CardRegistry("run", tracking_uri=staging_server.url)
    card = staging.register_card(_card(tmp_path, os.urandom(2048), name="cli-copy"))
    staging.set_alias(card, "champion")
    args = ["cards", "copy", "--from", staging_server.url, "--to", prod_server.url]
    args += ["--registry", "run", "--name", "cli-copy", "--repository", "ds", "--alias", "champion"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "production token" in refused.output
    done = CliRunner().invoke(app, args, env={"OPSML_TARGET_PROD_TOKEN": PROD_TOKEN})
    assert done.exit_code == 0, done.output
    assert f"v{card.version} (uid {card.uid})" in done.output
    prod = CardRegistry("run", tracking_uri=prod_server.url)
    assert prod.load_card(uid=card.uid).version == card.version


def test_promote_flow_copies_champion_and_sets_it_in_prod(
    tmp_path: Path, staging_server: LiveServer, prod_server: LiveServer, prefect_api: str
) -> None:
    from flows.promote import promote
    from opsml_prefect import OpsmlCredentials

    staging = CardRegistry("model", tracking_uri=staging_server.url)
    card = staging.register_card(_model_card())
    staging.set_alias(card, "champion")
    source = OpsmlCredentials(tracking_uri=staging_server.url)
    target = OpsmlCredentials(tracking_uri=prod_server.url, prod_token=PROD_TOKEN)
    out = promote(name="promo", repository="ds", source=source, target=target)
    assert out == {"version": card.version, "uid": card.uid}
    prod = CardRegistry("model", tracking_uri=prod_server.url)
    assert prod.list_aliases(name="promo", repository="ds") == {"champion": card.version}
    again = promote(name="promo", repository="ds", source=source, target=target)
    assert again == out  # idempotent: the same content is not copied twice


def _model_card(name: str = "promo") -> Any:
    from sklearn.linear_model import LogisticRegression

    from opsml import ModelCard

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    return ModelCard(
        name=name, repository="ds", contact="ds@example.com", model=model, sample_input=x[:2]
    )


def test_promote_script_runs_from_the_shell_with_the_readme_variables(
    staging_server: LiveServer, prod_server: LiveServer, prefect_api: str
) -> None:
    """README: the source and target from OPSML_SOURCE/TARGET_TRACKING_URI, from the shell."""
    import subprocess
    import sys

    staging = CardRegistry("model", tracking_uri=staging_server.url)
    card = staging.register_card(_model_card("shell-promo"))
    staging.set_alias(card, "champion")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    env |= {
        "PREFECT_API_URL": prefect_api,
        "OPSML_SOURCE_TRACKING_URI": staging_server.url,
        "OPSML_TARGET_TRACKING_URI": prod_server.url,
        "OPSML_TARGET_PROD_TOKEN": PROD_TOKEN,
    }
    args = [sys.executable, "flows/promote.py", "--name", "shell-promo", "--repository", "ds"]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"promoted ds/shell-promo v{card.version} as champion" in done.stdout + done.stderr
    prod = CardRegistry("model", tracking_uri=prod_server.url)
    assert prod.list_aliases(name="shell-promo", repository="ds") == {"champion": card.version}
    assert PROD_TOKEN not in done.stdout + done.stderr
