"""Promotion: copy one registered version from one registry to another (DESIGN.md §12).

The copy keeps the version number, the uid and every file's digest: the files
are downloaded from the source with their digests verified, and the target
verifies them again as it stores them. The target card records where it came
from (``metadata["provenance"]``: the source registry without credentials,
the source uid and version). It is a write in the target (its token, its
audit, its event). Copying the same content again returns the existing card;
the same version with other files is a :class:`VersionConflictError` that
changes nothing. A failure at any point leaves nothing in the target: the
target's registration is atomic.

The public entry is :meth:`opsml.CardRegistry.copy_card`.

Example:
    >>> from opsml import CardRegistry
    >>> staging = CardRegistry("model", tracking_uri="http://staging:8080")
    >>> prod = CardRegistry("model", tracking_uri="http://prod:8080", prod_token="t")
    >>> card = staging.load_card(name="churn", repository="ds", alias="champion")  # doctest: +SKIP
    >>> staging.copy_card(card, to=prod)  # doctest: +SKIP

"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml.errors import CardNotFoundError, VersionConflictError
from opsml.schemas import CardCreate, CardPublic, build

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend


def _digests(card: CardPublic) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.size, f.sha256) for f in card.files)


def _same_files(a: CardPublic, b: CardPublic) -> bool:
    return _digests(a) == _digests(b)


def _existing(target: RegistryBackend, public: CardPublic) -> CardPublic | None:
    try:
        return target.get_card(
            public.registry, name=public.name, repository=public.repository, version=public.version
        )
    except CardNotFoundError:
        return None


def copy_public(
    source: RegistryBackend, public: CardPublic, target: RegistryBackend, *, source_location: str
) -> CardPublic:
    """Copy the registered ``public`` of ``source`` into ``target`` at the same version.

    Args:
        source: the backend holding the card.
        public: the card to copy.
        target: the backend to copy it into.
        source_location: the source registry, without credentials (recorded).

    Returns:
        The card in the target (the existing one when the same content is there).

    Raises:
        VersionConflictError: the target has this version with other files.
        ArtifactIntegrityError: a file does not match its digest; nothing is kept.
        PermissionDeniedError: the target is production and its token is missing.

    Example:
        >>> copy_public(staging, card, prod, source_location="http://stg:8080")  # doctest: +SKIP

    """
    existing = _existing(target, public)
    if existing is not None:
        if _same_files(existing, public):
            return existing
        raise VersionConflictError(
            f"{public.registry} card {public.repository}/{public.name} v{public.version} "
            f"exists in the target with other files: nothing was copied"
        )
    staging = Path(tempfile.mkdtemp(prefix="opsml-copy-"))
    try:
        source.download_artifacts(public, staging)  # digests verified
        request = build(CardCreate, **_create_fields(public, source_location))
        return target.register_card(request, staging)  # verified again
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _create_fields(public: CardPublic, source_location: str) -> dict[str, Any]:
    provenance = {"registry": source_location, "uid": public.uid, "version": public.version}
    return {
        "registry": public.registry,
        "name": public.name,
        "repository": public.repository,
        "contact": public.contact,
        "tags": public.tags,
        "description": public.description,
        "metadata": {**public.metadata, "provenance": provenance},
        "version": public.version,
        "uid": public.uid,
        "created_by": public.created_by,
        "files": public.files,
    }
