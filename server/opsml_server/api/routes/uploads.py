"""Upload sessions, for registrations too large for one request.

``POST /api/v1/uploads`` (the CardCreate) → ``PUT /api/v1/uploads/{id}/files/{path}``
(the raw bytes of each file, streamed to the staging folder and hashed while
written) → ``POST /api/v1/uploads/{id}/commit`` (registers the card). Nothing
reaches the artifact store before the commit; ``DELETE`` aborts; sessions idle
for longer than ``OPSML_UPLOAD_SESSION_TTL`` are removed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from opsml.auth.roles import Role, require
from opsml.errors import ArtifactIntegrityError, InvalidInputError
from opsml.schemas import (
    ArtifactFile,
    CardCreate,
    CardPublic,
    UploadSessionPublic,
    UploadTicket,
    check_relative_path,
)
from opsml_server.api.deps import BackendDep, MetricsDep, UploadsDep, WriteAccess
from opsml_server.api.routes.cards import BINARY, json_response
from opsml_server.handlers import ERROR_RESPONSES
from opsml_server.staging import StagedFile

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], responses=ERROR_RESPONSES)

SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Upload session id.")]
FLUSH_SIZE = 8 * 1024 * 1024
"""Bytes gathered before one hash-and-write step runs in a worker thread."""


@router.post("", operation_id="create_upload", status_code=201, response_model=UploadSessionPublic)
def create_upload(
    card: CardCreate, backend: BackendDep, uploads: UploadsDep, user: WriteAccess
) -> UploadSessionPublic:
    """Announce a registration: the card and the size and SHA-256 of every file."""
    uploads.check_size(card)
    require(user, Role.WRITER, card.repository)
    ticket = backend.create_upload(card)
    session = uploads.create(card, user, ticket.id)
    return UploadSessionPublic(id=session.id, missing=session.missing(), idle_timeout=uploads.ttl)


@router.put(
    "/{session_id}/files/{path:path}",
    operation_id="upload_file",
    response_model=ArtifactFile,
    openapi_extra={"requestBody": {"required": True, "content": BINARY}},
)
async def upload_file(
    session_id: SessionId,
    path: str,
    request: Request,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: WriteAccess,
) -> ArtifactFile:
    """Stream the raw bytes of one announced file; size and SHA-256 are checked on arrival."""
    check_relative_path(path)
    session = await run_in_threadpool(uploads.get, session_id, user)
    item = next((f for f in session.card.files if f.path == path), None)
    if item is None:
        raise InvalidInputError(f"file {path!r} is not listed in upload session {session_id}")
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) != item.size):
        raise ArtifactIntegrityError(
            f"artifact {path!r} is announced as {item.size} bytes but the request carries "
            f"{length}; nothing was stored"
        )
    staged = await run_in_threadpool(StagedFile, session.files_dir, session.parts_dir, item)
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in request.stream():
            batch.append(chunk)
            batched += len(chunk)
            if batched >= FLUSH_SIZE:
                if pending is not None:
                    await pending
                # hashed and written in a worker thread while the next batch arrives
                pending = loop.run_in_executor(None, staged.write_chunks, batch)
                batch, batched = [], 0
        if pending is not None:
            await pending
        if batch:
            await run_in_threadpool(staged.write_chunks, batch)
        await run_in_threadpool(staged.finish)
    except ClientDisconnect:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        staged.abort()
        raise InvalidInputError(f"the upload of {path!r} was cut off; nothing was stored") from None
    except BaseException:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        staged.abort()
        raise
    metrics.bytes_moved.labels("upload").inc(item.size)
    return item


@router.post(
    "/{session_id}/commit",
    operation_id="commit_upload",
    status_code=201,
    response_model=CardPublic,
)
def commit_upload(
    session_id: SessionId,
    backend: BackendDep,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: WriteAccess,
) -> Response:
    """Register the card once every announced file has arrived intact."""
    session = uploads.begin_commit(session_id, user)
    try:
        public = backend.commit_upload(
            UploadTicket(id=session.id), session.card, source_dir=session.files_dir, actor=user
        )
    finally:
        uploads.remove(session.root)
    metrics.registrations.labels(public.registry).inc()
    return json_response(public, 201)


@router.delete("/{session_id}", operation_id="abort_upload", status_code=204)
def abort_upload(session_id: SessionId, uploads: UploadsDep, user: WriteAccess) -> Response:
    """Drop an upload session and its staged files."""
    session = uploads.get(session_id, user)
    uploads.remove(session.root)
    return Response(status_code=204)
