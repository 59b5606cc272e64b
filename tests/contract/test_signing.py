"""Signed cards (issue 32, docs/design.md §18) through every backend mode.

The threat: someone who can write to the store and the database replaces a
file and its recorded digest together. Digests alone cannot see it; the
signature can, before anything is written.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from opsml import ModelCard
from opsml.errors import InvalidInputError, SignatureRequiredError, SignatureVerificationError
from opsml.signatures import MAX_SIGNATURE_BYTES
from opsml_testing.signing import KeyPair, make_keys, model_folder, rewrite_row, tamper_file
from tests.conftest import RegistryEnv

WEIGHTS = "model/files/model-src/weights.bin"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyPair, KeyPair]:
    root = tmp_path_factory.mktemp("keys")
    return make_keys(root, "signer"), make_keys(root, "other")


def _card(tmp_path: Path, name: str = "signed") -> ModelCard:
    return ModelCard(
        name=name, repository="ds-team", contact="ds@example.com", model=model_folder(tmp_path)
    )


def _signed(env: RegistryEnv, tmp_path: Path, key: KeyPair, **kw: object) -> ModelCard:
    card = env.registry("model").register_card(_card(tmp_path), sign_with=key.private, **kw)
    assert isinstance(card, ModelCard)
    return card


def _refused(card: ModelCard, trusted: list[Path], match: str, tmp_path: Path) -> None:
    """verify_signature and pull(verify=) both refuse, and the pull writes nothing."""
    with pytest.raises(SignatureVerificationError, match=match) as caught:
        card.verify_signature(trusted)
    assert "\n" not in caught.value.message
    assert f"model card ds-team/{card.name} v{card.version}" in caught.value.message
    dest = tmp_path / f"refused-{uuid.uuid4().hex[:6]}"
    with pytest.raises(SignatureVerificationError, match=match):
        card.pull(dest, verify=trusted)
    assert not dest.exists()


def test_signed_card_verifies_pulls_and_passes_model_signing_cli(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, other = keys
    registry = registry_env.registry("model")
    card = _signed(registry_env, tmp_path, signer)
    assert card.signature_info is not None
    assert card.signature_info.signed_by == signer.fingerprint
    loaded = registry.load_card(name="signed", repository="ds-team")
    info = loaded.verify_signature([other.public, signer.public])  # any trusted key may match
    assert info.verified and info.method == "key"
    assert info.subject == f"opsml:model/ds-team/signed@1.0.0#{card.uid}"
    assert sorted(info.files) == sorted(loaded.files)
    assert isinstance(loaded, ModelCard)
    dest = loaded.pull(tmp_path / "pulled", verify=[signer.public])
    written = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert written == sorted([*loaded.files, "card.json", "model.sig"])
    cli = Path(sys.executable).with_name("model_signing")  # model-signing's own verifier
    command = [str(cli), "verify", "key", str(dest), "--signature", str(dest / "model.sig")]
    result = subprocess.run([*command, "--public_key", str(signer.public)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert b"Verification succeeded" in result.stdout
    (dest / WEIGHTS).write_bytes(b"changed after the pull")
    result = subprocess.run([*command, "--public_key", str(signer.public)], capture_output=True)
    assert result.returncode == 1 and b"Hash mismatch for 'model/files" in result.stderr
    bumped = _signed(registry_env, tmp_path, signer, version_type="patch")
    assert bumped.version == "1.0.1"
    again = registry.load_card(uid=bumped.uid).verify_signature([signer.public])
    assert again.subject == f"opsml:model/ds-team/signed@1.0.1#{bumped.uid}"


def test_unsigned_and_wrong_key_are_refused(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, other = keys
    registry = registry_env.registry("model")
    plain = registry.register_card(_card(tmp_path, name="plain"))
    assert plain.signature_info is None
    loaded = registry.load_card(uid=plain.uid)
    assert isinstance(loaded, ModelCard)
    _refused(loaded, [signer.public], "v1.0.0 is unsigned", tmp_path)
    signed = registry.load_card(uid=_signed(registry_env, tmp_path, signer).uid)
    assert isinstance(signed, ModelCard)
    _refused(signed, [other.public], f"signed by an untrusted key {signer.fingerprint}", tmp_path)


def test_a_file_changed_with_its_digest_added_or_missing_is_refused(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, _ = keys
    registry = registry_env.registry("model")
    card = _signed(registry_env, tmp_path, signer)
    files = [f.model_dump() for f in card._registered()[0].files]
    tamper_file(registry_env, card, WEIGHTS, b"replaced weights")
    tampered = registry.load_card(uid=card.uid)
    assert isinstance(tampered, ModelCard)
    # the digests agree with the replaced bytes: only the signature sees it
    tampered.download_artifacts(tmp_path / "unverified")
    _refused(tampered, [signer.public], f"a file differs: {WEIGHTS}", tmp_path)
    extra = {"path": "model/extra.bin", "size": 1, "sha256": "0" * 64}
    rewrite_row(registry_env.db_url, card.uid or "", files=[*files, extra])
    added = registry.load_card(uid=card.uid)
    assert isinstance(added, ModelCard)
    _refused(added, [signer.public], "a file is not signed: model/extra.bin", tmp_path)
    rewrite_row(registry_env.db_url, card.uid or "", files=files[:1])
    missing = registry.load_card(uid=card.uid)
    assert isinstance(missing, ModelCard)
    _refused(missing, [signer.public], f"a file is missing: {WEIGHTS}", tmp_path)


def test_a_signature_of_another_version_is_refused(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, _ = keys
    registry = registry_env.registry("model")
    first = _signed(registry_env, tmp_path, signer)
    second = _signed(registry_env, tmp_path, signer, version_type="minor")
    borrowed = {**second._registered()[0].metadata, "signature": first.metadata["signature"]}
    rewrite_row(registry_env.db_url, second.uid or "", metadata=borrowed)
    relabelled = registry.load_card(uid=second.uid)
    assert isinstance(relabelled, ModelCard)
    _refused(
        relabelled, [signer.public], "made for opsml card 'model/ds-team/signed@1.0.0#", tmp_path
    )


def test_registration_whose_signature_is_not_its_own_is_refused(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from opsml._model_signing import sign_files
    from opsml._registration import create_request
    from opsml.signatures import card_identity, signature_entry

    signer, _ = keys
    registry = registry_env.registry("model")
    staging = tmp_path / "staging"
    staging.mkdir()
    request = create_request(None, "model", _card(tmp_path), "minor", staging)
    uid = uuid.uuid4().hex
    registry.register_card(_card(tmp_path, name="present"))
    before = registry_env.snapshot()
    for version, files, match in (
        ("9.9.9", request.files, "made for opsml card 'model/ds-team/signed@9.9.9"),
        ("1.0.0", request.files[:1], "a file is not signed"),
    ):
        bundle = sign_files(
            signer.private, card_identity("model", "ds-team", "signed", version, uid), files
        )
        metadata = {**request.metadata, "signature": signature_entry(bundle)}
        forged = request.model_copy(update={"version": "1.0.0", "uid": uid, "metadata": metadata})
        with pytest.raises(SignatureRequiredError, match=match):
            registry.backend.register_card(forged, staging)
    assert registry_env.snapshot() == before


def test_bad_keys_and_bundles_are_clear_errors_that_change_nothing(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from opsml.signature_status import signature_status

    signer, _ = keys
    registry = registry_env.registry("model")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    rsa = make_keys(tmp_path / "rsa", "rsa", curve="rsa")
    registry.register_card(_card(tmp_path, name="present"))
    before = registry_env.snapshot()
    for key, match in (
        (tmp_path / "missing.pem", "missing.pem does not exist"),
        (tmp_path, "is not a file"),
        (garbage, "is not a PEM private key"),
        (signer.public, "is a public key: sign with the private key"),
        (rsa.private, r"is not an elliptic-curve key \(RSA\)"),
    ):
        with pytest.raises(InvalidInputError, match=match):
            registry.register_card(_card(tmp_path), sign_with=key)
    assert registry_env.snapshot() == before
    card = _signed(registry_env, tmp_path, signer)
    entry = card.metadata["signature"]
    for bundle, match in (
        ({**entry["bundle"], "dsseEnvelope": {"payload": "%%%"}}, "corrupted signature bundle"),
        ({**entry["bundle"], "pad": "x" * MAX_SIGNATURE_BYTES}, "over the 4194304-byte bound"),
    ):
        metadata = {**card._registered()[0].metadata, "signature": {**entry, "bundle": bundle}}
        rewrite_row(registry_env.db_url, card.uid or "", metadata=metadata)
        broken = registry.load_card(uid=card.uid)
        assert isinstance(broken, ModelCard)
        _refused(broken, [signer.public], match, tmp_path)
        status = signature_status(broken._registered()[0], [signer.public])
        assert status is not None and status["verified"] is False
    with pytest.raises(InvalidInputError, match="signature is fixed at registration"):
        from opsml.schemas import CardUpdate

        registry.backend.update_card(
            "model", card.uid or "", CardUpdate(metadata={"signature": {}})
        )


def test_require_signature_refuses_unsigned_registrations_in_sql_modes(
    sql_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    from opsml import CardRegistry

    signer, _ = keys
    settings = sql_env.settings.model_copy(update={"require_signature": True})
    registry = CardRegistry("model", settings=settings)
    registry.register_card(_card(tmp_path), sign_with=signer.private)
    before = sql_env.snapshot()
    with pytest.raises(SignatureRequiredError, match="OPSML_REQUIRE_SIGNATURE=true") as caught:
        registry.register_card(_card(tmp_path, name="unsigned"))
    assert caught.value.status_code == 400
    assert "model card ds-team/unsigned is unsigned" in caught.value.message
    assert sql_env.snapshot() == before
    signed = registry.register_card(_card(tmp_path, name="unsigned"), sign_with=signer.private)
    assert registry.load_card(uid=signed.uid).verify_signature([signer.public]).verified


def test_a_version_taken_while_signing_is_signed_again_and_retried(
    registry_env: RegistryEnv, tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    signer, _ = keys
    registry = registry_env.registry("model")
    _signed(registry_env, tmp_path, signer)
    backend = registry.backend
    answers = iter(["1.0.0"])  # what a racing registration already took
    real = backend.next_version
    backend.next_version = lambda *a: next(answers, None) or real(*a)  # type: ignore[method-assign]
    card = _signed(registry_env, tmp_path, signer)
    assert card.version == "1.1.0"
    info = registry.load_card(uid=card.uid).verify_signature([signer.public])
    assert info.subject == f"opsml:model/ds-team/signed@1.1.0#{card.uid}"
