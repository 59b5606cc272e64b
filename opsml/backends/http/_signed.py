"""Signed cards over HTTP: the next version, and signing once an upload session hashed the files.

A signed registration needs every file's SHA-256 before it is signed. Over a
registry server's upload session the client hashes each file while it sends
it; signing then, and sending the bundle with the commit, keeps "each byte read
once" for signed cards too (hashing up front would read 256 MiB twice).

Example:
    >>> backend.register_signed_later(card, staging, sign)  # doctest: +SKIP

"""

from __future__ import annotations

import abc
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from opsml.backends.http import _transfers
from opsml.errors import OpsmlError

if TYPE_CHECKING:
    from opsml.backends.base import ProgressCallback, Signer
    from opsml.backends.http._transport import Transport
    from opsml.schemas import CardCreate, CardPublic, RegistryType, UploadTicket


class SignedUploads(abc.ABC):
    """What the HTTP backend adds for signed cards: ``next_version`` and
    :meth:`register_signed_later`.
    """

    transport: Transport

    @abc.abstractmethod
    def abort_upload(self, ticket: UploadTicket) -> None:
        """Drop an upload (see :meth:`RegistryBackend.abort_upload`)."""

    def next_version(
        self, registry: RegistryType, name: str, repository: str, version_type: str = "minor"
    ) -> str:
        """See :meth:`RegistryBackend.next_version`."""
        from opsml.schemas import NextVersion

        params = {"name": name, "repository": repository, "version_type": version_type}
        url = self.transport.api("cards", registry, "next-version")
        return self.transport.get_model(NextVersion, url, params=params).version

    def signs_after_send(self) -> bool:
        """See :meth:`RegistryBackend.signs_after_send`: yes, at an upload session's commit."""
        return True

    def register_signed_later(
        self,
        card: CardCreate,
        source_dir: Path,
        sign: Signer,
        *,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """Register ``card`` (its signature entry :data:`~opsml.signatures.SIGNED_AT_COMMIT`)
        through an upload session; ``sign(files)`` runs once every digest is known and
        the bundle goes with the commit, where the server checks it like any signature.
        """
        ticket = _transfers.open_session(self.transport, card)
        try:
            return _transfers.commit_session(
                self.transport, ticket, card, Path(source_dir), progress, sign=sign
            )
        except BaseException:
            with contextlib.suppress(OpsmlError):  # else the server sweeps it later
                self.abort_upload(ticket)
            raise
