"""The spec's ``require_signature:``: refuse an unsigned or untrusted model before any build.

Two checks, one per way in:

- :func:`require_signed_card`: the registered card (before anything is pulled or
  built), what the Prefect flow runs in its ``check_spec`` step;
- :func:`require_signed_folder`: a folder ``opsml models pull`` wrote (CI runs the
  steps after the pull), checked with ``model-signing`` itself over the files
  on disk, the way ``model_signing verify key`` would.

Each raises :class:`SignatureVerificationError` with one line naming the card and
what failed; without ``require_signature:`` in the spec both do nothing.

Example:
    >>> from flows.model_packaging.spec import ModelApiSpec
    >>> spec = ModelApiSpec.model_validate({"model": {"name": "iris", "repository": "ds"},
    ...                                     "api": {"image": "example.com/iris-api"}})
    >>> require_signed_card(spec, card=None) is None  # the spec does not ask for it
    True

"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from flows.model_packaging.spec import ModelApiSpec, read_card
from opsml.errors import SignatureVerificationError

__all__ = ["require_signed_card", "require_signed_folder", "trusted_keys"]


def trusted_keys(spec: ModelApiSpec, spec_dir: str | Path = ".") -> list[str] | None:
    """The spec's trusted public keys, paths made absolute against ``spec_dir`` (None: not asked).

    Example:
        >>> spec = ModelApiSpec.model_validate({"model": {"name": "m", "repository": "r"},
        ...     "api": {"image": "e.com/m"}, "require_signature": {"public_keys": ["k.pub"]}})
        >>> trusted_keys(spec, "/specs")
        ['/specs/k.pub']

    """
    if spec.require_signature is None:
        return None
    return [
        key if key.lstrip().startswith("-----BEGIN") else str(Path(spec_dir) / key)
        for key in spec.require_signature.public_keys
    ]


def require_signed_card(spec: ModelApiSpec, card: Any, spec_dir: str | Path = ".") -> Any:
    """Refuse ``card`` (a loaded model card) unless a key of the spec signed exactly it.

    Returns:
        The verified :class:`~opsml.signatures.SignatureInfo`, or None when the
        spec has no ``require_signature:``.

    Example:
        >>> require_signed_card(spec, registry.load_card(name="iris"), "flows")  # doctest: +SKIP

    """
    keys = trusted_keys(spec, spec_dir)
    if keys is None:
        return None
    return card.verify_signature(keys)


def require_signed_folder(
    spec: ModelApiSpec, model_dir: str | Path, spec_dir: str | Path = "."
) -> Any:
    """Refuse a pulled folder unless a key of the spec signed its files and its card.

    Hashes every file in ``model_dir`` with ``model-signing`` (extra, missing or
    changed files fail) and checks that the signature names the card
    ``card.json`` describes.

    Example:
        >>> require_signed_folder(spec, "build/model", "flows")  # doctest: +SKIP

    """
    from opsml._model_signing import load_public_key, verify_bundle
    from opsml.signatures import SIGNATURE_FILE, card_identity, describe

    keys = trusted_keys(spec, spec_dir)
    if keys is None:
        return None
    folder = Path(model_dir)
    card = read_card(folder)
    what = describe("model", card["repository"], card["name"], card["version"])
    signature = folder / SIGNATURE_FILE
    if not signature.is_file():
        raise SignatureVerificationError(f"{what} is unsigned: {signature} is missing")
    info = verify_bundle(json.loads(signature.read_text()), keys, what)
    subject = card_identity("model", card["repository"], card["name"], card["version"], card["uid"])
    if info.subject != subject:
        raise SignatureVerificationError(f"{what}: the signature was made for {info.subject}")
    from model_signing import verifying

    pem = next(p for p, fingerprint in map(load_public_key, keys) if fingerprint == info.signed_by)
    with tempfile.TemporaryDirectory(prefix="opsml-trusted-") as tmp:
        public = Path(tmp, "trusted.pub")
        public.write_bytes(pem)
        try:
            config = verifying.Config().use_elliptic_key_verifier(public_key=public)  # type: ignore[no-untyped-call]
            config.verify(folder, signature)
        except ValueError as exc:  # "Signature mismatch: [...]" naming the files
            raise SignatureVerificationError(f"{what}: {exc}") from None
    return info
