"""Upload sessions, for registrations too large for one request.

``POST /api/v1/uploads`` (the CardCreate) → ``PUT /api/v1/uploads/{id}/files/{path}``
(the raw bytes of each file, streamed to a staging object of the store and
hashed while written) → ``POST /api/v1/uploads/{id}/commit`` (registers the
card: the staging objects move into the card's folder). The session is a row
of the registry database, so each of these requests may reach a different
server process; ``DELETE`` aborts; sessions idle for longer than
``OPSML_UPLOAD_SESSION_TTL`` are removed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from opsml.auth.roles import Role, require
from opsml.errors import ArtifactIntegrityError, InvalidInputError
from opsml.schemas import (
    ArtifactFile,
    CardPublic,
    UploadSessionPublic,
    check_relative_path,
)
from opsml.schemas_uploads import UploadCreate, UploadDigests
from opsml_server.api.deps import (
    Actor,
    BackendDep,
    FreshWriteAccess,
    MetricsDep,
    UploadsDep,
    WriteAccess,
)
from opsml_server.api.params import FilePath
from opsml_server.api.routes.cards import BINARY, json_response
from opsml_server.handlers import ERROR_RESPONSES, VERSION_TAKEN
from opsml_server.upload_service import announced_card

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], responses=ERROR_RESPONSES)

SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Upload session id.")]


@router.post(
    "",
    operation_id="create_upload",
    status_code=201,
    response_model=UploadSessionPublic,
    responses=VERSION_TAKEN,
)
def create_upload(
    body: UploadCreate, uploads: UploadsDep, user: WriteAccess
) -> UploadSessionPublic:
    """Announce a registration: the card and the size (and SHA-256) of every file.

    A file announced without its SHA-256 is hashed by the server as it arrives;
    the client sends its own digest with the commit, and the two must agree.
    """
    card = announced_card(body)
    uploads.check_size(card)
    require(user, Role.WRITER, card.repository)
    session = uploads.create(card, user)
    return UploadSessionPublic(id=session.id, missing=session.missing(), idle_timeout=uploads.ttl)


@router.put(
    "/{session_id}/files/{path:path}",
    operation_id="upload_file",
    response_model=ArtifactFile,
    openapi_extra={"requestBody": {"required": True, "content": BINARY}},
)
async def upload_file(
    session_id: SessionId,
    path: FilePath,
    request: Request,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: WriteAccess,
) -> ArtifactFile:
    """Stream the raw bytes of one announced file; size and SHA-256 are checked on arrival."""
    check_relative_path(path)
    session = await run_in_threadpool(uploads.get, session_id, user)
    item = session.item(path)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) != item.size):
        raise ArtifactIntegrityError(
            f"artifact {path!r} is announced as {item.size} bytes but the request carries "
            f"{length}; nothing was stored"
        )
    try:
        await uploads.receive(session, path, request.stream())
    except ClientDisconnect:
        raise InvalidInputError(f"the upload of {path!r} was cut off; nothing was stored") from None
    metrics.bytes_moved.labels("upload").inc(item.size)
    return item


@router.post(
    "/{session_id}/commit",
    operation_id="commit_upload",
    status_code=201,
    responses=VERSION_TAKEN,
    response_model=CardPublic,
)
def commit_upload(
    session_id: SessionId,
    backend: BackendDep,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: FreshWriteAccess,
    actor: Actor,
    digests: UploadDigests | None = None,
) -> Response:
    """Register the card once every announced file has arrived intact.

    The optional body carries the SHA-256 of files announced without one (a
    client that hashed while sending); each must equal the server's own hash of
    what arrived, else 422 naming the file and nothing is registered. The
    caller's role is checked again here, from the database (not a cached
    credential): a ``writer`` grant revoked since the create is refused (403)
    and nothing is registered.
    """
    session = uploads.begin_commit(session_id, user)  # once: a second caller finds nothing
    try:
        require(user, Role.WRITER, session.card.repository)
        card = session.settle(*((digests.files, digests.signature) if digests else ({}, None)))
        with uploads.keep_alive(session.id):
            public = backend.commit_upload(session.ticket, card, actor=actor)
    finally:
        uploads.remove(session.id)
    metrics.registrations.labels(public.registry).inc()
    return json_response(public, 201)


@router.delete("/{session_id}", operation_id="abort_upload", status_code=204)
def abort_upload(session_id: SessionId, uploads: UploadsDep, user: WriteAccess) -> Response:
    """Drop an upload session and its staged files."""
    uploads.get(session_id, user)
    uploads.remove(session_id)
    return Response(status_code=204)
