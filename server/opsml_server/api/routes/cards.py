"""Cards: list, find, get, register (single request), update, delete, download files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from opsml.auth.roles import Role, require
from opsml.backends.base import RegistryBackend
from opsml.errors import InvalidInputError
from opsml.schemas import (
    CardCreate,
    CardPublic,
    CardUpdate,
    NextVersion,
    Page,
    RegistryType,
    VersionType,
    check_relative_path,
)
from opsml_server.api.deps import (
    Actor,
    BackendDep,
    CurrentUser,
    MetricsDep,
    SettingsDep,
    UploadsDep,
    WriteAccess,
    readable_repositories,
    visible_card,
)
from opsml_server.api.params import (
    FilePath,
    NameQuery,
    OptionalNameQuery,
    RepositoriesQuery,
    RepositoryQuery,
)
from opsml_server.api.routes.listing import QueryDep, readable
from opsml_server.downloads import artifact_response
from opsml_server.handlers import ERROR_RESPONSES, VERSION_TAKEN, ErrorBody, conflict

router = APIRouter(prefix="/api/v1/cards", tags=["cards"], responses=ERROR_RESPONSES)

MAX_FILES = 10_000
READ_SIZE = 4 * 1024 * 1024
"""Bytes read at a time from a request's file part."""
Uid = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The card's uid.")]

MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["card"],
                    "properties": {
                        "card": {
                            "$ref": "#/components/schemas/CardCreate",
                            "description": "The CardCreate, as a JSON part.",
                        },
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per file of card.files; the part's "
                            "filename is the file's relative path.",
                        },
                    },
                },
                "encoding": {"card": {"contentType": "application/json"}},
            }
        },
    }
}

BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def json_response(model: CardPublic | Page, status_code: int = 200) -> Response:
    """Serialize a wire model (no second validation pass)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.get("/{registry}", operation_id="list_cards", response_model=Page)
def list_cards(
    registry: RegistryType, query: QueryDep, backend: BackendDep, user: CurrentUser
) -> Response:
    """Cards matching every given filter, newest first (full cards; ``/page`` for light rows)."""
    body = backend.list_cards_json(registry, readable(user, query))
    return Response(body, media_type="application/json")


@router.get("/{registry}/resolve", operation_id="find_card", response_model=CardPublic)
def find_card(
    registry: RegistryType,
    backend: BackendDep,
    user: CurrentUser,
    name: NameQuery,
    repository: OptionalNameQuery = None,
    version: Annotated[str | None, Query(description="Exact, partial, range or 'latest'.")] = None,
    repositories: RepositoriesQuery = None,
) -> Response:
    """One card by name (and repository) and a version spec: the highest match.

    Without ``repository``, only the repositories the caller may read count: a
    name that exists elsewhere only is not found, and one readable copy is found
    whatever other repositories hold the name.
    """
    if repository is not None:
        require(user, Role.READER, repository)  # before the lookup: the answer tells nothing
    else:
        allowed = readable_repositories(user)
        if allowed is not None:
            wanted = set(repositories) if repositories is not None else None
            repositories = [r for r in allowed if wanted is None or r in wanted]
    card = backend.get_card(
        registry, name=name, repository=repository, version=version, repositories=repositories
    )
    return json_response(card)


@router.get("/{registry}/next-version", operation_id="next_version", response_model=NextVersion)
def next_version(
    registry: RegistryType,
    backend: BackendDep,
    user: CurrentUser,
    name: NameQuery,
    repository: RepositoryQuery,
    version_type: VersionType = "minor",
) -> NextVersion:
    """The version a registration of ``repository/name`` with this bump would get now."""
    require(user, Role.READER, repository)
    return NextVersion(version=backend.next_version(registry, name, repository, version_type))


@router.get("/{registry}/{uid}", operation_id="get_card", response_model=CardPublic)
def get_card(registry: RegistryType, uid: Uid, backend: BackendDep, user: CurrentUser) -> Response:
    """One card by uid."""
    return json_response(visible_card(user, Role.READER, backend.get_card(registry, uid=uid)))


@router.patch("/{registry}/{uid}", operation_id="update_card", response_model=CardPublic)
def update_card(
    registry: RegistryType,
    uid: Uid,
    update: CardUpdate,
    backend: BackendDep,
    user: WriteAccess,
    actor: Actor,
) -> Response:
    """Change tags, description or kind metadata; artifacts never change."""
    visible_card(user, Role.WRITER, backend.get_card(registry, uid=uid))
    return json_response(backend.update_card(registry, uid, update, actor=actor))


@router.delete(
    "/{registry}/{uid}",
    operation_id="delete_card",
    status_code=204,
    responses=conflict("An alias points to the card, or a target serves it."),
)
def delete_card(
    registry: RegistryType, uid: Uid, backend: BackendDep, user: WriteAccess, actor: Actor
) -> Response:
    """Remove a card and its artifacts; its version is never given again."""
    visible_card(user, Role.ADMIN, backend.get_card(registry, uid=uid))
    backend.delete_card(registry, uid, actor=actor)
    return Response(status_code=204)


@router.post(
    "/{registry}",
    operation_id="register_card",
    status_code=201,
    responses=VERSION_TAKEN,
    response_model=CardPublic,
    openapi_extra=MULTIPART_BODY,
)
async def register_card(
    registry: RegistryType,
    request: Request,
    backend: BackendDep,
    uploads: UploadsDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    user: WriteAccess,
    actor: Actor,
) -> Response:
    """Register a card and its (small) files in one multipart request.

    The server hashes every file while staging it and commits the card only when
    all of them match their records. Large registrations use ``/api/v1/uploads``.
    """
    form = await request.form(
        max_files=MAX_FILES, max_fields=8, max_part_size=settings.max_inline_size
    )
    try:
        raw = form.get("card")
        if not isinstance(raw, str):
            raise InvalidInputError("the 'card' form field (the CardCreate as JSON) is missing")
        card = CardCreate.model_validate_json(raw)
        require(user, Role.WRITER, card.repository)
        if card.registry != registry:
            raise InvalidInputError(
                f"a {card.registry} card cannot be registered in the {registry} registry"
            )
        uploads.check_size(card)
        files = form.getlist("files")
        public = await run_in_threadpool(_register_inline, backend, card, files, actor)
    finally:
        await form.close()
    metrics.registrations.labels(registry).inc()
    metrics.bytes_moved.labels("upload").inc(sum(f.size for f in card.files))
    return json_response(public, 201)


def _read_all(handle: BinaryIO) -> Iterator[bytes]:
    """The bytes of a request's file part, :data:`READ_SIZE` at a time."""
    while chunk := handle.read(READ_SIZE):
        yield chunk


