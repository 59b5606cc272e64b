"""Promotion: copy one registered version from one registry to another (docs/design.md §12).

The copy keeps the version number, the uid and every file's digest. Each file
streams from the source's download into the target's upload, one file at a
time and in bounded memory (no local copy of the card): the bytes are hashed
on the way out and checked against the source's record, and the target checks
them again as it stores them. The target card records where it came from
(``metadata["provenance"]``: the source registry without credentials, the
source uid and version). It is a write in the target (its token, its audit,
its event). Copying the same content again returns the existing card; the same
version with other files is a :class:`VersionConflictError` that changes
nothing. A failure at any point leaves nothing of that card in the target: the
target's registration is atomic.

With lineage, the data and run cards a card links to (a model's
``datacard_uid`` / ``runcard_uid``, a run's ``datacard_uids``) are copied
first, recursively, with their uids and versions, so that the links resolve
in the target. Every card is resolved in the source and checked against the
target before anything is written; a linked card that fails to copy stops the
copy before the card itself is written (linked cards already copied are
complete copies and stay: a retry skips them).

The public entry is :meth:`opsml.CardRegistry.copy_card`.

Example:
    >>> from opsml import CardRegistry
    >>> staging = CardRegistry("model", tracking_uri="http://staging:8080")
    >>> prod = CardRegistry("model", tracking_uri="http://prod:8080", prod_token="t")
    >>> card = staging.load_card(name="churn", repository="ds", alias="champion")  # doctest: +SKIP
    >>> staging.copy_card(card, to=prod, with_lineage=True)  # doctest: +SKIP

"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsml.errors import CardNotFoundError, VersionConflictError
from opsml.schemas import CardCreate, CardPublic, RegistryType, build

if TYPE_CHECKING:
    from opsml.backends.base import FileSource, ProgressCallback, RegistryBackend
    from opsml.schemas import ArtifactFile

LINKS: dict[str, tuple[tuple[RegistryType, str], ...]] = {
    "model": (("data", "datacard_uid"), ("run", "runcard_uid")),
    "run": (("data", "datacard_uids"),),
}
"""Card kind → (registry, metadata key) of the cards it links to, copied along with lineage."""

BLOCK = 1024 * 1024
"""Bytes gathered from the source's download before they are handed to the target."""
PREFETCH = 8
"""Blocks the download may run ahead of the upload (memory: about ``BLOCK * PREFETCH``)."""


@dataclass(frozen=True)
class Copied:
    """One card in the target after a copy, and whether this copy wrote it."""

    card: CardPublic
    written: bool


def _digests(card: CardPublic) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.size, f.sha256) for f in card.files)


def _label(public: CardPublic) -> str:
    return f"{public.registry} card {public.repository}/{public.name} v{public.version}"


def _existing(target: RegistryBackend, public: CardPublic, *, same_uid: bool) -> CardPublic | None:
    """The target's card at ``public``'s version when it has the same files (else a conflict)."""
    try:
        found = target.get_card(
            public.registry, name=public.name, repository=public.repository, version=public.version
        )
    except CardNotFoundError:
        return None
    if _digests(found) != _digests(public):
        raise VersionConflictError(
            f"{_label(public)} exists in the target with other files: nothing was copied"
        )
    if same_uid and found.uid != public.uid:
        raise VersionConflictError(
            f"{_label(public)} exists in the target with uid {found.uid}, not {public.uid}: "
            "links to it would not resolve there; nothing was copied"
        )
    return found


def linked_cards(source: RegistryBackend, public: CardPublic) -> list[CardPublic]:
    """The cards ``public`` links to, recursively, each once, the ones they link to first.

    Raises:
        CardNotFoundError: a link names a card the source does not have.

    Example:
        >>> [c.registry for c in linked_cards(backend, model_card)]  # doctest: +SKIP
        ['data', 'run']

    """
    order: list[CardPublic] = []
    seen = {(public.registry, public.uid)}

    def visit(card: CardPublic) -> None:
        for registry, key in LINKS.get(card.registry, ()):
            value = card.metadata.get(key)
            uids = value if isinstance(value, list) else [value] if value else []
            for uid in uids:
                if (registry, uid) in seen:
                    continue
                seen.add((registry, uid))
                try:
                    linked = source.get_card(registry, uid=uid)
                except CardNotFoundError:
                    raise CardNotFoundError(
                        f"{_label(card)} links to {registry} card {uid} ({key}), which the source "
                        "registry does not have: nothing was copied"
                    ) from None
                visit(linked)
                order.append(linked)

    visit(public)
    return order


