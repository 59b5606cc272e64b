"""Signed cards where people meet them (issue 32): the CLI, the UI, the pull step, the spec.

- ``opsml models pull --verify KEY`` and ``opsml cards show`` (signed by, verified or not);
- the card page of the UI (the server's and ``opsml ui``'s) shows the signer and the verdict;
- the Prefect pull step's and the packaging spec's ``require_signature:`` refuse an
  unsigned or untrusted model before anything is written or built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsml import CardRegistry, ModelCard, configure
from opsml.cli import app
from opsml.errors import SignatureVerificationError
from opsml_testing.signing import KeyPair, make_keys, model_folder, tamper_file
from tests.conftest import RegistryEnv

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryEnv]:
    """An embedded registry the CLI, the steps and the UI all use through OPSML_* settings."""
    from opsml.config import OpsmlSettings

    for key in [k for k in os.environ if k.startswith("OPSML_")]:
        monkeypatch.delenv(key)
    db = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    storage = tmp_path / "artifacts"
    monkeypatch.setenv("OPSML_TRACKING_URI", db)
    monkeypatch.setenv("OPSML_STORAGE_URI", storage.as_posix())
    configure()
    yield RegistryEnv(
        "sqlite", OpsmlSettings(tracking_uri=db, storage_uri=str(storage)), db, storage
    )
    configure()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[KeyPair, KeyPair]:
    return make_keys(tmp_path / "keys", "signer"), make_keys(tmp_path / "keys", "other")


def _register(tmp_path: Path, name: str, key: KeyPair | None) -> ModelCard:
    card = ModelCard(
        name=name, repository="ds-team", contact="ds@example.com", model=model_folder(tmp_path)
    )
    registered = CardRegistry("model").register_card(card, sign_with=key.private if key else None)
    assert isinstance(registered, ModelCard)
    return registered


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_models_pull_verify_and_cards_show(
    env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, other = keys
    signed = _register(tmp_path, "iris", signer)
    _register(tmp_path, "plain", None)
    out = tmp_path / "pulled"
    pull = ["models", "pull", "--repository", "ds-team", "--quiet"]
    code, stdout, err = _cli(
        *pull, "--name", "iris", "--out", str(out), "--verify", str(signer.public)
    )
    assert code == 0, err
    assert f"signature by {signer.fingerprint} verified" in stdout
    assert (out / "model.sig").is_file() and (out / "card.json").is_file()
    for name, key, message in (
        ("plain", signer, "model card ds-team/plain v1.0.0 is unsigned"),
        ("iris", other, f"signed by an untrusted key {signer.fingerprint}"),
    ):
        refused = tmp_path / f"refused-{name}"
        code, _, err = _cli(
            *pull, "--name", name, "--out", str(refused), "--verify", str(key.public)
        )
        assert code == 1 and message in err and err.count("\n") == 1, err
        assert not refused.exists()
    show = ["cards", "show", "--name", "iris", "--repository", "ds-team"]
    code, stdout, _ = _cli(*show, "--json", "--verify", str(signer.public))
    assert code == 0
    view = json.loads(stdout)["signed"]
    assert view == {
        "signed_by": signer.fingerprint,
        "method": "key",
        "verified": True,
        "detail": "verified with a trusted key",
    }
    code, stdout, _ = _cli(*show)
    assert code == 0 and "signed by" in stdout and "not checked" in stdout
    code, stdout, _ = _cli("cards", "show", "--name", "plain", "--repository", "ds-team", "--json")
    assert json.loads(stdout)["signed"] is None
    tamper_file(env, signed, "model/files/model-src/weights.bin", b"evil")
    code, stdout, _ = _cli(*show, "--json", "--verify", str(signer.public))
    assert json.loads(stdout)["signed"]["verified"] is False
    assert "a file differs" in json.loads(stdout)["signed"]["detail"]


def test_ui_card_page_shows_signed_by_and_the_verdict(
    env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from opsml_server.app import create_app
    from opsml_server.settings import ServerSettings
    from opsml_server.ui.standalone import create_ui_app

    from opsml.backends import build_backend

    signer, _ = keys
    signed = _register(tmp_path, "iris", signer)
    plain = _register(tmp_path, "plain", None)
    with TestClient(create_ui_app(build_backend(env.settings))) as client:
        page = client.get(f"/ui/model/{signed.uid}").text
        assert "Signed by" in page and signer.fingerprint in page and "not checked" in page
        assert "unsigned" in client.get(f"/ui/model/{plain.uid}").text
    settings = ServerSettings(
        database_url=env.db_url,
        storage_uri=env.storage_uri,
        trusted_keys=str(signer.public),
    )
    with TestClient(create_app(settings)) as client:
        assert "<strong>verified</strong>" in client.get(f"/ui/model/{signed.uid}").text
        tamper_file(env, signed, "model/files/model-src/weights.bin", b"evil")
        page = client.get(f"/ui/model/{signed.uid}").text
        assert "NOT verified" in page and "a file differs" in page


def test_pull_step_require_signature_refuses_before_writing(
    env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from opsml_prefect.deployments.steps import pull_model

    signer, other = keys
    _register(tmp_path, "iris", signer)
    _register(tmp_path, "plain", None)
    required = {"public_keys": [str(signer.public)]}
    out = pull_model("iris", "ds-team", directory=str(tmp_path / "ok"), require_signature=required)
    assert (Path(out["model_dir"]) / "model.sig").is_file()
    for name, keys_, match in (
        ("plain", required, "is unsigned"),
        ("iris", {"public_keys": [str(other.public)]}, "signed by an untrusted key"),
    ):
        dest = tmp_path / f"refused-{name}"
        with pytest.raises(SignatureVerificationError, match=match):
            pull_model(name, "ds-team", directory=str(dest), require_signature=keys_)
        assert not dest.exists()
    with pytest.raises(ValueError, match="require_signature needs public_keys"):
        pull_model("iris", "ds-team", directory=str(tmp_path / "x"), require_signature={})


def test_packaging_spec_require_signature(
    env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from flows.model_packaging.signature import require_signed_card, require_signed_folder
    from flows.model_packaging.spec import load_spec, resolve_model

    signer, other = keys
    _register(tmp_path, "iris", signer)
    _register(tmp_path, "plain", None)
    (tmp_path / "keys" / "release.pub").write_bytes(signer.public.read_bytes())
    spec_file = tmp_path / "spec.yaml"
    base = "api: {image: registry.example.com/ds/iris-api}\n"
    spec_file.write_text(
        "model: {name: iris, repository: ds-team}\n" + base
        + "require_signature: {public_keys: [keys/release.pub]}\n"
    )  # fmt: skip
    spec = load_spec(spec_file)
    card = resolve_model(spec)
    assert require_signed_card(spec, card, tmp_path).signed_by == signer.fingerprint
    folder = card.pull(tmp_path / "pulled")
    assert require_signed_folder(spec, folder, tmp_path).signed_by == signer.fingerprint
    (folder / "model" / "files" / "model-src" / "config.json").write_text("{}")
    with pytest.raises(SignatureVerificationError, match="Hash mismatch for 'model/files"):
        require_signed_folder(spec, folder, tmp_path)
    from flows.model_packaging.cli import package  # the CI path: every step after the pull

    with pytest.raises(SignatureVerificationError, match="Hash mismatch for 'model/files"):
        package(spec_file, folder, tmp_path / "out", build=False)
    assert not (tmp_path / "out").exists()  # refused before anything was built
    plain = resolve_model(
        spec.model_copy(update={"model": spec.model.model_copy(update={"name": "plain"})})
    )
    with pytest.raises(SignatureVerificationError, match="ds-team/plain v1.0.0 is unsigned"):
        require_signed_card(spec, plain, tmp_path)
    untrusted = spec.model_copy(
        update={"require_signature": spec.require_signature.model_copy(  # type: ignore[union-attr]
            update={"public_keys": [str(other.public)]})}
    )  # fmt: skip
    with pytest.raises(SignatureVerificationError, match="untrusted key"):
        require_signed_card(untrusted, card, tmp_path)
    spec_file.write_text("model: {name: iris, repository: ds-team}\n" + base
                         + "require_signature: {public_keys: []}\n")  # fmt: skip
    with pytest.raises(ValueError, match="require_signature.public_keys"):
        load_spec(spec_file)


def test_packaging_flow_check_spec_refuses_before_building(
    env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from flows.package_model import check_spec

    signer, _ = keys
    signed = _register(tmp_path, "iris", signer)
    (tmp_path / "release.pub").write_bytes(signer.public.read_bytes())
    spec_file = tmp_path / "model_spec.yaml"
    spec_file.write_text(
        "model: {name: iris, repository: ds-team}\n"
        "api: {image: registry.example.com/ds/iris-api}\n"
        "require_signature: {public_keys: [release.pub]}\n"
    )
    assert check_spec.fn(str(spec_file))["uid"] == signed.uid
    unsigned = _register(tmp_path, "iris", None)  # a newer version, unsigned
    with pytest.raises(SignatureVerificationError, match=f"iris v{unsigned.version} is unsigned"):
        check_spec.fn(str(spec_file))
    assert check_spec.fn(str(spec_file), version=signed.version)["version"] == signed.version
