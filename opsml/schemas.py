"""Wire models shared by the client, the backends and the server.

Both sides serialize with these models; no hand-built dicts cross a boundary.
Database rows never leave the SQL backend: callers get :class:`CardPublic`.

Example:
    >>> f = ArtifactFile(path="model/model.skops", size=10, sha256="0" * 64)
    >>> f.path
    'model/model.skops'

"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from opsml.card_kinds import REGISTRY_TYPES as REGISTRY_TYPES  # the kinds, listed once there
from opsml.card_kinds import RegistryType as RegistryType
from opsml.errors import InvalidInputError, UnsafePathError
from opsml.schemas_aliases import RESERVED_ALIASES as RESERVED_ALIASES
from opsml.schemas_aliases import AliasPage as AliasPage  # alias wire models live there
from opsml.schemas_aliases import AliasPublic as AliasPublic
from opsml.schemas_aliases import AliasSet as AliasSet
from opsml.schemas_aliases import check_alias as check_alias
from opsml.schemas_aliases import check_alias_target as check_alias_target
from opsml.schemas_aliases import check_new_alias as check_new_alias
from opsml.schemas_listing import CardCount as CardCount  # light list rows live there
from opsml.schemas_listing import CardPage as CardPage
from opsml.schemas_listing import CardSummary as CardSummary
from opsml.schemas_listing import NextVersion as NextVersion
from opsml.schemas_rules import MAX_PATH_LENGTH, NAME_PATTERN, PATH_PATTERN, TAGS_SCHEMA

ModelT = TypeVar("ModelT", bound=BaseModel)

VersionType = Literal["major", "minor", "patch", "pre", "build"]
VERSION_TYPES: tuple[str, ...] = ("major", "minor", "patch", "pre", "build")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PATH_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.+=@,() -]{1,255}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_UID_RE = re.compile(r"[0-9a-f]{32}")


def check_name(value: str) -> str:
    """Validate a card name or repository: letters, digits, ``.``, ``_``, ``-``; 1-128 chars.

    Example:
        >>> check_name("churn-model")
        'churn-model'

    """
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{value!r} is not a valid name: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def check_uid(uid: object) -> str:
    """``uid`` when it is a card uid (32 lowercase hex), else :class:`InvalidInputError`.

    Example:
        >>> check_uid("0" * 32) == "0" * 32
        True

    """
    if not isinstance(uid, str) or not _UID_RE.fullmatch(uid):
        raise InvalidInputError(f"{uid!r} is not a card uid (32 lowercase hex characters)")
    return uid


def check_relative_path(value: str) -> str:
    """Validate an artifact path relative to its card's folder, or raise UnsafePathError.

    Refuses anything that could leave the folder or be read two ways: ``..`` or
    ``.`` segments, absolute paths, backslashes, NUL and control characters,
    percent signs (encoded forms), empty segments, segments that start or end with
    whitespace (a path of only spaces among them).

    Example:
        >>> check_relative_path("model/model.skops")
        'model/model.skops'
        >>> check_relative_path("../etc/passwd")
        Traceback (most recent call last):
        ...
        opsml.errors.UnsafePathError: unsafe artifact path '../etc/passwd': ...

    """
    if not isinstance(value, str) or not value:
        raise UnsafePathError("artifact path must be a non-empty string")
    why = None
    if len(value) > MAX_PATH_LENGTH:
        why = f"longer than {MAX_PATH_LENGTH} characters"
    elif value.startswith("/") or _DRIVE_RE.match(value):
        why = "absolute paths are not allowed"
    elif "\\" in value:
        why = "backslashes are not allowed"
    elif "%" in value:
        why = "percent-encoded forms are not allowed"
    elif _CONTROL_RE.search(value):
        why = "NUL and control characters are not allowed"
    else:
        for segment in value.split("/"):
            if segment in ("", ".", ".."):
                why = "empty, '.' and '..' segments are not allowed"
                break
            if segment != segment.strip():
                why = f"segment {segment!r} starts or ends with whitespace"
                break
            if not _PATH_SEGMENT_RE.fullmatch(segment):
                why = f"segment {segment!r} has characters outside [A-Za-z0-9_.+=@,() -]"
                break
    if why:
        raise UnsafePathError(f"unsafe artifact path {value!r}: {why}")
    return value


def _check_path_for_model(value: str) -> str:
    try:
        return check_relative_path(value)
    except UnsafePathError as exc:
        raise ValueError(exc.message) from None


def _check_tags(value: dict[str, str]) -> dict[str, str]:
    for key, val in value.items():
        if not key or len(key) > 128 or len(val) > 1024:
            raise ValueError("tag keys must have 1-128 characters and values at most 1024")
    return value


Name = Annotated[
    str, AfterValidator(check_name), Field(json_schema_extra={"pattern": NAME_PATTERN})
]
RelativePath = Annotated[
    str, AfterValidator(_check_path_for_model), Field(json_schema_extra={"pattern": PATH_PATTERN})
]
Tags = Annotated[dict[str, str], AfterValidator(_check_tags), Field(json_schema_extra=TAGS_SCHEMA)]


class ArtifactFile(BaseModel):
    """One stored file of a card: its path inside the card's folder, size and SHA-256.

    Example:
        >>> ArtifactFile(path="data/data.parquet", size=1, sha256="a" * 64).size
        1

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: RelativePath
    size: int = Field(ge=0)
    sha256: Annotated[str, Field(pattern=_SHA256_RE.pattern)]


