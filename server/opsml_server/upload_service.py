"""The server's upload service: limits, TTL and streaming over the backend's upload sessions.

Nothing of a session lives on one server's disk (docs/design.md §15): the
session is a record kept by the backend
(:class:`opsml.backends.uploads.UploadSessions`, rows of the registry database
for the SQL backend) and each file's bytes go, hashed as they arrive, to the
session's staging folder in the store (``.uploads/{id}/``). The create, each PUT
and the commit of one session may therefore reach different server processes
that share the database and the store; a process killed mid-session loses
nothing that another one needs.

A PUT streams through a bounded queue (:data:`QUEUE_DEPTH` batches of about
:data:`FLUSH_SIZE` bytes) into a worker thread that hashes and writes; the
server's own hash decides whether the object is kept.
Sessions unused for longer than the TTL are removed by :meth:`UploadService.sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from fastapi.concurrency import run_in_threadpool

from opsml.errors import PayloadTooLargeError, UploadIncompleteError
from opsml.schemas import PRESIGN_EXPIRES, ArtifactFile, CardCreate
from opsml.schemas_uploads import UploadCreate

if TYPE_CHECKING:
    from opsml.backends.uploads import UploadSession, UploadSessions

logger = logging.getLogger("opsml_server.upload_service")

FLUSH_SIZE = 2 * 1024 * 1024
"""Bytes gathered from the request before they are handed to the writing thread."""
QUEUE_DEPTH = 2
"""Batches waiting for the writing thread (memory per PUT: about (depth + 2) batches)."""
_T = TypeVar("_T")
_END = object()


class UploadService:
    """The server's view of upload sessions: limits, TTL and the backend's sessions.

    Example:
        >>> import tempfile
        >>> from opsml.backends.sql import SqlBackend
        >>> root = tempfile.mkdtemp()
        >>> backend = SqlBackend(f"sqlite:///{root}/r.db", f"{root}/a")
        >>> service = UploadService(backend.upload_sessions, ttl=60, max_upload_size=10)
        >>> service.sweep()
        0

    """

    def __init__(self, sessions: UploadSessions, *, ttl: float, max_upload_size: int) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.max_upload_size = max_upload_size

    def __repr__(self) -> str:
        return f"UploadService(ttl={self.ttl})"

    def check_size(self, card: CardCreate) -> None:
        """Refuse a registration larger than the server accepts (413)."""
        total = sum(f.size for f in card.files)
        if total > self.max_upload_size:
            raise PayloadTooLargeError(
                f"the files of {card.repository}/{card.name} total {total} bytes; this "
                f"server accepts at most {self.max_upload_size} bytes per registration"
            )

    def create(
        self,
        card: CardCreate,
        owner: str | None,
        *,
        presigned: bool = False,
        expires: int = PRESIGN_EXPIRES,
    ) -> UploadSession:
        """Open a session for ``card`` (the backend's upload and its record, in one call).

        A presigned session carries one ``PUT`` URL per file (``urls``).
        """
        self.check_size(card)
        return self.sessions.open(card, owner, presigned=presigned, expires=expires)

    def get(self, session_id: str, owner: str | None) -> UploadSession:
        """The open session ``session_id`` of ``owner``; anything else is not found (404)."""
        return self.sessions.get(session_id, owner)

    def begin_commit(
        self, session_id: str, owner: str | None, *, staged: bool = True
    ) -> UploadSession:
        """Claim the session for its commit, so that it is committed once.

        A ``staged`` session must have received every file intact first (the
        session stays open, the client may upload the rest and retry); the files
        of a presigned one are in the store, which the backend checks.
        """
        session = self.sessions.claim(session_id, owner)
        missing = session.missing() if staged else []
        if missing:
            self.sessions.release(session_id)
            shown = ", ".join(repr(p) for p in missing[:5])
            raise UploadIncompleteError(
                f"upload session {session_id} is missing {len(missing)} file(s): {shown}; "
                "upload them before committing"
            )
        return session

    def reopen(self, session: UploadSession) -> None:
        """Undo :meth:`begin_commit` (the commit found the upload incomplete)."""
        self.sessions.release(session.id)

    def remove(self, session_id: str) -> None:
        """Drop a session: its staging objects and its rows."""
        self.sessions.drop(session_id)

    @contextlib.contextmanager
    def keep_alive(self, session_id: str, every: float = 30.0) -> Iterator[None]:
        """Mark the session as used every ``every`` seconds while the block runs (a long
        commit copying large files), so that the sweep never takes it from under it.
        """
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                try:
                    self.sessions.touch(session_id)
                except Exception:  # the next beat tries again; the commit goes on
                    logger.warning("could not mark upload session %s as used", session_id)

        thread = threading.Thread(target=beat, name=f"keep-alive-{session_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def sweep(self) -> int:
        """Remove sessions (and ownerless staging objects) unused for longer than the TTL."""
        return self.sessions.sweep(timedelta(seconds=self.ttl))

    async def receive(
        self, session: UploadSession, path: str, chunks: AsyncIterator[bytes]
    ) -> ArtifactFile:
        """Stream one file of ``session`` from the request into its staging object."""
        return await through_thread(
            chunks, lambda blocks: self.sessions.receive(session, path, blocks)
        )


def announced_card(body: UploadCreate) -> CardCreate:
    """The card of an upload's create; files announced without a SHA-256 keep it empty.

    Example:
        >>> body = UploadCreate(registry="run", name="n", repository="r", contact="me",
        ...                     files=[{"path": "w.bin", "size": 3}])
        >>> announced_card(body).files[0].sha256
        ''

    """
    files = [
        ArtifactFile(path=f.path, size=f.size, sha256=f.sha256)
        if f.sha256
        else ArtifactFile.model_construct(path=f.path, size=f.size, sha256="")
        for f in body.files
    ]
    card = CardCreate.model_validate(body.model_dump(mode="json", exclude={"files"}))
    return card.model_copy(update={"files": files})


async def through_thread(
    chunks: AsyncIterator[bytes], consume: Callable[[Iterator[bytes]], _T]
) -> _T:
    """Run ``consume`` in a worker thread on the bytes of ``chunks``, in bounded memory.

    The event loop gathers about :data:`FLUSH_SIZE` bytes at a time and hands
    them over through a queue of :data:`QUEUE_DEPTH`; when ``consume`` fails
    (bytes over the record), reading stops; when ``chunks`` fails (the client
    went away), ``consume`` sees the error and keeps nothing.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)

    def blocks() -> Iterator[bytes]:
        while (batch := handoff.get()) is not _END:
            if isinstance(batch, BaseException):
                raise batch
            assert isinstance(batch, list)
            yield from batch

    task = asyncio.ensure_future(run_in_threadpool(consume, blocks()))

    async def hand(item: object) -> None:
        while not task.done():
            try:
                handoff.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.002)

    def abort(exc: BaseException) -> None:
        """Wake the writer with ``exc`` (the queue is emptied first: this never blocks)."""
        while True:
            try:
                handoff.get_nowait()
            except queue.Empty:
                break
        handoff.put_nowait(exc)

    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in chunks:
            batch.append(chunk)
            batched += len(chunk)
            if batched >= FLUSH_SIZE:
                await hand(batch)
                batch, batched = [], 0
            if task.done():
                break
        await hand(batch)
        await hand(_END)
    except BaseException as exc:
        abort(exc)
        await asyncio.shield(asyncio.gather(task, return_exceptions=True))
        raise
    return await task