def verified_chunks(
    source: RegistryBackend, public: CardPublic, item: ArtifactFile
) -> Iterator[bytes]:
    """The source's bytes of one file, hashed as they pass; a mismatch raises at the end.

    The download runs in a helper thread, :data:`PREFETCH` blocks of about
    :data:`BLOCK` bytes ahead of the caller (memory stays bounded), so that
    receiving and hashing overlap with the caller's upload.

    Raises:
        ArtifactIntegrityError: the bytes are not the file's record (too many: at once).

    """
    blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(PREFETCH)
    stop = threading.Event()

    def put(value: bytes | BaseException | None) -> None:
        while not stop.is_set():
            try:
                return blocks.put(value, timeout=0.1)
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for block in _hashed_blocks(source, public, item):
                put(block)
                if stop.is_set():
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="opsml-copy-read", daemon=True)
    thread.start()
    try:
        while (block := blocks.get()) is not None:
            if isinstance(block, BaseException):
                raise block
            yield block
    finally:
        stop.set()
        thread.join(timeout=5.0)  # a download stuck on the network ends with its timeout


def _hashed_blocks(
    source: RegistryBackend, public: CardPublic, item: ArtifactFile
) -> Iterator[bytes]:
    from opsml.backends._sink import verify_digest

    digest, size, pending, pending_size = hashlib.sha256(), 0, list[bytes](), 0
    for chunk in source.iter_artifact(public, item.path):
        digest.update(chunk)
        size += len(chunk)
        if size > item.size:
            verify_digest(public, item, size, digest.hexdigest())
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= BLOCK:
            yield b"".join(pending)
            pending, pending_size = [], 0
    verify_digest(public, item, size, digest.hexdigest())
    if pending:
        yield b"".join(pending)


def _reader(source: RegistryBackend, public: CardPublic) -> FileSource:
    return lambda item: verified_chunks(source, public, item)


def copy_cards(
    source: RegistryBackend,
    public: CardPublic,
    target: RegistryBackend,
    *,
    source_location: str,
    with_lineage: bool = False,
    progress: ProgressCallback | None = None,
) -> list[Copied]:
    """Copy ``public`` (and, ``with_lineage``, the cards it links to, first) into ``target``.

    Args:
        source: the backend holding the card.
        public: the card to copy.
        target: the backend to copy it into.
        source_location: the source registry, without credentials (recorded).
        with_lineage: copy the linked data and run cards first (see :data:`LINKS`).
        progress: called with byte counts as files move.

    Returns:
        Every card in the target, linked cards first and ``public``'s copy last.

    Raises:
        VersionConflictError: the target has one of the versions with other files
            (or, for a linked card, another uid); nothing was written.
        CardNotFoundError: a link names a card the source does not have.
        ArtifactIntegrityError: a file does not match its digest; that card is not kept.
        PermissionDeniedError: the target is production and its token is missing.

    Example:
        >>> copy_cards(stg, card, prod, source_location="http://s:8080")  # doctest: +SKIP
        [Copied(card=CardPublic(...), written=True)]

    """
    cards = [*linked_cards(source, public), public] if with_lineage else [public]
    found = [_existing(target, card, same_uid=card is not public) for card in cards]
    done: list[Copied] = []
    for card, existing in zip(cards, found, strict=True):
        if existing is not None:
            done.append(Copied(existing, written=False))
            continue
        request = build(CardCreate, **_create_fields(card, source_location))
        copied = target.register_streams(request, _reader(source, card), progress=progress)
        done.append(Copied(copied, written=True))
    return done


def copy_public(
    source: RegistryBackend, public: CardPublic, target: RegistryBackend, *, source_location: str
) -> CardPublic:
    """Copy the registered ``public`` of ``source`` into ``target`` (see :func:`copy_cards`).

    Example:
        >>> copy_public(staging, card, prod, source_location="http://stg:8080")  # doctest: +SKIP

    """
    return copy_cards(source, public, target, source_location=source_location)[-1].card


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