class CardBase(BaseModel):
    """Fields every card shares on the wire."""

    model_config = ConfigDict(extra="forbid")

    registry: RegistryType
    name: Name
    repository: Name
    contact: str = Field(min_length=1, max_length=256)
    tags: Tags = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=100_000)
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific metadata (JSON, never pickled)."
    )


class CardCreate(CardBase):
    """A registration request: card fields, the bump (or an explicit version), the files.

    Example:
        >>> CardCreate(registry="model", name="churn", repository="ds", contact="me").version_type
        'minor'

    """

    version: str | None = Field(default=None, description="Explicit version; else bumped.")
    version_type: VersionType = "minor"
    created_by: str | None = Field(default=None, max_length=256)
    uid: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$", description="Client-chosen uid, else generated."
    )
    files: list[ArtifactFile] = Field(default_factory=list, max_length=10_000)


class CardUpdate(BaseModel):
    """A metadata-only change: tags, description, and kind metadata (e.g. metrics).

    Fields left ``None`` keep their value. ``metadata`` keys are merged in.

    Example:
        >>> CardUpdate(tags={"stage": "prod"}).description is None
        True

    """

    model_config = ConfigDict(extra="forbid")

    tags: Tags | None = None
    description: str | None = Field(default=None, max_length=100_000)
    metadata: dict[str, Any] | None = None


class CardPublic(CardBase):
    """A registered card as every backend returns it.

    Example:
        >>> from datetime import datetime, timezone
        >>> c = CardPublic(registry="run", name="r", repository="ds", contact="me",
        ...                uid="0" * 32, version="1.0.0",
        ...                created_at=datetime.now(timezone.utc))
        >>> c.version
        '1.0.0'

    """

    uid: str
    version: str
    created_at: datetime
    created_by: str | None = None
    updated_at: datetime | None = None
    files: list[ArtifactFile] = Field(default_factory=list)

    def file(self, path: str) -> ArtifactFile:
        """The record of one artifact, or :class:`~opsml.errors.ArtifactNotFoundError`."""
        from opsml.errors import ArtifactNotFoundError

        for item in self.files:
            if item.path == path:
                return item
        raise ArtifactNotFoundError(
            f"{self.registry} card {self.repository}/{self.name} v{self.version} "
            f"has no artifact {path!r}"
        )


class CardQuery(BaseModel):
    """Filters for listing cards; every field is optional. Results are newest first.

    Example:
        >>> CardQuery(name="churn", limit=10).limit
        10

    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    repository: Name | None = None
    version: str | None = Field(default=None, description="A version or spec, e.g. '^1.2'.")
    tags: Tags | None = None
    limit: int = Field(default=50, ge=1, le=1000)
    search: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Part of the name or repository, any case (served by the database).",
    )
    links_to: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="Only cards whose lineage references this card uid.",
    )
    repositories: list[Name] | None = Field(
        default=None, max_length=1000, description="Only cards of one of these repositories."
    )
    cursor: str | None = Field(
        default=None,
        max_length=256,
        description="The next_cursor of the previous page of the same query (list_page).",
    )


class Page(BaseModel):
    """A page of cards, newest first."""

    items: list[CardPublic]


PRESIGN_EXPIRES = 900
"""Seconds a presigned URL stays valid."""


class PresignedFile(BaseModel):
    """Where to send (or fetch) one file's bytes directly.

    Example:
        >>> PresignedFile(path="a.bin", url="https://s3/x", method="GET", size=1, sha256="0").method
        'GET'

    """

    path: str = Field(description="The file's relative path in the card.")
    url: str = Field(description="Presigned URL, valid for expires_in seconds.")
    method: str = Field(description="HTTP method to use with the URL.")
    size: int = Field(description="Bytes the object must have.")
    sha256: str = Field(description="The SHA-256 the bytes must have.")


class PresignedUpload(BaseModel):
    """An upload session with one presigned PUT URL per file (the wire answer)."""

    id: str = Field(description="Session id, for the commit and abort URLs.")
    expires_in: int = Field(description="Seconds the URLs stay valid.")
    files: list[PresignedFile] = Field(description="One URL per file of the card.")


class UploadSessionPublic(BaseModel):
    """An open (staged) upload session (the wire answer)."""

    id: str = Field(description="Session id, for the PUT and commit URLs.")
    missing: list[str] = Field(description="Files still to upload.")
    idle_timeout: float = Field(description="Seconds of inactivity after which it is removed.")


class UploadTicket(BaseModel):
    """An upload a backend has opened: what ``commit_upload`` and ``abort_upload`` take.

    A *staged* upload (``presigned=False``) commits files from a local folder;
    a *presigned* one carries one ``PUT`` URL per file, to which the bytes go
    directly before the commit.

    Example:
        >>> UploadTicket(id="0" * 32).presigned
        False

    """

    id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Upload id (32 lowercase hex).")
    presigned: bool = Field(default=False, description="True when the bytes go to URLs.")
    expires_in: int | None = Field(default=None, description="Seconds the URLs stay valid.")
    files: list[PresignedFile] = Field(
        default_factory=list, description="One presigned PUT per file (presigned uploads)."
    )


def validation_message(exc: ValidationError) -> str:
    """One line naming every invalid field and why.

    Example:
        >>> try:
        ...     CardQuery(limit=0)
        ... except ValidationError as exc:
        ...     print(validation_message(exc))
        limit: Input should be greater than or equal to 1

    """
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "value"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def build(model: type[ModelT], **data: Any) -> ModelT:
    """Validate ``data`` into ``model``, raising :class:`InvalidInputError` instead of pydantic's.

    Example:
        >>> build(CardQuery, name="churn").name
        'churn'

    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(validation_message(exc)) from None
