"""Signed cards on a registry server (issue 32, docs/design.md §18): the policy and promotion.

A server with ``OPSML_REQUIRE_SIGNATURE=true`` refuses unsigned registrations
with 400 naming the policy and writes nothing; the embedded registry does the
same with the same setting; ``copy_card`` keeps the signature, so a promoted
card verifies in the target with the same key, and the target's policy applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsml import CardRegistry, ModelCard
from opsml.errors import SignatureRequiredError
from opsml_testing.live_server import LiveServer, running_server
from opsml_testing.signing import KeyPair, make_keys, model_folder
from tests._live_server import server_snapshot

POLICY = {"OPSML_REQUIRE_SIGNATURE": "true"}


@pytest.fixture(scope="module")
def signed_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that requires signatures (its own SQLite database and folder)."""
    with running_server(tmp_path_factory.mktemp("signed-only"), env=POLICY) as server:
        yield server


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(tmp_path_factory.mktemp("keys"))


def _card(tmp_path: Path, name: str) -> ModelCard:
    return ModelCard(
        name=name, repository="ds", contact="ds@example.com", model=model_folder(tmp_path)
    )


def test_server_refuses_unsigned_registration_with_400_and_writes_nothing(
    tmp_path: Path, signed_only: LiveServer, signer: KeyPair
) -> None:
    target = CardRegistry("model", tracking_uri=signed_only.url)
    target.register_card(_card(tmp_path, "first"), sign_with=signer.private)
    before = server_snapshot(signed_only)
    with pytest.raises(SignatureRequiredError, match="OPSML_REQUIRE_SIGNATURE=true"):
        target.register_card(_card(tmp_path, "unsigned"))
    body = {"registry": "run", "name": "raw", "repository": "ds", "contact": "me"}
    answer = httpx.post(
        f"{signed_only.url}/api/v1/cards/run", files={"card": (None, json.dumps(body))}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "signature_required"
    assert "requires signatures (OPSML_REQUIRE_SIGNATURE=true)" in answer.json()["error"]["message"]
    assert server_snapshot(signed_only) == before


def test_embedded_registry_applies_the_same_setting(
    tmp_path: Path, signer: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSML_REQUIRE_SIGNATURE", "true")
    uri = f"sqlite:///{(tmp_path / 'embedded.db').as_posix()}"
    registry = CardRegistry("model", tracking_uri=uri, storage_uri=str(tmp_path / "artifacts"))
    registry.register_card(_card(tmp_path, "signed"), sign_with=signer.private)
    with pytest.raises(SignatureRequiredError, match="OPSML_REQUIRE_SIGNATURE=true"):
        registry.register_card(_card(tmp_path, "unsigned"))
    assert [c.name for c in registry.list_cards()] == ["signed"]


def test_copy_card_keeps_the_signature_and_the_target_policy_applies(
    tmp_path: Path, signed_only: LiveServer, signer: KeyPair
) -> None:
    uri = f"sqlite:///{(tmp_path / 'staging.db').as_posix()}"
    source = CardRegistry("model", tracking_uri=uri, storage_uri=str(tmp_path / "artifacts"))
    target = CardRegistry("model", tracking_uri=signed_only.url)
    card = source.register_card(_card(tmp_path, "promoted"), sign_with=signer.private)
    copied = source.copy_card(card, to=target)
    assert (copied.uid, copied.version) == (card.uid, card.version)
    info = target.load_card(uid=card.uid).verify_signature([signer.public])
    assert info.verified and info.signed_by == signer.fingerprint
    pulled = target.load_card(uid=card.uid)
    assert isinstance(pulled, ModelCard)
    assert (pulled.pull(tmp_path / "pulled", verify=[signer.public]) / "model.sig").is_file()
    unsigned = source.register_card(_card(tmp_path, "not-signed"))
    before = server_snapshot(signed_only)
    with pytest.raises(SignatureRequiredError, match="is unsigned and this registry requires"):
        source.copy_card(unsigned, to=target)
    assert server_snapshot(signed_only) == before


def test_a_large_card_is_signed_after_its_upload_and_a_missing_bundle_is_refused(
    tmp_path: Path, signed_only: LiveServer, signer: KeyPair
) -> None:
    from opsml._registration import create_request
    from opsml.backends.http import _transfers
    from opsml.signatures import SIGNED_AT_COMMIT

    target = CardRegistry("model", tracking_uri=signed_only.url)
    big = ModelCard(
        name="large", repository="ds", contact="ds@example.com",
        model=model_folder(tmp_path, size=12 * 1024 * 1024),
    )  # fmt: skip
    backend = target.backend
    first = target.register_card(big, sign_with=signer.private).version  # learns: no presign
    assert backend.digests_on_send(12 * 1024 * 1024)  # so now: hashed while sent, signed after
    sessions: list[str] = []
    later = backend.register_signed_later  # type: ignore[attr-defined]
    backend.register_signed_later = lambda c, *a, **k: (
        sessions.append(c.version) or later(c, *a, **k)
    )  # type: ignore[attr-defined]
    big.uid = big.version = None
    card = target.register_card(big, sign_with=signer.private)
    assert (first, card.version, sessions) == ("1.0.0", "1.1.0", ["1.1.0"])
    info = target.load_card(uid=card.uid).verify_signature([signer.public])
    assert info.verified and len(info.files) == 2
    staging = tmp_path / "staging"
    staging.mkdir()
    request = create_request(backend, "model", big, "minor", staging)
    assert not all(f.sha256 for f in request.files)
    pending = request.model_copy(
        update={"version": "9.0.0", "uid": "f" * 32,
                "metadata": {**request.metadata, "signature": SIGNED_AT_COMMIT}}
    )  # fmt: skip
    before = server_snapshot(signed_only)
    ticket = _transfers.open_session(backend.transport, pending)  # type: ignore[attr-defined]
    with pytest.raises(SignatureRequiredError, match="the commit did not bring"):
        _transfers.commit_session(backend.transport, ticket, pending, staging, None)  # type: ignore[attr-defined]
    assert server_snapshot(signed_only) == before
