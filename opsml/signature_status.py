"""What ``opsml cards show`` and the UI say about a card's signature.

Example:
    >>> from types import SimpleNamespace
    >>> signature_status(SimpleNamespace(metadata={})) is None
    True

"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opsml.errors import OpsmlError, SignatureVerificationError
from opsml.signatures import card_identity, describe, mismatches, parse_bundle, signature_of


def signature_status(card: Any, trusted: Iterable[Any] = ()) -> dict[str, Any] | None:
    """What ``cards show`` and the UI say about a card's signature (None: unsigned).

    ``signed_by`` is the signing key's fingerprint; ``verified`` is True when a
    ``trusted`` key (``OPSML_TRUSTED_KEYS`` by default) made it over exactly this
    card, False with ``detail`` when it fails, and None when no trusted key was
    given (then ``detail`` says whether the signature at least matches the card's
    files and identity). Never raises for a bad signature.

    Example:
        >>> from types import SimpleNamespace
        >>> signature_status(SimpleNamespace(metadata={})) is None
        True

    """
    bundle = signature_of(card.metadata)
    if bundle is None:
        return None
    what = describe(card.registry, card.repository, card.name, card.version)
    try:
        info = parse_bundle(bundle, what)
    except SignatureVerificationError as exc:
        return {"signed_by": None, "method": None, "verified": False, "detail": exc.message}
    status: dict[str, Any] = {"signed_by": info.signed_by, "method": info.method}
    keys = list(trusted)
    if not keys:
        subject = card_identity(card.registry, card.repository, card.name, card.version, card.uid)
        found = mismatches(info, subject, card.files)
        detail = "; ".join(found) if found else "matches the card's files; no trusted key given"
        return {**status, "verified": False if found else None, "detail": detail}
    from opsml._model_signing import verify_card

    try:
        verify_card(card, keys)
    except OpsmlError as exc:  # an untrusted key, a mismatch, a missing extra
        return {**status, "verified": False, "detail": exc.message}
    return {**status, "verified": True, "detail": "verified with a trusted key"}
