"""The HTTP backend: talks to a registry server (see :class:`RegistryBackend` for the contract).

Data scientists only set ``OPSML_TRACKING_URI=http(s)://…`` (and, where auth is
on, ``OPSML_USERNAME``/``OPSML_PASSWORD``); the server holds every database
and storage credential. Errors the server reports come back as the same
:class:`~opsml.errors.OpsmlError` subclasses as in embedded mode. The server
checks every file's size and SHA-256 before it commits a card; the base class
verifies downloads. The wire protocol is described in
:mod:`opsml.backends.http._transfers` and :mod:`opsml.backends.http._presigned`.

Example:
    >>> backend = HttpBackend("http://registry:8080", username="ds", password="s3cret")
    >>> backend
    HttpBackend('http://registry:8080', username='ds', password='***')
    >>> backend.close()

"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

from opsml.auth.actor import declared_actor
from opsml.backends.base import ArtifactReader, FileSource, ProgressCallback, RegistryBackend
from opsml.backends.http import _streamed, _transfers
from opsml.backends.http._aliases import HttpAliasesMixin
from opsml.backends.http._approvals import HttpApprovalsMixin
from opsml.backends.http._deployments import HttpDeploymentsMixin
from opsml.backends.http._identity_mixin import HttpIdentityMixin
from opsml.backends.http._presigned import PresignedTransfers
from opsml.backends.http._signed import SignedUploads
from opsml.backends.http._transport import Transport, secret, strip_userinfo
from opsml.errors import CardNotFoundError, InvalidInputError, OpsmlError, PresignUnsupportedError
from opsml.schemas import (
    PRESIGN_EXPIRES,
    ArtifactFile,
    CardCount,
    CardCreate,
    CardPage,
    CardPublic,
    CardQuery,
    CardUpdate,
    Page,
    PresignedFile,
    RegistryType,
    UploadTicket,
    check_alias_target,
    check_relative_path,
    check_uid,
)

if TYPE_CHECKING:
    from opsml.config import OpsmlSettings

__all__ = ["HttpBackend"]

INLINE_LIMIT = 8 * 1024 * 1024
"""Registrations whose files total at most this go up in one multipart request."""


def _query_params(query: CardQuery) -> list[tuple[str, str | int]]:
    """The query string of a listing (``tags`` as JSON, ``repositories`` repeated)."""
    params: list[tuple[str, str | int]] = [("limit", query.limit)]
    for key in ("name", "repository", "version", "search", "links_to", "cursor"):
        value = getattr(query, key)
        if value is not None:
            params.append((key, value))
    if query.tags:
        params.append(("tags", json.dumps(query.tags)))
    params += [("repositories", repo) for repo in query.repositories or []]
    return params


def _check_sources(card: CardCreate, source_dir: Path) -> Path:
    for item in card.files:
        if not (source_dir / check_relative_path(item.path)).is_file():
            raise InvalidInputError(
                f"artifact {item.path!r} is listed but missing from {source_dir}"
            )
    return source_dir


class HttpBackend(
    HttpAliasesMixin,
    HttpApprovalsMixin,
    HttpDeploymentsMixin,
    HttpIdentityMixin,
    SignedUploads,
    RegistryBackend,
):
    """Registry behind a registry server, over one pooled ``httpx.Client``.

    Args:
        base_url: the server, e.g. ``http://registry:8080`` (a path prefix is kept).
        username: basic-auth user name, sent when set.
        password: basic-auth password.
        token: service token, sent as ``Authorization: Bearer`` (instead of basic auth).
        prod_token: production write token, sent as ``X-Opsml-Prod-Token``.
        actor: who this client declares it is, sent as ``X-Opsml-Actor`` with every
            write; default the OS user (``OPSML_ACTOR``'s default). Only a server
            without authentication records it (docs/security.md).
        client: an ``httpx.Client`` to use (FastAPI's ``TestClient`` is one); the
            backend then does not close it.
        timeout: seconds to wait for the server at each step (connect, each read).
        retries: attempts after the first for idempotent calls (GET) on
            connection errors and 502/503/504, with exponential backoff.
        inline_limit: largest total file size sent in a single request.

    """

    presign: bool = True
    """Move files larger than ``inline_limit`` directly to/from the store with presigned
    URLs when the server offers them (S3); see :mod:`opsml.backends.http._presigned`."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        prod_token: str | SecretStr | None = None,
        actor: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        inline_limit: int = INLINE_LIMIT,
    ) -> None:
        url, url_user, url_password = strip_userinfo(base_url.rstrip("/"))
        self.base_url = url
        self.username = username if username is not None else url_user
        self._password = SecretStr(secret(password) or url_password or "")
        self._prod_token = SecretStr(secret(prod_token) or "")
        self.timeout = timeout
        self.retries = retries
        self.inline_limit = inline_limit
        self._token = SecretStr(secret(token) or "")
        auth = (
            httpx.BasicAuth(self.username, self._password.get_secret_value())
            if self.username is not None and not self._token.get_secret_value()
            else None
        )
        self.transport = Transport(
            url, auth=auth, prod_token=self._prod_token.get_secret_value(), client=client,
            token=self._token.get_secret_value(), actor=declared_actor(actor),
            timeout=timeout, retries=retries,
        )  # fmt: skip
        self._client = self.transport.client  # kept for callers that count requests
        self.presigned = PresignedTransfers(self.transport)

    @property
    def actor(self) -> str | None:
        """The declared actor sent with every write: the one given, else the OS user (or none)."""
        return self.transport.actor

    @actor.setter
    def actor(self, value: str | None) -> None:
        self.transport.actor = declared_actor(value)

    @property
    def _presign_ok(self) -> bool | None:  # None: not asked yet
        return self.presigned.supported

    @classmethod
    def from_settings(cls, settings: OpsmlSettings) -> HttpBackend:
        """The backend for ``settings.tracking_uri`` and its credentials."""
        assert settings.tracking_uri is not None
        backend = cls(
            settings.tracking_uri,
            username=settings.username,
            password=settings.password,
            token=settings.token,
            prod_token=settings.prod_token,
            actor=settings.actor,
            timeout=settings.request_timeout,
        )
        return backend

    def __repr__(self) -> str:
        parts = [repr(self.base_url)]
        if self.username is not None:
            parts += [f"username={self.username!r}", "password='***'"]
        if self._token.get_secret_value():
            parts.append("token='***'")
        if self._prod_token.get_secret_value():
            parts.append("prod_token='***'")
        return f"HttpBackend({', '.join(parts)})"

    def location(self) -> str:
        """The server's URL without user info (see :meth:`RegistryBackend.location`).

        Example:
            >>> HttpBackend("http://ds:pw@registry:8080/").location()
            'http://registry:8080'

        """
        return self.base_url

    def close(self) -> None:
        """Close the connection pool (an injected client is left open)."""
        self.transport.close()

    def check(self) -> None:
        """Raise :class:`BackendUnavailableError` unless the server is ready."""
        self.transport.send("GET", self.transport.url("readyz"))

    def _direct(self, size: int) -> bool:
        """Whether ``size`` bytes try presigned URLs (asked once: no up-front hash if not)."""
        return self.presign and size > self.inline_limit and self.presigned.probe() is not False

    # -- reads -----------------------------------------------------------------------

    def list_cards(self, registry: RegistryType, query: CardQuery) -> list[CardPublic]:
        """See :meth:`RegistryBackend.list_cards`."""
        if query.repositories == []:  # no repository allowed (a query string cannot say so)
            return []
        url = self.transport.api("cards", registry)
        return self.transport.get_model(Page, url, params=_query_params(query)).items

    def list_page(self, registry: RegistryType, query: CardQuery) -> CardPage:
        """See :meth:`RegistryBackend.list_page`."""
        if query.repositories == []:
            return CardPage(items=[])
        url = self.transport.api("cards", registry, "page")
        return self.transport.get_model(CardPage, url, params=_query_params(query))

    def count_cards(self, registry: RegistryType, query: CardQuery) -> int:
        """See :meth:`RegistryBackend.count_cards`."""
        if query.repositories == []:
            return 0
        url = self.transport.api("cards", registry, "count")
        return self.transport.get_model(CardCount, url, params=_query_params(query)).count

    def get_card(
        self,
        registry: RegistryType,
        *,
        uid: str | None = None,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
        alias: str | None = None,
        repositories: Sequence[str] | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.get_card`."""
        if alias is not None:
            alias = check_alias_target(alias, name=name, repository=repository, version=version)
            params = {"name": name or "", "repository": repository or ""}
            url = self.transport.api("aliases", registry, alias)
            return self.transport.get_model(CardPublic, url, params=params)
        if uid is not None:
            url = self.transport.api("cards", registry, check_uid(uid))
            return self.transport.get_model(CardPublic, url)
        if not name:
            raise InvalidInputError("give a card uid, or a name (and repository) to load a card")
        query: list[tuple[str, str]] = [("name", name)]
        if repository is not None:
            query.append(("repository", repository))
        if version is not None:
            query.append(("version", version))
        if repository is None and repositories is not None and not repositories:
            raise CardNotFoundError(f"no {registry} card {name} among no repository")
        query += [("repositories", r) for r in repositories or () if repository is None]
        url = self.transport.api("cards", registry, "resolve")
        return self.transport.get_model(CardPublic, url, params=query)

    def open_artifact(self, card: CardPublic, path: str) -> ArtifactReader:
        """See :meth:`RegistryBackend.open_artifact`; large files come direct when presigned."""
        item = card.file(check_relative_path(path))
        if self._direct(item.size):
            with contextlib.suppress(PresignUnsupportedError):
                url = self.presigned.download(card, item.path).url
                return _transfers.ServerArtifact(
                    item, lambda a, b, r: self.presigned.stream(url, a, b, r)
                )
        return self._proxied(card, item)

    def _proxied(self, card: CardPublic, item: ArtifactFile) -> ArtifactReader:
        url = _transfers.file_url(self.transport, "cards", card, item.path)
        stream = self.transport.stream
        return _transfers.ServerArtifact(item, lambda a, b, r: stream(url, a, b, ranged=r))

    def presign_download(
        self, card: CardPublic, path: str, *, expires: int = PRESIGN_EXPIRES
    ) -> PresignedFile:
        """See :meth:`RegistryBackend.presign_download` (the server decides ``expires``)."""
        return self.presigned.download(card, card.file(check_relative_path(path)).path)

    # -- writes ----------------------------------------------------------------------

    def register_card(
        self,
        card: CardCreate,
        source_dir: Path,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.register_card` (the server knows the actor)."""
        source_dir = _check_sources(card, Path(source_dir))
        total = sum(f.size for f in card.files)
        if total <= self.inline_limit:
            card = _transfers.with_digests(card, source_dir)
            return _transfers.register_inline(self.transport, card, source_dir, progress)
        ticket = None
        if self._direct(total):
            card = _transfers.with_digests(card, source_dir)
            with contextlib.suppress(PresignUnsupportedError):
                ticket = self.create_upload(card, presigned=True)
        if ticket is None:
            card, ticket = self._open_session(card, source_dir)
        try:
            return self.commit_upload(ticket, card, source_dir=source_dir, progress=progress)
        except BaseException:
            with contextlib.suppress(OpsmlError):  # else the server sweeps it later
                self.abort_upload(ticket)
            raise

    def register_streams(
        self,
        card: CardCreate,
        source: FileSource,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.register_streams`: one streamed ``PUT`` per file."""
        if not card.files:  # nothing to stream: the one-request registration
            return _transfers.register_inline(self.transport, card, Path(), progress)
        return _streamed.register_streams(self.transport, card, source, progress)

    def digests_on_send(self, total: int) -> bool:
        """Whether files of ``total`` bytes may be registered before they are hashed: they go
        through an upload session, hashed while sent (each byte read once).
        """
        return total > self.inline_limit and not self._direct(total)

    def can_presign(self) -> bool:
        """Whether the server hands out presigned URLs (asked once; an older server: no)."""
        return self.presigned.probe() is True

    def _open_session(self, card: CardCreate, source_dir: Path) -> tuple[CardCreate, UploadTicket]:
        """An upload session; a server that wants every digest up front (older) gets them."""
        try:
            return card, self.create_upload(card)
        except InvalidInputError:
            if all(item.sha256 for item in card.files):
                raise
        card = _transfers.with_digests(card, source_dir)
        return card, self.create_upload(card)

    def create_upload(
        self, card: CardCreate, *, presigned: bool = False, expires: int = PRESIGN_EXPIRES
    ) -> UploadTicket:
        """See :meth:`RegistryBackend.create_upload` (the server decides ``expires``)."""
        if presigned:
            return self.presigned.create(card)
        return _transfers.open_session(self.transport, card)

    def commit_upload(
        self,
        ticket: UploadTicket,
        card: CardCreate,
        *,
        source_dir: Path | None = None,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.commit_upload`; ``source_dir``'s files are sent first."""
        if not ticket.presigned:
            if source_dir is None:
                raise InvalidInputError("a staged upload is committed from a folder: source_dir")
            source_dir = _check_sources(card, Path(source_dir))
            return _transfers.commit_session(self.transport, ticket, card, source_dir, progress)
        if source_dir is not None:
            self.presigned.put_files(ticket, _check_sources(card, Path(source_dir)), progress)
        return self.presigned.commit(ticket)

    def abort_upload(self, ticket: UploadTicket) -> None:
        """See :meth:`RegistryBackend.abort_upload`."""
        kind = ("presign", "uploads") if ticket.presigned else ("uploads",)
        self.transport.send("DELETE", self.transport.api(*kind, ticket.id), timeout=10.0)

    def update_card(
        self, registry: RegistryType, uid: str, update: CardUpdate, *, actor: str | None = None
    ) -> CardPublic:
        """See :meth:`RegistryBackend.update_card`."""
        url = self.transport.api("cards", registry, uid)
        return self.transport.parse(CardPublic, self.transport.send_json("PATCH", url, update))

    def delete_card(self, registry: RegistryType, uid: str, *, actor: str | None = None) -> None:
        """See :meth:`RegistryBackend.delete_card`."""
        self.transport.send("DELETE", self.transport.api("cards", registry, uid))
