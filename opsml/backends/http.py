"""The HTTP backend: talks to a registry server (see :class:`RegistryBackend` for the contract).

Data scientists only set ``OPSML_TRACKING_URI=http(s)://…`` (and, where auth is
on, ``OPSML_USERNAME``/``OPSML_PASSWORD``); the server holds every database
and storage credential. Errors the server reports come back as the same
:class:`~opsml.errors.OpsmlError` subclasses as in embedded mode.

Upload protocol:

- all files together up to ``inline_limit`` (8 MiB): ONE multipart
  ``POST /api/v1/cards/{registry}`` with the ``CardCreate`` JSON and the files;
- larger: ``POST /api/v1/uploads`` (the card) → one streamed
  ``PUT /api/v1/uploads/{id}/files/{path}`` per file → ``POST …/{id}/commit``.

The server checks every file's size and SHA-256 before it commits the card.
Downloads stream ``GET /api/v1/cards/{registry}/{uid}/files/{path}`` and resume
with ``Range`` after a dropped connection; the base class verifies digests.

Example:
    >>> backend = HttpBackend("http://registry:8080", username="ds", password="s3cret")
    >>> backend
    HttpBackend('http://registry:8080', username='ds', password='***')
    >>> backend.close()

"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, SecretStr

from opsml.backends.base import ProgressCallback, RegistryBackend
from opsml.errors import (
    AuthenticationError,
    BackendUnavailableError,
    OpsmlError,
    PayloadTooLargeError,
    PermissionDeniedError,
    error_from_code,
)
from opsml.schemas import (
    CardCreate,
    CardPublic,
    CardQuery,
    CardUpdate,
    Page,
    RegistryType,
    check_relative_path,
)

if TYPE_CHECKING:
    from opsml.config import OpsmlSettings

__all__ = ["HttpBackend"]

PROD_TOKEN_HEADER = "X-Opsml-Prod-Token"
INLINE_LIMIT = 8 * 1024 * 1024
"""Registrations whose files total at most this go up in one multipart request."""
UPLOAD_CHUNK = 4 * 1024 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})
_M = TypeVar("_M", bound=BaseModel)


def _secret(value: str | SecretStr | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """The URL without ``user:password@``, and the user and password it carried."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), parts.username, parts.password


