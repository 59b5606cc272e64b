"""Register a signed card: fix its version and uid, sign its manifest, send it.

The signature names the card's version, which the registry normally picks at
commit. A signed registration asks for the next version first
(``backend.next_version``), signs it with the uid it chose, and registers that
explicit version; when a concurrent registration takes it first, it asks again,
signs again and retries. Signing covers digests the registration computes
anyway, so no file is read twice: where the HTTP backend hashes while it sends
(an upload session), the card is signed after the upload and the bundle goes
with the commit (:meth:`~opsml.backends.http.client.HttpBackend.register_signed_later`).

Example:
    >>> signing_key_of(None, None) is None  # no sign_with= and no OPSML_SIGNING_KEY
    True

"""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING

from opsml.errors import VersionConflictError

if TYPE_CHECKING:
    from pathlib import Path

    from opsml._model_signing import KeySource
    from opsml.backends.base import ProgressCallback, RegistryBackend
    from opsml.config import OpsmlSettings
    from opsml.schemas import CardCreate, CardPublic

ATTEMPTS = 5
"""Versions tried when concurrent registrations of one name keep taking the next one."""


def signing_key_of(sign_with: KeySource | None, settings: OpsmlSettings | None) -> KeySource | None:
    """``sign_with`` when given, else ``OPSML_SIGNING_KEY`` (a path, the PEM, or ``sigstore``).

    Example:
        >>> signing_key_of("key.pem", None)
        'key.pem'

    """
    if sign_with is not None:
        return sign_with
    if settings is None:
        from opsml.config import get_settings

        settings = get_settings()
    secret = settings.signing_key
    return secret.get_secret_value() if secret is not None else None


def check_signing_key(key: KeySource) -> None:
    """Refuse a missing, unreadable or unusable key before anything is written or sent.

    Example:
        >>> check_signing_key("sigstore")  # keyless: checked when it signs

    """
    from opsml._model_signing import SIGSTORE, load_private_key

    if key != SIGSTORE:
        load_private_key(key)


def register_signed(
    backend: RegistryBackend,
    request: CardCreate,
    staging: Path,
    key: KeySource,
    *,
    progress: ProgressCallback | None = None,
) -> CardPublic:
    """Sign ``request`` (its files' paths and SHA-256, registry, repository, name, version,
    uid) with ``key`` and register it; see the module docstring for the version.

    Raises:
        InvalidInputError: the key is missing, unreadable or not an EC private key.
        VersionConflictError: an explicit version is taken, or every attempt lost a race.

    """
    from opsml._model_signing import sign_files
    from opsml._registration import stage_manifest
    from opsml.signatures import SIGNED_AT_COMMIT, card_identity, signature_entry

    uid = request.uid or uuid.uuid4().hex
    hashed = all(f.sha256 for f in request.files)
    later = not hashed and backend.signs_after_send()  # sign once the send hashed the files
    if not hashed and not later:
        request = request.model_copy(update={"files": stage_manifest(staging)})
    for attempt in range(ATTEMPTS):
        version = request.version or backend.next_version(
            request.registry, request.name, request.repository, request.version_type
        )
        subject = card_identity(request.registry, request.repository, request.name, version, uid)
        fixed = {"version": version, "uid": uid}
        try:
            if later:  # hashed while sent: signed once the digests are known
                entry = {**request.metadata, "signature": SIGNED_AT_COMMIT}
                pending = request.model_copy(update={**fixed, "metadata": entry})
                sign = functools.partial(sign_files, key, subject)
                return backend.register_signed_later(pending, staging, sign, progress=progress)
            bundle = sign_files(key, subject, request.files)
            metadata = {**request.metadata, "signature": signature_entry(bundle)}
            signed = request.model_copy(update={**fixed, "metadata": metadata})
            return backend.register_card(signed, staging, progress=progress)
        except VersionConflictError:
            if request.version is not None or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
