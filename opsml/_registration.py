"""Turn a card into a registration request: checks, its files' manifest, the request body.

Example:
    >>> from opsml.cards.run import RunCard
    >>> check_new_card("run", RunCard(name="n", repository="r", contact="c"), "minor")

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from opsml.config import whoami
from opsml.errors import InvalidInputError
from opsml.schemas import VERSION_TYPES, ArtifactFile, CardCreate, RegistryType, build

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.cards.base import Card


def stage_manifest(root: Path, backend: RegistryBackend | None = None) -> list[ArtifactFile]:
    """Every file under ``root`` with its size and SHA-256; when ``backend`` hashes while it
    sends (``digests_on_send``), the digests are left empty so that each byte is read once.
    """
    from opsml.storage.digest import sha256_file

    paths = sorted(p for p in root.rglob("*") if p.is_file())
    if backend is not None and backend.digests_on_send(sum(p.stat().st_size for p in paths)):
        return [
            ArtifactFile.model_construct(
                path=p.relative_to(root).as_posix(), size=p.stat().st_size, sha256=""
            )
            for p in paths
        ]
    files = []
    for path in paths:
        sha, size = sha256_file(path)
        files.append(ArtifactFile(path=path.relative_to(root).as_posix(), size=size, sha256=sha))
    return files


def check_new_card(registry_type: RegistryType, card: Card, version_type: str) -> None:
    """Refuse a card of another kind, an unknown bump, or a card already registered."""
    from opsml.cards import CARD_TYPES
    from opsml.cards.base import Card

    card_type = CARD_TYPES[registry_type]
    if not isinstance(card, Card):
        raise InvalidInputError(
            f"register_card needs a {card_type.__name__}, got {type(card).__name__}"
        )
    if not isinstance(card, card_type):
        raise InvalidInputError(
            f"a {type(card).__name__} cannot go into the {registry_type} registry: "
            f"use CardRegistry({card.registry_type!r})"
        )
    if version_type not in VERSION_TYPES:
        raise InvalidInputError(
            f"unknown version_type {version_type!r}: use one of {', '.join(VERSION_TYPES)}"
        )
    if card.uid is not None and card._public is not None:
        raise InvalidInputError(
            f"{type(card).__name__} {card.repository}/{card.name} v{card.version} is "
            "already registered: use update_card, or make a new card"
        )


def create_request(
    backend: RegistryBackend | None,
    registry_type: RegistryType,
    card: Card,
    version_type: str,
    staging: Path,
) -> CardCreate:
    """Write the card's artifacts into ``staging`` and describe the registration.

    ``backend`` may hash while it sends (see :func:`stage_manifest`); ``None``
    hashes up front (a signed card: its digests are signed before it is sent).
    """
    meta = {**card._card_metadata(), **card._write_artifacts(staging)}
    # a data card records its data's digest in its metadata: hashed up front
    files = stage_manifest(staging, None if card.registry_type == "data" else backend)
    if card.registry_type == "data" and "data" in meta:
        main = [f for f in files if f.path.startswith("data/") and "/splits/" not in f.path]
        if len(main) == 1:
            meta["data"]["digest"] = main[0].sha256
    return build(
        CardCreate,
        registry=registry_type,
        name=card.name,
        repository=card.repository,
        contact=card.contact,
        tags=card.tags,
        description=card.description,
        metadata=meta,
        version=card.version,
        version_type=version_type,
        created_by=card.created_by or whoami(),
        files=files,
    )