class _ProgressReader:
    """A file wrapper that reports bytes read (multipart uploads read through it)."""

    def __init__(self, handle: IO[bytes], progress: ProgressCallback) -> None:
        self._handle = handle
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        if data:
            self._progress(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


class HttpBackend(RegistryBackend):
    """Registry behind a registry server, over one pooled ``httpx.Client``.

    Args:
        base_url: the server, e.g. ``http://registry:8080`` (a path prefix is kept).
        username: basic-auth user name, sent when set.
        password: basic-auth password.
        prod_token: production write token, sent as ``X-Opsml-Prod-Token``.
        client: an ``httpx.Client`` to use (FastAPI's ``TestClient`` is one); the
            backend then does not close it.
        timeout: seconds to wait for the server at each step (connect, each read).
        retries: attempts after the first for idempotent calls (GET) on
            connection errors and 502/503/504, with exponential backoff.
        inline_limit: largest total file size sent in a single request.

    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        prod_token: str | SecretStr | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        inline_limit: int = INLINE_LIMIT,
    ) -> None:
        url, url_user, url_password = _strip_userinfo(base_url.rstrip("/"))
        self.base_url = url
        self.username = username if username is not None else url_user
        self._password = SecretStr(_secret(password) or url_password or "")
        self._prod_token = SecretStr(_secret(prod_token) or "")
        self._api = f"{url}/api/v1"
        self.timeout = timeout
        self.retries = retries
        self.inline_limit = inline_limit
        self._auth: httpx.BasicAuth | None = (
            httpx.BasicAuth(self.username, self._password.get_secret_value())
            if self.username is not None
            else None
        )
        self._headers = {"Accept": "application/json"}
        if self._prod_token.get_secret_value():
            self._headers[PROD_TOKEN_HEADER] = self._prod_token.get_secret_value()
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), write=max(timeout, 60.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            follow_redirects=False,
            trust_env=False,
        )

    presign: bool = True
    """Move files larger than ``inline_limit`` directly to/from the store with presigned
    URLs when the server offers them (S3); see :mod:`opsml.backends._presign`."""
    _presign_ok: bool | None = None

    @classmethod
    def from_settings(cls, settings: OpsmlSettings) -> HttpBackend:
        """The backend for ``settings.tracking_uri`` and its credentials."""
        assert settings.tracking_uri is not None
        return cls(
            settings.tracking_uri,
            username=settings.username,
            password=settings.password,
            prod_token=settings.prod_token,
            timeout=settings.request_timeout,
        )

    def __repr__(self) -> str:
        parts = [repr(self.base_url)]
        if self.username is not None:
            parts += [f"username={self.username!r}", "password='***'"]
        if self._prod_token.get_secret_value():
            parts.append("prod_token='***'")
        return f"HttpBackend({', '.join(parts)})"

    def close(self) -> None:
        """Close the connection pool (an injected client is left open)."""
        if self._owns_client:
            self._client.close()

    # -- plumbing --------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        read_timeout: float | None = None,
        headers_extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, with retries for GET; errors become OpsmlError subclasses."""
        attempts = 1 + (self.retries if method == "GET" else 0)
        timeout = kwargs.pop("timeout", None)
        if read_timeout is not None and self._owns_client:
            timeout = httpx.Timeout(
                self.timeout,
                read=read_timeout,
                connect=min(self.timeout, 10.0),
                write=max(self.timeout, 60.0),
            )
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        headers = {**self._headers, **headers_extra} if headers_extra else self._headers
        for attempt in range(attempts):
            try:
                response = self._client.request(
                    method,
                    url,
                    headers=headers,
                    auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                    **extra,
                    **kwargs,
                )
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    self._backoff(attempt)
                    continue
                raise self._unavailable(exc) from None
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self._backoff(attempt)
                continue
            if response.status_code >= 400:
                raise self._error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(min(0.1 * 2**attempt, 2.0))

    def _unavailable(self, exc: httpx.TransportError) -> BackendUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            why = f"did not answer within {self.timeout:g} s"
        elif isinstance(exc, httpx.ConnectError):
            why = "cannot be reached (connection refused or no route)"
        else:
            why = f"broke the connection ({type(exc).__name__})"
        return BackendUnavailableError(
            f"the registry server at {self.base_url} {why}: check OPSML_TRACKING_URI and that "
            "the server is running"
        )

    def _error(self, response: httpx.Response) -> OpsmlError:
        """The OpsmlError for an error response (whatever produced its body)."""
        code = message = None
        try:
            response.read()
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), dict):
                code = str(body["error"].get("code") or "")
                message = str(body["error"].get("message") or "")
        except (ValueError, httpx.HTTPError):
            pass
        status = response.status_code
        where = f"the registry server at {self.base_url}"
        if status == 401:
            return AuthenticationError(
                message
                or f"{where} needs a user name and password: set OPSML_USERNAME and "
                "OPSML_PASSWORD (missing or wrong)"
            )
        if status == 403:
            return PermissionDeniedError(
                message
                or f"{where} refused the request: writes to production need OPSML_PROD_TOKEN"
            )
        if code:
            return error_from_code(code, message or f"{where} answered {status}")
        if status == 413:
            return PayloadTooLargeError(f"{where} refused the upload as too large")
        if status in RETRY_STATUSES:
            return BackendUnavailableError(f"{where} is unavailable (HTTP {status})")
        return OpsmlError(
            f"{where} answered HTTP {status} to {response.request.method} "
            f"{response.request.url.path}"
        )

    @staticmethod
    def _parse(model: type[_M], response: httpx.Response) -> _M:
        return model.model_validate_json(response.content)

    def _card_url(self, registry: str, uid: str) -> str:
        return f"{self._api}/cards/{quote(registry, safe='')}/{quote(uid, safe='')}"

    # -- reads -----------------------------------------------------------------------

    def list_cards(self, registry: RegistryType, query: CardQuery) -> list[CardPublic]:
        """See :meth:`RegistryBackend.list_cards`."""
        params: dict[str, str | int] = {"limit": query.limit}
        for key in ("name", "repository", "version"):
            value = getattr(query, key)
            if value is not None:
                params[key] = value
        if query.tags:
            params["tags"] = json.dumps(query.tags)
        response = self._send("GET", f"{self._api}/cards/{quote(registry, safe='')}", params=params)
        return self._parse(Page, response).items

    def get_card(
        self,
        registry: RegistryType,
        *,
        uid: str | None = None,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.get_card`."""
        if uid is not None:
            from opsml.errors import InvalidInputError

            if (
                not isinstance(uid, str)
                or len(uid) != 32
                or any(c not in "0123456789abcdef" for c in uid)
            ):
                raise InvalidInputError(f"{uid!r} is not a card uid (32 lowercase hex characters)")
            return self._parse(CardPublic, self._send("GET", self._card_url(registry, uid)))
        if not name:
            from opsml.errors import InvalidInputError

            raise InvalidInputError("give a card uid, or a name (and repository) to load a card")
        params = {"name": name}
        if repository is not None:
            params["repository"] = repository
        if version is not None:
            params["version"] = version
        response = self._send(
            "GET", f"{self._api}/cards/{quote(registry, safe='')}/resolve", params=params
        )
        return self._parse(CardPublic, response)

    def iter_artifact(self, card: CardPublic, path: str, *, start: int = 0) -> Iterator[bytes]:
        """See :meth:`RegistryBackend.iter_artifact`; resumes with ``Range`` after a drop."""
        item = card.file(check_relative_path(path))
        if self.presign and self._presign_ok is not False and item.size > self.inline_limit:
            from opsml.backends import _presign

            direct = _presign.download_url(self, card, item)
            if direct is not None:
                return _presign.stream(self, direct, start, item.size)
        url = f"{self._card_url(card.registry, card.uid)}/files/{quote(item.path, safe='/')}"
        return self._stream(url, start, item.size)

    def _stream(self, url: str, offset: int, size: int) -> Iterator[bytes]:
        failures = 0
        while True:
            if offset >= size and offset > 0:
                return
            headers = dict(self._headers)
            headers["Accept"] = "application/octet-stream"
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                with self._client.stream(
                    "GET", url, headers=headers, auth=self._auth or httpx.USE_CLIENT_DEFAULT
                ) as response:
                    if response.status_code in RETRY_STATUSES and failures < self.retries:
                        failures += 1
                        self._backoff(failures)
                        continue
                    if response.status_code >= 400:
                        raise self._error(response)
                    if offset and response.status_code != 206:
                        raise OpsmlError(
                            f"the registry server at {self.base_url} ignored a Range request"
                        )
                    for chunk in response.iter_raw():
                        offset += len(chunk)
                        yield chunk
                return
            except httpx.TransportError as exc:
                failures += 1
                if failures > self.retries:
                    raise self._unavailable(exc) from None
                self._backoff(failures - 1)

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
        source_dir = Path(source_dir)
        for item in card.files:
            if not (source_dir / check_relative_path(item.path)).is_file():
                from opsml.errors import InvalidInputError

                raise InvalidInputError(
                    f"artifact {item.path!r} is listed but missing from {source_dir}"
                )
        total = sum(f.size for f in card.files)
        if total <= self.inline_limit:
            return self._register_inline(card, source_dir, progress)
        if self.presign and self._presign_ok is not False:
            from opsml.backends import _presign

            public = _presign.register(self, card, source_dir, progress)
            if public is not None:
                return public
        return self._register_session(card, source_dir, progress)

    def _register_inline(
        self, card: CardCreate, source_dir: Path, progress: ProgressCallback | None
    ) -> CardPublic:
        handles: list[IO[bytes]] = []
        try:
            files: list[tuple[str, tuple[str, Any, str]]] = []
            for item in card.files:
                handle: IO[bytes] = open(source_dir / item.path, "rb")  # noqa: SIM115
                handles.append(handle)
                body: Any = _ProgressReader(handle, progress) if progress else handle
                files.append(("files", (item.path, body, "application/octet-stream")))
            response = self._send(
                "POST",
                f"{self._api}/cards/{quote(card.registry, safe='')}",
                data={"card": card.model_dump_json()},
                files=files or None,
                read_timeout=max(self.timeout, 600.0),
            )
        finally:
            for handle in handles:
                handle.close()
        return self._parse(CardPublic, response)

    def _register_session(
        self, card: CardCreate, source_dir: Path, progress: ProgressCallback | None
    ) -> CardPublic:
        session = self._send(
            "POST",
            f"{self._api}/uploads",
            content=card.model_dump_json(),
            headers_extra={"Content-Type": "application/json"},
        ).json()
        session_url = f"{self._api}/uploads/{quote(str(session['id']), safe='')}"
        try:
            for item in card.files:
                self._send(
                    "PUT",
                    f"{session_url}/files/{quote(item.path, safe='/')}",
                    content=_read_chunks(source_dir / item.path, progress),
                    headers_extra={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(item.size),
                    },
                )
            response = self._send(
                "POST", f"{session_url}/commit", read_timeout=max(self.timeout, 3600.0)
            )
        except BaseException:
            with contextlib.suppress(httpx.HTTPError):  # else the server sweeps it later
                self._client.delete(
                    session_url,
                    headers=self._headers,
                    auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                    timeout=10.0,
                )
            raise
        return self._parse(CardPublic, response)

    def update_card(
        self, registry: RegistryType, uid: str, update: CardUpdate, *, actor: str | None = None
    ) -> CardPublic:
        """See :meth:`RegistryBackend.update_card`."""
        response = self._send(
            "PATCH",
            self._card_url(registry, uid),
            content=update.model_dump_json(exclude_none=True),
            headers_extra={"Content-Type": "application/json"},
        )
        return self._parse(CardPublic, response)

    def delete_card(self, registry: RegistryType, uid: str, *, actor: str | None = None) -> None:
        """See :meth:`RegistryBackend.delete_card`."""
        self._send("DELETE", self._card_url(registry, uid))

    def check(self) -> None:
        """Raise :class:`BackendUnavailableError` unless the server is ready."""
        self._send("GET", f"{self.base_url}/readyz")


def _read_chunks(path: Path, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(UPLOAD_CHUNK):
            if progress:
                progress(len(chunk))
            yield chunk
