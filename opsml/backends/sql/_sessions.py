"""Upload sessions in the database, their bytes in the store: any server process may serve any step.

A session is one row of ``opsml_upload_sessions`` (the card, its owner, when it
was last used) plus one row of ``opsml_upload_files`` per file that arrived,
with the size and SHA-256 that the receiving process hashed itself. The bytes
wait under the store's ``.uploads/{id}/`` (the same prefix as presigned uploads),
written by :meth:`ArtifactStore.put_stream`, which makes them visible only when
they match the record. So the create, each PUT and the commit of one session may
land on different processes that share one database and one store, and a
process killed mid-session loses nothing another one needs.

The commit claims the row (``open`` → ``committing``, one UPDATE that only one
process wins). :meth:`SqlUploadSessions.sweep` removes sessions not used for
longer than the TTL, and staging objects under ``.uploads/`` that no session
owns and that are older than the TTL (abandoned inline and presigned uploads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, insert, select, update

from opsml.backends.sql._rows import as_utc, now
from opsml.backends.sql.tables import UPLOAD_FILES, UPLOAD_SESSIONS
from opsml.backends.uploads import UploadSession
from opsml.errors import CardNotFoundError, OpsmlError
from opsml.schemas import PRESIGN_EXPIRES, ArtifactFile, CardCreate, UploadTicket
from opsml.storage import staging_prefix
from opsml.storage._staging import abort_stale_multipart, staging_ages
from opsml.storage._verify import Arriving, CallerError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.storage import ArtifactStore

logger = logging.getLogger("opsml.uploads")
Connect = Callable[[], AbstractContextManager["Connection"]]
CreateUpload = Callable[..., UploadTicket]
"""The backend's ``create_upload`` (its checks; the presigned URLs)."""
TOUCH_EVERY = 30.0
"""Seconds between two marks of activity while one file streams in."""


def _gone(session_id: str) -> CardNotFoundError:
    return CardNotFoundError(
        f"no upload session {session_id}: it was committed, aborted or expired"
    )