def _register_inline(
    backend: RegistryBackend,
    card: CardCreate,
    files: list[Any],
    actor: str | None,
) -> CardPublic:
    """Check the form's files against the card, then stream each into the store.

    The files go straight to their final keys, hashed as they are stored
    (``register_streams``): no staging copy, no session rows. A file that does
    not match its record fails the registration and nothing is kept.
    """
    parts = _parts_by_path(card, files)
    source = lambda item: _read_all(parts[item.path].file)  # noqa: E731
    return backend.register_streams(card, source, actor=actor)


def _parts_by_path(card: CardCreate, files: list[Any]) -> dict[str, UploadFile]:
    """The form's file parts by path: each listed in the card, none twice, none missing."""
    records = {f.path for f in card.files}
    parts: dict[str, UploadFile] = {}
    for upload in files:
        if not isinstance(upload, UploadFile):
            raise InvalidInputError("'files' parts must be files (with a filename)")
        path = check_relative_path(upload.filename or "")
        if path not in records:
            raise InvalidInputError(f"file {path!r} is not listed in the card's files")
        if path in parts:
            raise InvalidInputError(f"file {path!r} is sent twice")
        parts[path] = upload
    missing = [p for p in records if p not in parts]
    if missing:
        raise InvalidInputError(
            f"{len(missing)} file(s) of the card were not sent: "
            + ", ".join(repr(p) for p in missing[:5])
        )
    return parts


@router.get(
    "/{registry}/{uid}/files/{path:path}",
    operation_id="download_file",
    response_class=StreamingResponse,
    responses={
        200: {"content": BINARY, "description": "The whole file."},
        206: {"content": BINARY, "description": "The requested byte range."},
        416: {"model": ErrorBody, "description": "The range lies outside the file."},
    },
)
def download_file(
    registry: RegistryType,
    uid: Uid,
    path: FilePath,
    backend: BackendDep,
    metrics: MetricsDep,
    user: CurrentUser,
    range: Annotated[str | None, Header(description="bytes=START-[END]")] = None,
) -> Response:
    """Stream one artifact; supports ``Range`` (206, ``Content-Range``; 416 when unsatisfiable).

    ``ETag`` and ``X-Opsml-Sha256`` carry the file's recorded SHA-256; the client
    verifies it.
    """
    check_relative_path(path)
    card = visible_card(user, Role.READER, backend.get_card(registry, uid=uid))
    artifact = backend.open_artifact(card, path)
    return artifact_response(artifact, range, metrics.bytes_moved.labels("download").inc)
