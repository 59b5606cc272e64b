"""Signed cards (docs/design.md §18): what a card's signature says, read without cryptography.

A card's signature is an OpenSSF ``model-signing`` bundle (a Sigstore bundle
whose DSSE envelope holds an in-toto statement). Its statement lists every
file of the card with its SHA-256 (``predicate.resources``: our manifest) and
names the card in its subject: ``opsml:{registry}/{repository}/{name}@{version}#{uid}``.
The bundle is kept in the card's metadata (``metadata["signature"]["bundle"]``),
copied with the card by ``copy_card``, and written as ``model.sig`` beside the
files by a pull, where ``model_signing verify key DIR --signature DIR/model.sig
--public_key KEY.pub`` checks the folder with no opsml code involved.

This module parses and compares (standard library only: a registry server
checks a registration's signature with it, and ``import opsml`` stays cheap);
:mod:`opsml._model_signing` signs and verifies with the ``model-signing``
package (the ``signing`` extra).

Example:
    >>> card_identity("model", "ds-team", "churn", "1.2.0", "0" * 32)
    'opsml:model/ds-team/churn@1.2.0#00000000000000000000000000000000'

"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsml.errors import SignatureRequiredError, SignatureVerificationError
from opsml.schemas import ArtifactFile, CardCreate

SIGNATURE_FILE = "model.sig"
"""Where a pull writes the bundle, beside the card's files (``model-signing``'s default name)."""
PULLED_EXTRAS = ("card.json", SIGNATURE_FILE)
"""Files a pull adds that the signature does not cover (listed in its ``ignore_paths``)."""
MAX_SIGNATURE_BYTES = 4 * 1024 * 1024
"""The largest bundle accepted (about 20,000 files' worth); a bigger one is refused."""
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
SIGNATURE_FORMAT = "model-signing/v1"
SIGNED_AT_COMMIT: dict[str, Any] = {"format": SIGNATURE_FORMAT, "bundle": None, "at_commit": True}
"""The signature entry of an upload whose bundle comes with its commit (hashed while sent)."""


def card_identity(registry: str, repository: str, name: str, version: str, uid: str) -> str:
    """The in-toto subject name that binds a signature to one card version.

    Example:
        >>> card_identity("model", "r", "n", "1.0.0", "a" * 32)[:26]
        'opsml:model/r/n@1.0.0#aaaa'

    """
    return f"opsml:{registry}/{repository}/{name}@{version}#{uid}"


def key_fingerprint(public_pem: bytes) -> str:
    """``sha256:<hex>`` of a PEM public key (SubjectPublicKeyInfo), as the bundle's key hint.

    Example:
        >>> key_fingerprint(b"-----BEGIN PUBLIC KEY-----...")[:7]
        'sha256:'

    """
    return "sha256:" + hashlib.sha256(public_pem).hexdigest()


@dataclass(frozen=True)
class SignatureInfo:
    """What a card's signature claims (and, from ``verify_signature``, that it holds).

    Attributes:
        signed_by: ``sha256:<hex>`` fingerprint of the signing public key (SHA-256
            of its PEM, the key hint ``model-signing`` writes), or for Sigstore
            keyless signing the certificate's fingerprint.
        method: ``"key"`` (an elliptic-curve key pair) or ``"sigstore"`` (keyless).
        subject: the card the signature names (see :func:`card_identity`).
        files: path → SHA-256 of every file it covers.
        verified: True once checked against a trusted key and the card's files.

    Example:
        >>> SignatureInfo(signed_by="sha256:ab", method="key", subject="s").verified
        False

    """

    signed_by: str
    method: str
    subject: str
    files: dict[str, str] = field(default_factory=dict, repr=False)
    verified: bool = False


def signature_of(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The bundle a card's metadata carries, or None when the card is unsigned.

    Example:
        >>> signature_of({}) is None
        True

    """
    entry = metadata.get("signature")
    if not isinstance(entry, dict):
        return None
    bundle = entry.get("bundle")
    return bundle if isinstance(bundle, dict) else None


def signature_entry(bundle: dict[str, Any]) -> dict[str, Any]:
    """The ``metadata["signature"]`` value for ``bundle``.

    Example:
        >>> signature_entry({})["format"]
        'model-signing/v1'

    """
    return {"format": SIGNATURE_FORMAT, "bundle": bundle}


def parse_bundle(bundle: Any, what: str) -> SignatureInfo:
    """Read a bundle's signer, subject and files, checking its shape and size (no crypto).

    Args:
        bundle: the parsed bundle (a dict).
        what: the card, for the message (``"model card ds/churn v1.0.0"``).

    Raises:
        SignatureVerificationError: the bundle is too big or corrupted.

    Example:
        >>> parse_bundle({"x": 1}, "model card r/n v1")
        Traceback (most recent call last):
        ...
        opsml.errors.SignatureVerificationError: model card r/n v1: corrupted signature bundle: ...

    """
    try:
        size = len(json.dumps(bundle, separators=(",", ":")))
    except (TypeError, ValueError):
        size = -1
    if size > MAX_SIGNATURE_BYTES:
        raise SignatureVerificationError(
            f"{what}: signature bundle of {size} bytes is over the "
            f"{MAX_SIGNATURE_BYTES}-byte bound; refused"
        )
    try:
        material = bundle["verificationMaterial"]
        envelope = bundle["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
        if statement["predicateType"] != PREDICATE_TYPE:
            raise ValueError(f"predicate type {statement['predicateType']!r}")
        (subject,) = statement["subject"]
        resources = statement["predicate"]["resources"]
        files = {str(r["name"]): str(r["digest"]) for r in resources if r["algorithm"] == "sha256"}
        if len(files) != len(resources):
            raise ValueError("a resource is not hashed with sha256")
        if "publicKey" in material:
            method, signed_by = "key", "sha256:" + str(material["publicKey"]["hint"])
        else:
            raw = base64.b64decode(material["certificate"]["rawBytes"])
            method, signed_by = "sigstore", "sha256:" + hashlib.sha256(raw).hexdigest()
        return SignatureInfo(
            signed_by=signed_by, method=method, subject=str(subject["name"]), files=files
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise SignatureVerificationError(f"{what}: corrupted signature bundle: {detail}") from None


def mismatches(info: SignatureInfo, subject: str, files: Iterable[ArtifactFile]) -> list[str]:
    """What differs between a signature's claims and a card (empty: they agree).

    Example:
        >>> info = SignatureInfo(signed_by="k", method="key", subject="s", files={"a": "0"})
        >>> mismatches(info, "t", [])
        ["it was made for opsml card 's', not 't'", 'a file is missing: a']

    """
    found: list[str] = []
    if info.subject != subject:
        found.append(f"it was made for opsml card {info.subject.removeprefix('opsml:')!r}, "
                     f"not {subject.removeprefix('opsml:')!r}")  # fmt: skip
    held = {f.path: f.sha256 for f in files}
    changed = sorted(p for p in held.keys() & info.files.keys() if held[p] != info.files[p])
    for label, paths in (
        ("a file differs", changed),
        ("a file is not signed", sorted(held.keys() - info.files.keys())),
        ("a file is missing", sorted(info.files.keys() - held.keys())),
    ):
        if paths:
            more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
            found.append(f"{label}: {paths[0]}{more}")
    return found


def describe(registry: str, repository: str, name: str, version: str | None) -> str:
    """``model card ds/churn v1.2.0``: how messages name a card.

    Example:
        >>> describe("model", "ds", "churn", "1.2.0")
        'model card ds/churn v1.2.0'

    """
    return f"{registry} card {repository}/{name} v{version}"


def check_registration(card: CardCreate, *, required: bool, final: bool = True) -> None:
    """Refuse a registration the signing policy forbids, or whose signature is not its own.

    A signed registration must carry its version and uid (the client fixes
    them before signing) and a bundle that names this card and lists exactly
    its files. With ``required`` (``OPSML_REQUIRE_SIGNATURE=true``), an unsigned
    registration is refused. Nothing is written either way: this runs before
    a version is reserved. (Whether the signer is trusted is the verifier's
    question: the server holds no keys.) An upload opened for a card signed at
    its commit (:data:`SIGNED_AT_COMMIT`) passes the opening (``final=False``);
    the commit must bring the bundle.

    Raises:
        SignatureRequiredError: unsigned under the policy, or a signature that
            does not describe this registration.

    Example:
        >>> check_registration(CardCreate(registry="run", name="n", repository="r",
        ...                               contact="c"), required=False)

    """
    bundle = signature_of(card.metadata)
    what = describe(card.registry, card.repository, card.name, card.version)
    if card.metadata.get("signature") == SIGNED_AT_COMMIT:
        if final:
            raise SignatureRequiredError(
                f"{what}: the commit did not bring the announced signature"
            )
        if card.version is None or card.uid is None:
            raise SignatureRequiredError(
                f"{what}: a signed registration must carry version and uid"
            )
        return
    if bundle is None:
        if "signature" in card.metadata:
            raise SignatureRequiredError(f"{what}: metadata 'signature' is not a signature entry")
        if required:
            raise SignatureRequiredError(
                f"{card.registry} card {card.repository}/{card.name} is unsigned and this "
                "registry requires signatures (OPSML_REQUIRE_SIGNATURE=true): register it with "
                "sign_with= or OPSML_SIGNING_KEY"
            )
        return
    if card.version is None or card.uid is None:
        raise SignatureRequiredError(
            f"{what}: a signed registration must carry its version and uid (they are signed)"
        )
    try:
        info = parse_bundle(bundle, what)
    except SignatureVerificationError as exc:
        raise SignatureRequiredError(exc.message) from None
    subject = card_identity(card.registry, card.repository, card.name, card.version, card.uid)
    found = mismatches(info, subject, card.files)
    if found:
        raise SignatureRequiredError(f"{what}: the signature does not match: {'; '.join(found)}")