class SqlUploadSessions:
    """:class:`~opsml.backends.uploads.UploadSessions` of the SQL backend: rows in its
    database, bytes in the staging folders of its store.

    Example:
        >>> import tempfile
        >>> from opsml.backends.sql import SqlBackend
        >>> root = tempfile.mkdtemp()
        >>> sessions = SqlBackend(f"sqlite:///{root}/r.db", f"{root}/a").upload_sessions
        >>> card = CardCreate(registry="run", name="n", repository="r", contact="me")
        >>> sessions.open(card, "alice").missing()
        []

    """

    def __init__(self, connect: Connect, store: ArtifactStore, create_upload: CreateUpload) -> None:
        self._connect = connect
        self.store = store
        self._create_upload = create_upload

    def __repr__(self) -> str:
        return f"SqlUploadSessions({self.store!r})"

    def open(
        self,
        card: CardCreate,
        owner: str | None,
        *,
        presigned: bool = False,
        expires: int = PRESIGN_EXPIRES,
    ) -> UploadSession:
        """See :meth:`UploadSessions.open`: the backend's ``create_upload``, then the row."""
        ticket = self._create_upload(card, presigned=presigned, expires=expires)
        at = now()
        with self._connect() as conn:
            conn.execute(
                insert(UPLOAD_SESSIONS).values(
                    id=ticket.id, owner=owner, presigned=presigned, state="open",
                    card=card.model_dump(mode="json"), created_at=at, touched_at=at,
                )
            )  # fmt: skip
        return UploadSession(ticket.id, card, owner, presigned, urls=tuple(ticket.files))

    def get(self, session_id: str, owner: str | None, *, state: str = "open") -> UploadSession:
        """The session ``session_id`` of ``owner`` (marked as used); anything else is not found."""
        with self._connect() as conn:
            row = conn.execute(
                select(UPLOAD_SESSIONS).where(UPLOAD_SESSIONS.c.id == session_id)
            ).first()
            if row is None or row.state != state:
                raise _gone(session_id)
            if row.owner != owner:
                raise CardNotFoundError(f"no upload session {session_id} of this user")
            conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == session_id)
                .values(touched_at=now())
            )
            card = _stored_card(row.card)
            files = conn.execute(
                select(UPLOAD_FILES).where(UPLOAD_FILES.c.session_id == session_id)
            ).all()
        received = {
            card.files[f.position].path: (int(f.size), f.sha256)
            for f in files
            if f.position < len(card.files)
        }
        return UploadSession(session_id, card, row.owner, bool(row.presigned), received)

    def touch(self, session_id: str) -> None:
        """Mark the session as used (it is then kept by the sweep for another TTL)."""
        with self._connect() as conn:
            conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == session_id)
                .values(touched_at=now())
            )

    def stage(self, upload_id: str, item: ArtifactFile, chunks: Iterator[bytes]) -> None:
        """Write one file's bytes to its staging object, visible only if they match ``item``."""
        key = f"{staging_prefix(upload_id)}/{item.path}"
        self.store.put_stream(_theirs(chunks), key, item)

    def receive(self, session: UploadSession, path: str, chunks: Iterator[bytes]) -> ArtifactFile:
        """Stream one file of ``session`` into the store, hashed on arrival, and record it.

        Raises:
            ArtifactIntegrityError: the bytes are not the announced size and SHA-256;
                nothing is kept.

        """
        item = session.item(path)
        # announced without a digest: the size is checked, the store's hash is kept
        record = item if item.sha256 else cast("ArtifactFile", Arriving(item.path, item.size))
        self.stage(session.id, record, self._touching(session.id, chunks))
        position = session.card.files.index(item)
        with self._connect() as conn:
            state = conn.execute(
                select(UPLOAD_SESSIONS.c.state).where(UPLOAD_SESSIONS.c.id == session.id)
            ).scalar()
            if state != "open":
                raise _gone(session.id)
            conn.execute(
                delete(UPLOAD_FILES).where(
                    UPLOAD_FILES.c.session_id == session.id, UPLOAD_FILES.c.position == position
                )
            )
            conn.execute(
                insert(UPLOAD_FILES).values(
                    session_id=session.id, position=position, size=item.size, sha256=record.sha256
                )
            )
            conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == session.id)
                .values(touched_at=now())
            )
        return item

    def _touching(self, session_id: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks``, marking the session as used every :data:`TOUCH_EVERY` seconds."""
        last = time.monotonic()
        for chunk in chunks:
            yield chunk
            if time.monotonic() - last > TOUCH_EVERY:
                self.touch(session_id)
                last = time.monotonic()

    def claim(self, session_id: str, owner: str | None) -> UploadSession:
        """Take the session for its commit (``open`` → ``committing``); only one caller wins."""
        session = self.get(session_id, owner)
        with self._connect() as conn:
            won = conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == session_id, UPLOAD_SESSIONS.c.state == "open")
                .values(state="committing", touched_at=now())
            ).rowcount
        if won != 1:
            raise CardNotFoundError(f"upload session {session_id} is already being committed")
        return session

    def release(self, session_id: str) -> None:
        """Undo :meth:`claim` (the commit found the upload incomplete; the client may retry)."""
        with self._connect() as conn:
            conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == session_id)
                .values(state="open", touched_at=now())
            )

    def drop(self, session_id: str) -> None:
        """Remove a session: its staging objects first, then its rows."""
        self.store.delete_prefix(staging_prefix(session_id))
        with self._connect() as conn:
            conn.execute(delete(UPLOAD_FILES).where(UPLOAD_FILES.c.session_id == session_id))
            conn.execute(delete(UPLOAD_SESSIONS).where(UPLOAD_SESSIONS.c.id == session_id))

    def sweep(self, ttl: timedelta) -> int:
        """Remove sessions unused for longer than ``ttl`` and ownerless staging objects as old.

        A session used within ``ttl`` (a PUT marks it every :data:`TOUCH_EVERY`
        seconds while it streams) is kept, and so are its objects.

        Returns:
            How many sessions and staging folders were removed.

        """
        cutoff = now() - ttl
        with self._connect() as conn:
            rows = conn.execute(select(UPLOAD_SESSIONS.c.id, UPLOAD_SESSIONS.c.touched_at)).all()
        live = {r.id for r in rows}
        stale = [r.id for r in rows if as_utc(r.touched_at) < cutoff]
        for session_id in stale:
            self.drop(session_id)
        orphans = [
            upload_id
            for upload_id, newest in staging_ages(self.store).items()
            if upload_id not in live and newest < cutoff.timestamp()
        ]
        for upload_id in orphans:
            try:
                self.store.delete_prefix(staging_prefix(upload_id))
            except Exception:  # a foreign folder under .uploads/: not ours to judge
                logger.warning("could not remove staging folder %s", upload_id)
        removed = len(stale) + len(orphans)
        try:
            removed += abort_stale_multipart(self.store, cutoff.timestamp(), live - set(stale))
        except OpsmlError:  # the objects are gone; a leftover part waits for the next sweep
            logger.warning("could not abort stale multipart uploads under .uploads/")
        if removed:
            logger.info("removed abandoned uploads", extra={"count": removed})
        return removed


def _stored_card(raw: dict[str, Any]) -> CardCreate:
    """A session's card as stored; files announced without a digest keep ``sha256`` empty."""
    deferred = {f["path"] for f in raw.get("files", []) if not f.get("sha256")}
    placeholder = [{**f, "sha256": f.get("sha256") or "0" * 64} for f in raw.get("files", [])]
    card = CardCreate.model_validate({**raw, "files": placeholder})
    files = [
        ArtifactFile.model_construct(path=f.path, size=f.size, sha256="")
        if f.path in deferred
        else f
        for f in card.files
    ]
    return card.model_copy(update={"files": files})


def _theirs(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, with their own errors (a client gone) passed through the store unchanged."""
    try:
        yield from chunks
    except Exception as exc:
        raise CallerError(exc) from exc
