"""Sign and verify a card's manifest with OpenSSF ``model-signing`` (the ``signing`` extra).

Imported only when a card is signed or verified. The manifest handed to
``model-signing`` is built from the SHA-256 digests the registry already holds
(no file is read again): ``model-signing``'s hashing step is replaced by one
that returns it, through its public ``hashing.Config`` class. The bundle is
what ``model_signing sign key`` would write for the same folder, so its own
``model_signing verify key`` accepts a pulled folder.

Example:
    >>> subject = "opsml:model/r/n@1.0.0#" + "0" * 32
    >>> bundle = sign_files("priv.pem", subject, files)  # doctest: +SKIP
    >>> verify_bundle(bundle, ["pub.pem"], "model card r/n v1.0.0").verified  # doctest: +SKIP
    True

"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml.errors import InvalidInputError, SignatureVerificationError, require
from opsml.signatures import (
    PULLED_EXTRAS,
    SIGNATURE_FILE,
    SignatureInfo,
    card_identity,
    describe,
    key_fingerprint,
    mismatches,
    parse_bundle,
    signature_of,
)

if TYPE_CHECKING:
    from opsml.schemas import ArtifactFile, CardPublic

KeySource = str | os.PathLike[str] | bytes
"""A key: a path to a PEM file, or the PEM text itself; ``"sigstore"`` signs keyless."""
SIGSTORE = "sigstore"
CURVES = ("secp256r1", "secp384r1", "secp521r1")
"""The elliptic curves ``model-signing`` accepts."""


def _manifest(subject: str, files: dict[str, str]) -> Any:
    from model_signing import manifest

    # model-signing 1.1 keeps Digest in a private module; the version is pinned (<1.2)
    from model_signing._hashing.hashing import Digest

    serialization = manifest.SerializationType.from_args(
        {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
         "ignore_paths": list(PULLED_EXTRAS)}
    )  # fmt: skip
    items = [
        serialization.new_item(path, Digest("sha256", bytes.fromhex(sha)))
        for path, sha in sorted(files.items())
    ]
    return manifest.Manifest(subject, items, serialization)


def _fixed_hashing(manifest: Any) -> Any:
    """A ``model_signing.hashing.Config`` whose ``hash`` returns ``manifest`` (digests we hold)."""
    from model_signing import hashing

    class FixedManifest(hashing.Config):
        def hash(self, model_path: Any, *, files_to_hash: Any = None) -> Any:
            return manifest

    return FixedManifest()  # type: ignore[no-untyped-call]


def _key_bytes(key: KeySource, role: str) -> tuple[bytes, str]:
    """The PEM bytes of ``key`` and how to name it in a message."""
    if isinstance(key, bytes):
        return key, f"the {role} key given as PEM"
    if isinstance(key, str) and key.lstrip().startswith("-----BEGIN"):
        return key.encode(), f"the {role} key given as PEM"
    path = Path(key).expanduser()
    if not path.is_file():
        raise InvalidInputError(f"{role} key {path} does not exist (or is not a file)")
    try:
        return path.read_bytes(), f"{role} key {path}"
    except OSError as exc:
        raise InvalidInputError(f"cannot read {role} key {path}: {exc.strerror}") from None


def load_private_key(key: KeySource) -> bytes:
    """Check that ``key`` is an elliptic-curve private key ``model-signing`` can use; its PEM.

    Raises:
        InvalidInputError: missing, unreadable, not PEM, encrypted, a public
            key, or not an elliptic-curve key on P-256, P-384 or P-521.

    Example:
        >>> load_private_key("missing.pem")
        Traceback (most recent call last):
        ...
        opsml.errors.InvalidInputError: signing key missing.pem does not exist (or is not a file)

    """
    data, label = _key_bytes(key, "signing")
    require("cryptography", "signing")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if b"PUBLIC KEY-----" in data:
        raise InvalidInputError(
            f"{label} is a public key: sign with the private key, verify with the public one"
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidInputError(
            f"{label} is encrypted: give an unencrypted PEM key (keep it in a secret store)"
        ) from None
    except ValueError:
        raise InvalidInputError(f"{label} is not a PEM private key") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name not in CURVES:
        kind = type(private).__name__.removeprefix("_").replace("PrivateKey", "")
        raise InvalidInputError(
            f"{label} is not an elliptic-curve key ({kind}): model-signing signs with "
            "elliptic-curve keys (P-256, P-384 or P-521: "
            "`openssl ecparam -name prime256v1 -genkey -noout`)"
        )
    return data


def load_public_key(key: KeySource) -> tuple[bytes, str]:
    """The PEM of a trusted public key and its ``sha256:`` fingerprint.

    Raises:
        InvalidInputError: missing, unreadable, a private key, or not a PEM public key.

    Example:
        >>> load_public_key("pub.pem")[1][:7]  # doctest: +SKIP
        'sha256:'

    """
    data, label = _key_bytes(key, "trusted")
    require("cryptography", "signing")
    from cryptography.hazmat.primitives import serialization

    if b"PRIVATE KEY-----" in data:
        raise InvalidInputError(f"{label} is a private key: trust the public key instead")
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        raise InvalidInputError(f"{label} is not a PEM public key") from None
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, key_fingerprint(pem)


def sign_files(key: KeySource, subject: str, files: Iterable[ArtifactFile]) -> dict[str, Any]:
    """Sign ``files`` (their paths and SHA-256) and ``subject``; return the bundle (parsed JSON).

    ``key`` is an elliptic-curve private key (path or PEM), or ``"sigstore"`` for
    keyless signing with the ambient OIDC identity (needs a network; see docs/security.md).

    Example:
        >>> sign_files("priv.pem", "opsml:model/r/n@1.0.0#" + "0" * 32, files)  # doctest: +SKIP

    """
    require("model_signing", "signing")
    from model_signing import signing

    digests = {f.path: f.sha256 for f in files}
    config = signing.Config().set_hashing_config(_fixed_hashing(_manifest(subject, digests)))  # type: ignore[no-untyped-call]
    with tempfile.TemporaryDirectory(prefix="opsml-sign-") as tmp:
        if key == SIGSTORE:
            config.use_sigstore_signer(use_ambient_credentials=True)
        else:
            pem = Path(tmp, "key.pem")
            fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(load_private_key(key))
            config.use_elliptic_key_signer(private_key=pem)
        out_path = Path(tmp, SIGNATURE_FILE)
        config.sign(pathlib.Path(tmp), out_path)
        bundle: dict[str, Any] = json.loads(out_path.read_text())
    return bundle


def verify_bundle(bundle: dict[str, Any], trusted: Sequence[KeySource], what: str) -> SignatureInfo:
    """Check that a trusted key made ``bundle`` and that its statement is untouched.

    Only the signature itself: comparing the (now authenticated) claims with
    the card's files and identity is :func:`opsml.signatures.mismatches`.
    A trusted entry ``sigstore:IDENTITY|ISSUER`` accepts a Sigstore keyless
    signature of that OIDC identity (not exercised without a network).

    Raises:
        SignatureVerificationError: corrupted, no trusted key made it, or it does not verify.

    Example:
        >>> verify_bundle(bundle, ["pub.pem"], "model card r/n v1.0.0").signed_by  # doctest: +SKIP
        'sha256:…'

    """
    info = parse_bundle(bundle, what)
    if not trusted:
        raise InvalidInputError(f"{what}: give at least one trusted public key to verify with")
    require("model_signing", "signing")
    from model_signing import verifying

    config = verifying.Config()  # type: ignore[no-untyped-call]
    keys = [k for k in trusted if not (isinstance(k, str) and k.startswith("sigstore:"))]
    if info.method == "sigstore":
        identities = [str(k).removeprefix("sigstore:") for k in trusted if k not in keys]
        if not identities:
            raise SignatureVerificationError(
                f"{what}: signed keyless with Sigstore, but no trusted 'sigstore:IDENTITY|ISSUER'"
            )
        identity, _, issuer = identities[0].partition("|")
        config.use_sigstore_verifier(identity=identity, oidc_issuer=issuer)
        return _run(config, bundle, info, what)
    loaded = [load_public_key(k) for k in keys]
    match = [pem for pem, fingerprint in loaded if fingerprint == info.signed_by]
    if not match:
        known = ", ".join(f[:19] + "…" for _, f in loaded) or "none"
        raise SignatureVerificationError(
            f"{what}: signed by an untrusted key {info.signed_by} (trusted: {known})"
        )
    with tempfile.TemporaryDirectory(prefix="opsml-verify-") as tmp:
        public = Path(tmp, "trusted.pub")
        public.write_bytes(match[0])
        config.use_elliptic_key_verifier(public_key=public)
        return _run(config, bundle, info, what)


def _run(config: Any, bundle: dict[str, Any], info: SignatureInfo, what: str) -> SignatureInfo:
    """Verify the bundle's signature over its own statement (files compared separately)."""
    from dataclasses import replace

    config.set_hashing_config(_fixed_hashing(_manifest(info.subject, info.files)))
    with tempfile.TemporaryDirectory(prefix="opsml-verify-") as tmp:
        path = Path(tmp, SIGNATURE_FILE)
        path.write_text(json.dumps(bundle))
        try:
            config.verify(pathlib.Path(tmp), path)
        except Exception as exc:  # cryptography's InvalidSignature, model-signing's ValueError
            detail = str(exc).strip() or type(exc).__name__
            raise SignatureVerificationError(
                f"{what}: the signature does not verify with {info.signed_by}: {detail}"
            ) from None
    return replace(info, verified=True)


def verify_card(card: CardPublic, trusted: Sequence[KeySource]) -> SignatureInfo:
    """Verify a registered card's signature: a trusted key made it, for this card, over its files.

    The files are compared through the digests the registry records (a pull or
    a download then checks each byte against them), so nothing is read here.

    Raises:
        SignatureVerificationError: unsigned, untrusted key, corrupted, another card
            or version, or a file that differs, was added or is missing.

    Example:
        >>> verify_card(registry.load_card(name="churn")._public, ["pub.pem"])  # doctest: +SKIP

    """
    what = describe(card.registry, card.repository, card.name, card.version)
    bundle = signature_of(card.metadata)
    if bundle is None:
        raise SignatureVerificationError(
            f"{what} is unsigned: a signature by a trusted key is required"
        )
    info = verify_bundle(bundle, trusted, what)
    subject = card_identity(card.registry, card.repository, card.name, card.version, card.uid)
    found = mismatches(info, subject, card.files)
    if found:
        raise SignatureVerificationError(f"{what}: signature check failed: {'; '.join(found)}")
    return info
