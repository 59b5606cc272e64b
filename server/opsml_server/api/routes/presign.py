"""Direct transfers with presigned URLs (S3 stores), so large artifacts skip the server.

Protocol:

1. ``POST /api/v1/presign/uploads`` with the ``CardCreate`` (every file's size and
   SHA-256). The server opens an upload session (same owner, size and TTL rules
   as ``/api/v1/uploads``) and answers one presigned ``PUT`` URL per file, valid
   for ``EXPIRES`` seconds and scoped to exactly one staging object
   ``{storage}/.uploads/{session}/{path}``: no client URL can reach a card's
   folder. A store that cannot presign answers 409 ``presign_unsupported``;
   the client then proxies.
2. The client ``PUT``s each file's bytes to its URL (no registry credentials and
   no cloud credentials are involved).
3. ``POST /api/v1/presign/uploads/{id}/commit``: the server checks every staging
   object's size, reserves the version, copies each object server-side into the
   version's folder, and reads the COPY back to hash it: a file whose size or
   SHA-256 differs from its record fails the registration (422) and nothing is
   kept. Verifying the copy rather than the staging object means a client
   rewriting its staging object after the check changes nothing. The staging
   objects are then deleted (``DELETE`` aborts; the server's periodic sweep and
   ``opsml db gc`` remove the ones of abandoned sessions after the TTL).

``GET /api/v1/presign/uploads`` answers ``{"supported": true|false}``: a client asks it
once before its first large upload, so that it hashes a file up front only when the
bytes will go straight to the store (else it hashes while the server receives them).

Downloads: ``GET /api/v1/presign/cards/{registry}/{uid}/files/{path}`` answers a
presigned ``GET`` URL for one file of one card, with its size and SHA-256; the
client verifies the digest as for proxied downloads.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from opsml.auth.roles import Role, require
from opsml.errors import UploadIncompleteError
from opsml.schemas import (
    PRESIGN_EXPIRES,
    CardCreate,
    CardPublic,
    PresignedFile,
    PresignedUpload,
    RegistryType,
    UploadTicket,
    check_relative_path,
)
from opsml_server.api.deps import (
    Actor,
    BackendDep,
    CurrentUser,
    FreshWriteAccess,
    MetricsDep,
    UploadsDep,
    WriteAccess,
    visible_card,
)
from opsml_server.api.params import FilePath
from opsml_server.api.routes.cards import json_response
from opsml_server.handlers import ERROR_RESPONSES, conflict

UNSUPPORTED = conflict(
    "The store cannot presign URLs (code presign_unsupported): transfer through the server."
)
router = APIRouter(
    prefix="/api/v1/presign", tags=["presign"], responses={**ERROR_RESPONSES, **UNSUPPORTED}
)

EXPIRES = PRESIGN_EXPIRES
"""Seconds a presigned URL stays valid."""
SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Upload session id.")]
Uid = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The card's uid.")]


class PresignSupport(BaseModel):
    """Whether this server hands out presigned upload URLs."""

    supported: bool = Field(description="True when large files go straight to the store.")


@router.get("/uploads", operation_id="presign_support", response_model=PresignSupport)
def presign_support(backend: BackendDep, user: CurrentUser) -> PresignSupport:
    """Whether the store can presign (S3), asked before a client's first large upload."""
    return PresignSupport(supported=backend.can_presign())


@router.post(
    "/uploads", operation_id="create_presigned_upload", status_code=201,
    response_model=PresignedUpload,
)  # fmt: skip
def create_presigned_upload(
    card: CardCreate, uploads: UploadsDep, user: WriteAccess
) -> PresignedUpload:
    """Open a session and presign one PUT per file (409 when the store cannot presign)."""
    uploads.check_size(card)
    require(user, Role.WRITER, card.repository)
    session = uploads.create(card, user, presigned=True, expires=EXPIRES)
    return PresignedUpload(id=session.id, expires_in=EXPIRES, files=list(session.urls))


@router.post(
    "/uploads/{session_id}/commit", operation_id="commit_presigned_upload", status_code=201,
    response_model=CardPublic,
)  # fmt: skip
def commit_presigned_upload(
    session_id: SessionId,
    backend: BackendDep,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: FreshWriteAccess,
    actor: Actor,
) -> Response:
    """Verify the uploaded objects and register the card (see the module docstring)."""
    session = uploads.begin_commit(session_id, user, staged=False)  # once: a second finds nothing
    try:
        require(user, Role.WRITER, session.card.repository)  # grants as of now, not the create
        ticket = UploadTicket(id=session_id, presigned=True)  # a client wrote the objects
        with uploads.keep_alive(session_id):
            public = backend.commit_upload(ticket, session.card, actor=actor)
    except UploadIncompleteError:
        uploads.reopen(session)  # checked before any version: the client may upload and retry
        raise
    except BaseException:
        uploads.remove(session_id)
        raise
    uploads.remove(session_id)
    metrics.registrations.labels(public.registry).inc()
    return json_response(public, 201)


@router.delete("/uploads/{session_id}", operation_id="abort_presigned_upload", status_code=204)
def abort_presigned_upload(
    session_id: SessionId, uploads: UploadsDep, user: WriteAccess
) -> Response:
    """Drop a session and whatever was uploaded for it."""
    uploads.get(session_id, user)
    uploads.remove(session_id)  # its staging objects and its rows
    return Response(status_code=204)


@router.get(
    "/cards/{registry}/{uid}/files/{path:path}", operation_id="presign_download",
    response_model=PresignedFile,
)  # fmt: skip
def presign_download(
    registry: RegistryType, uid: Uid, path: FilePath, backend: BackendDep, user: CurrentUser
) -> PresignedFile:
    """A presigned GET URL for one file of one card (409 when the store cannot presign)."""
    check_relative_path(path)
    card = visible_card(user, Role.READER, backend.get_card(registry, uid=uid))
    return backend.presign_download(card, path, expires=EXPIRES)
