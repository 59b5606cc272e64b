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

Example:
    >>> from opsml import CardRegistry
    >>> staging = CardRegistry("model", tracking_uri="http://staging:8080")
    >>> prod = CardRegistry("model", tracking_uri="http://prod:8080", prod_token="t")
    >>> copy_card(staging, staging.load_card(name="churn", alias="champion", repository="ds"),
    ...           prod)  # doctest: +SKIP

"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml.errors import CardNotFoundError, InvalidInputError, VersionConflictError
from opsml.schemas import CardCreate, CardPublic, build

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.registry import CardRegistry


def _digests(card: CardPublic) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.size, f.sha256) for f in card.files)


def _same_files(a: CardPublic, b: CardPublic) -> bool:
    return _digests(a) == _digests(b)


def _existing(target: CardRegistry, public: CardPublic) -> CardPublic | None:
    try:
        return target.backend.get_card(
            public.registry, name=public.name, repository=public.repository, version=public.version
        )
    except CardNotFoundError:
        return None


def copy_card(source: CardRegistry, card: Card, target: CardRegistry) -> Card:
    """Copy the registered ``card`` of ``source`` into ``target`` at the same version.

    Returns:
        The card in the target (the existing one when the same content is there).

    Raises:
        VersionConflictError: the target has this version with other files.
        ArtifactIntegrityError: a file does not match its digest; nothing is kept.
        PermissionDeniedError: the target is production and its token is missing.

    Example:
        >>> copy_card(staging, card, prod).version  # doctest: +SKIP
        '1.2.0'

    """
    if source.registry_type != target.registry_type:
        raise InvalidInputError(
            f"cannot copy a {source.registry_type} card into the {target.registry_type} registry"
        )
    public, _ = source._owned(card)
    existing = _existing(target, public)
    if existing is not None:
        if _same_files(existing, public):
            return target._card_type()._from_public(existing, target.backend)
        raise VersionConflictError(
            f"{public.registry} card {public.repository}/{public.name} v{public.version} "
            f"exists in the target with other files: nothing was copied"
        )
    staging = Path(tempfile.mkdtemp(prefix="opsml-copy-"))
    try:
        source.backend.download_artifacts(public, staging)  # digests verified
        request = build(CardCreate, **_create_fields(source, public))
        copied = target.backend.register_card(request, staging)  # verified again
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target._card_type()._from_public(copied, target.backend)


def _create_fields(source: CardRegistry, public: CardPublic) -> dict[str, Any]:
    from opsml.config import describe_location, get_settings

    settings = source._settings or get_settings()
    provenance = {
        "registry": describe_location(settings.resolved_tracking_uri()),
        "uid": public.uid,
        "version": public.version,
    }
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
