"""Upload sessions: the part of the backend interface a registry server's uploads use.

A registry server takes a large registration in steps (create, one ``PUT`` per
file, commit) that may each reach a different server process. What ties them
together is an *upload session*: a record of the announced card, its owner and
the files received so far, kept by the backend (:class:`UploadSessions`, handed
out once per backend by :attr:`UploadSessionsBackend.upload_sessions`). The
bytes wait in the store's *staging* folder of the session (``.uploads/{id}/``)
until the commit moves them into the card's folder.

The server (``opsml_server``) uses only this protocol and
:class:`~opsml.backends.base.RegistryBackend`; the SQL backend implements it
(``opsml/backends/sql/_sessions.py``), the HTTP backend refuses.

Example:
    >>> from opsml.schemas import CardCreate
    >>> card = CardCreate(registry="run", name="n", repository="r", contact="me",
    ...                   files=[{"path": "a.bin", "size": 1, "sha256": "0" * 64}])
    >>> UploadSession("0" * 32, card, "alice").missing()
    ['a.bin']

"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from opsml.errors import ArtifactIntegrityError, InvalidInputError, OpsmlError
from opsml.schemas import (
    PRESIGN_EXPIRES,
    ArtifactFile,
    CardCreate,
    PresignedFile,
    UploadTicket,
)
from opsml.signatures import signature_entry


@dataclass(frozen=True)
class UploadSession:
    """An upload session as recorded: the card, its owner and the files received so far.

    ``urls`` holds the presigned ``PUT`` URL of each file of a presigned session,
    and only in what :meth:`UploadSessions.open` returns (they are not stored).
    """

    id: str
    card: CardCreate
    owner: str | None
    presigned: bool = False
    received: dict[str, tuple[int, str]] = field(default_factory=dict)
    urls: tuple[PresignedFile, ...] = ()

    @property
    def ticket(self) -> UploadTicket:
        """The backend's upload behind this session (what ``commit_upload`` takes)."""
        return UploadTicket(id=self.id, presigned=self.presigned)

    def missing(self) -> list[str]:
        """Paths announced but not received (intact) yet."""
        return [f.path for f in self.card.files if not self._arrived(f)]

    def _arrived(self, item: ArtifactFile) -> bool:
        got = self.received.get(item.path)
        if got is None or got[0] != item.size:
            return False
        return not item.sha256 or got[1] == item.sha256  # no digest yet: the commit brings it

    def settle(
        self, digests: dict[str, str], signature: dict[str, Any] | None = None
    ) -> CardCreate:
        """The card with every digest: the server's hash of what arrived, checked against
        the client's (``digests``, sent with the commit by a client that hashed while sending),
        and the ``signature`` that client made once it knew them (checked at the commit).

        Raises:
            ArtifactIntegrityError: a client digest differs from what arrived (naming the file).
            InvalidInputError: a file was announced without a digest and the commit has none.

        """
        files = []
        for item in self.card.files:
            arrived = self.received[item.path][1]
            claimed = digests.get(item.path) or item.sha256
            if not claimed:
                raise InvalidInputError(
                    f"artifact {item.path!r} was announced without a SHA-256 and the commit "
                    "carries none"
                )
            if claimed != arrived:
                raise ArtifactIntegrityError(
                    f"artifact {item.path!r} arrived with sha256 {arrived[:12]}…, but the "
                    f"client computed {claimed[:12]}…; nothing was registered"
                )
            files.append({"path": item.path, "size": item.size, "sha256": arrived})
        fields = self.card.model_dump(mode="json")
        if signature is not None:
            fields["metadata"] = {**fields["metadata"], "signature": signature_entry(signature)}
        return CardCreate.model_validate({**fields, "files": files})

    def item(self, path: str) -> ArtifactFile:
        """The record of ``path``; a path the card does not list is refused."""
        for item in self.card.files:
            if item.path == path:
                return item
        raise InvalidInputError(f"file {path!r} is not listed in upload session {self.id}")


class UploadSessions(Protocol):
    """The upload sessions of one registry, shared by every process that serves it.

    Each call stands alone (no state between calls in the caller's process), so the
    steps of one session may be served by different processes.
    """

    def open(
        self,
        card: CardCreate,
        owner: str | None,
        *,
        presigned: bool = False,
        expires: int = PRESIGN_EXPIRES,
    ) -> UploadSession:
        """Open the backend's upload of ``card`` and record its session, in one call.

        Raises:
            InvalidInputError: the card is malformed (e.g. a file listed twice).
            PresignUnsupportedError: ``presigned`` and the store cannot presign.

        """
        ...

    def get(self, session_id: str, owner: str | None) -> UploadSession:
        """The open session ``session_id`` of ``owner`` (marked as used).

        Raises:
            CardNotFoundError: no such open session of ``owner``.

        """
        ...

    def touch(self, session_id: str) -> None:
        """Mark the session as used (the sweep then keeps it for another TTL)."""
        ...

    def receive(self, session: UploadSession, path: str, chunks: Iterator[bytes]) -> ArtifactFile:
        """Stream one file of ``session`` into its staging folder, hashed on arrival.

        Raises:
            ArtifactIntegrityError: the bytes are not the announced size and SHA-256;
                nothing is kept.

        """
        ...

    def claim(self, session_id: str, owner: str | None) -> UploadSession:
        """Take the session for its commit; only one caller wins (others: not found)."""
        ...

    def release(self, session_id: str) -> None:
        """Undo :meth:`claim` (the commit found the upload incomplete; the client may retry)."""
        ...

    def drop(self, session_id: str) -> None:
        """Remove a session: its staging folder, then its record."""
        ...

    def sweep(self, ttl: timedelta) -> int:
        """Remove sessions unused for longer than ``ttl``, and staging folders no session
        owns that are as old; return how many were removed.
        """
        ...


class UploadSessionsBackend:
    """Hands out the backend's :class:`UploadSessions` (inherited by ``RegistryBackend``)."""

    @property
    def upload_sessions(self) -> UploadSessions:
        """The upload sessions of this registry, built once per backend.

        Raises:
            OpsmlError: the backend keeps no sessions of its own (the HTTP backend).

        """
        raise OpsmlError(
            f"{type(self).__name__} keeps no upload sessions: a registry server runs on "
            "a backend with its own database"
        )
