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
   objects are then deleted (``DELETE`` aborts; a bucket lifecycle rule on
   ``.uploads/`` removes the ones of abandoned sessions).

Downloads: ``GET /api/v1/presign/cards/{registry}/{uid}/files/{path}`` answers a
presigned ``GET`` URL for one file of one card, with its size and SHA-256; the
client verifies the digest as for proxied downloads.
"""

from __future__ import annotations

import contextlib
import os
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from opsml.errors import CardNotFoundError, InvalidInputError, OpsmlError
from opsml.schemas import CardCreate, CardPublic, RegistryType, check_relative_path
from opsml.storage import card_prefix
from opsml_server.api.deps import BackendDep, CurrentUser, MetricsDep, UploadsDep, WriteAccess
from opsml_server.api.routes.cards import json_response
from opsml_server.handlers import ERROR_RESPONSES, ErrorBody

UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorBody,
        "description": "The store cannot presign URLs (code presign_unsupported): "
        "transfer through the server.",
    }
}
router = APIRouter(
    prefix="/api/v1/presign", tags=["presign"], responses={**ERROR_RESPONSES, **UNSUPPORTED}
)

EXPIRES = 900
"""Seconds a presigned URL stays valid."""
STAGING = ".uploads"
SessionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Upload session id.")]
Uid = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The card's uid.")]


class PresignUnsupportedError(OpsmlError):
    """The artifact store cannot presign URLs (a folder, GCS): transfer through the server."""

    code = "presign_unsupported"
    status_code = 409


class PresignedFile(BaseModel):
    """Where to send (or fetch) one file's bytes directly."""

    path: str = Field(description="The file's relative path in the card.")
    url: str = Field(description="Presigned URL, valid for expires_in seconds.")
    method: str = Field(description="HTTP method to use with the URL.")
    size: int = Field(description="Bytes the object must have.")
    sha256: str = Field(description="The SHA-256 the bytes must have.")


class PresignedUpload(BaseModel):
    """An upload session with one presigned PUT URL per file."""

    id: str = Field(description="Session id, for the commit and abort URLs.")
    expires_in: int = Field(description="Seconds the URLs stay valid.")
    files: list[PresignedFile] = Field(description="One URL per file of the card.")


def _staging(session_id: str) -> str:
    return f"{STAGING}/{session_id}"


def _require_presign(backend: BackendDep) -> None:
    if not backend.store.can_presign:
        raise PresignUnsupportedError(
            f"this registry's {backend.store.protocol}:// store cannot presign URLs; "
            "upload and download through the server"
        )


@router.post(
    "/uploads", operation_id="create_presigned_upload", status_code=201,
    response_model=PresignedUpload,
)  # fmt: skip
def create_presigned_upload(
    card: CardCreate, backend: BackendDep, uploads: UploadsDep, user: WriteAccess
) -> PresignedUpload:
    """Open a session and presign one PUT per file (409 when the store cannot presign)."""
    _require_presign(backend)
    session = uploads.create(card, user)
    prefix = _staging(session.id)
    files = [
        PresignedFile(
            path=item.path,
            url=backend.store.presign(f"{prefix}/{item.path}", "PUT", EXPIRES),
            method="PUT",
            size=item.size,
            sha256=item.sha256,
        )
        for item in card.files
    ]
    return PresignedUpload(id=session.id, expires_in=EXPIRES, files=files)


@router.post(
    "/uploads/{session_id}/commit", operation_id="commit_presigned_upload", status_code=201,
    response_model=CardPublic,
)  # fmt: skip
def commit_presigned_upload(
    session_id: SessionId,
    backend: BackendDep,
    uploads: UploadsDep,
    metrics: MetricsDep,
    user: WriteAccess,
) -> Response:
    """Verify the uploaded objects and register the card (see the module docstring)."""
    session = uploads.get(session_id, user)
    prefix = _staging(session_id)
    for item in session.card.files:  # before a version is reserved: a cheap HEAD each
        if not backend.store.exists(f"{prefix}/{item.path}"):
            raise InvalidInputError(
                f"artifact {item.path!r} of upload session {session_id} was not uploaded; "
                "PUT it to its presigned URL before committing"
            )
    claimed = uploads.root / "committing" / session_id
    try:
        os.rename(session.root, claimed)  # once: a second commit finds nothing
    except OSError:
        raise CardNotFoundError(f"upload session {session_id} is already committed") from None
    try:
        public = backend.register_card(
            session.card, claimed / "files", actor=user, staged_prefix=prefix
        )
    finally:
        uploads.remove(claimed)
        with contextlib.suppress(OpsmlError):  # the registration's own error matters more
            backend.store.delete_prefix(prefix)
    metrics.registrations.labels(public.registry).inc()
    return json_response(public, 201)


@router.delete("/uploads/{session_id}", operation_id="abort_presigned_upload", status_code=204)
def abort_presigned_upload(
    session_id: SessionId, backend: BackendDep, uploads: UploadsDep, user: WriteAccess
) -> Response:
    """Drop a session and whatever was uploaded for it."""
    session = uploads.get(session_id, user)
    uploads.remove(session.root)
    backend.store.delete_prefix(_staging(session_id))
    return Response(status_code=204)


@router.get(
    "/cards/{registry}/{uid}/files/{path:path}", operation_id="presign_download",
    response_model=PresignedFile,
)  # fmt: skip
def presign_download(
    registry: RegistryType, uid: Uid, path: str, backend: BackendDep, user: CurrentUser
) -> PresignedFile:
    """A presigned GET URL for one file of one card (409 when the store cannot presign)."""
    check_relative_path(path)
    _require_presign(backend)
    card = backend.get_card(registry, uid=uid)
    item = card.file(path)
    key = f"{card_prefix(card.registry, card.repository, card.name, card.version)}/{item.path}"
    return PresignedFile(
        path=item.path,
        url=backend.store.presign(key, "GET", EXPIRES),
        method="GET",
        size=item.size,
        sha256=item.sha256,
    )
