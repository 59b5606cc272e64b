"""Wire models of upload sessions whose digests may come with the commit (docs/design.md §6).

A client that hashes each file while it sends it announces the files with their
sizes only (:class:`UploadCreate`), and sends the digests with the commit
(:class:`UploadDigests`); the server's own hash of what arrived must agree.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from opsml.schemas import CardCreate, RelativePath

SHA256 = r"^[0-9a-f]{64}$"


class AnnouncedFile(BaseModel):
    """A file announced to an upload session; ``sha256`` may follow with the commit.

    Example:
        >>> AnnouncedFile(path="w.bin", size=3).sha256 is None
        True

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: RelativePath
    size: int = Field(ge=0)
    sha256: Annotated[str, Field(pattern=SHA256)] | None = Field(
        default=None, description="Omitted: the client hashes while it sends (see the commit)."
    )


class UploadCreate(CardCreate):
    """The body of ``POST /api/v1/uploads``: a ``CardCreate`` whose digests may come later.

    Example:
        >>> UploadCreate(registry="run", name="n", repository="r", contact="me",
        ...              files=[{"path": "w.bin", "size": 3}]).files[0].sha256 is None
        True

    """

    files: list[AnnouncedFile] = Field(default_factory=list, max_length=10_000)  # type: ignore[assignment]


class UploadDigests(BaseModel):
    """The optional body of an upload's commit: the SHA-256 the client computed while sending.

    Example:
        >>> UploadDigests(files={"w.bin": "a" * 64}).files["w.bin"][:4]
        'aaaa'

    """

    files: dict[str, Annotated[str, Field(pattern=SHA256)]] = Field(
        default_factory=dict, description="Relative path → SHA-256, for files announced without."
    )
    signature: dict[str, Any] | None = Field(
        default=None,
        description="The card's model-signing bundle, made once the files were hashed while "
        "sent (announced at the create as a signature entry without a bundle).",
    )
