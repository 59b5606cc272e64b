"""The one connection of the HTTP backend: URLs, headers, auth, retries and error mapping.

The client, the proxied transfers and the presigned transfers all talk to the
server through a :class:`Transport`; none of them touches another's state.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, SecretStr

from opsml.auth.actor import ACTOR_HEADER
from opsml.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConfigurationError,
    OpsmlError,
    PayloadTooLargeError,
    PermissionDeniedError,
    error_from_code,
)

PROD_TOKEN_HEADER = "X-Opsml-Prod-Token"
RETRY_STATUSES = frozenset({502, 503, 504})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that write nothing: they carry no declared actor."""
API_PREFIX = "/api/v1"
_M = TypeVar("_M", bound=BaseModel)


def _tls_for(base: httpx.URL) -> ssl.SSLContext | bool:
    """Verify TLS with the CA bundle (``True``), except where TLS never happens.

    This client talks to ``base`` only and follows no redirects, so for a plain
    ``http://`` server it never opens TLS. Loading the CA bundle costs about 20 ms
    of every fresh process; the context given instead verifies like any other but
    trusts no certificate, so a TLS connection through it could only fail.
    """
    if base.scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def secret(value: str | SecretStr | None) -> str | None:
    """The plain value of a secret (or of a string)."""
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """The URL without ``user:password@``, and the user and password it carried.

    Example:
        >>> strip_userinfo("http://ds:pw@registry:8080")
        ('http://registry:8080', 'ds', 'pw')

    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), parts.username, parts.password


def error_code(response: httpx.Response) -> str | None:
    """The ``error.code`` of an error body, if the body is one."""
    try:
        response.read()
        body = response.json()
    except (ValueError, httpx.HTTPError):
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or "") or None
    return None


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (the ``ssl`` or ``socket`` error under httpx's)."""
    seen: set[int] = set()
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(exc))
        exc = inner
    return exc


def _unanswered(exc: httpx.RemoteProtocolError) -> bool:
    """The peer closed the connection before sending a single byte of an answer."""
    return "without sending a response" in str(exc)


def _replayable(kwargs: dict[str, Any]) -> bool:
    """The request body can be sent again (bytes, form fields, seekable files)."""
    content = kwargs.get("content")
    return content is None or isinstance(content, bytes | str)


class Transport:
    """Requests to one registry server over one pooled ``httpx.Client``.

    Args:
        base_url: the server, without user info (a path prefix is kept).
        auth: basic auth to send, if any.
        prod_token: the production write token, sent when not empty.
        token: a service token, sent as ``Authorization: Bearer`` when not empty.
        actor: the declared actor, sent as ``X-Opsml-Actor`` with every write (see
            :mod:`opsml.auth.actor`); ``None`` sends none.
        client: an injected client (not closed here), or ``None`` to build one.
        timeout: seconds to wait at each step.
        retries: extra attempts for GETs on connection errors and 502/503/504.

    Example:
        >>> t = Transport("http://registry:8080", timeout=5.0, retries=0)
        >>> str(t.api("cards", "model", "resolve"))
        'http://registry:8080/api/v1/cards/model/resolve'
        >>> t.close()

    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.BasicAuth | None = None,
        prod_token: str = "",
        token: str = "",
        actor: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        self.base_url = base_url
        self.actor = actor
        self._base = httpx.URL(base_url)
        self.auth = auth
        self.timeout = timeout
        self.retries = retries
        self.headers = {"Accept": "application/json"}
        if prod_token:
            self.headers[PROD_TOKEN_HEADER] = prod_token
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.owns_client = client is None
        self.client = client or httpx.Client(
            timeout=self.timeouts(), limits=httpx.Limits(max_connections=32,
            max_keepalive_connections=8), follow_redirects=False, trust_env=False,
            verify=_tls_for(self._base),
        )  # fmt: skip

    def timeouts(self, read: float | None = None) -> httpx.Timeout:
        """Connect within 10 s, write within 60 s, read within ``read`` (default: timeout)."""
        return httpx.Timeout(
            self.timeout,
            read=self.timeout if read is None else read,
            connect=min(self.timeout, 10.0),
            write=max(self.timeout, 60.0),
        )

    def close(self) -> None:
        """Close the pool (an injected client is left open)."""
        if self.owns_client:
            self.client.close()

    def url(self, *segments: str) -> httpx.URL:
        """``base_url`` with the path segments appended (each may hold ``/``)."""
        path = "/".join([self._base.path.rstrip("/"), *(s.strip("/") for s in segments)])
        return self._base.copy_with(path=path)

    def api(self, *segments: str) -> httpx.URL:
        """A URL under the server's ``/api/v1``."""
        return self.url(API_PREFIX, *segments)

    def request(
        self, method: str, url: httpx.URL, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request, errors left to the caller; a connection failure is unavailable.

        A kept-alive connection closed with no answer at all (a balancer or a
        replica shutting down closes it before processing the request: the HTTP
        keep-alive race) gets the request once more on a new connection, whatever
        the method, when its body can be sent again (not a generator).
        """
        sent = {**self.headers, **self.declared(method), **(headers or {})}
        for attempt in (0, 1):
            try:
                return self.client.request(
                    method, url, headers=sent,
                    auth=self.auth or httpx.USE_CLIENT_DEFAULT, **kwargs,
                )  # fmt: skip
            except httpx.RemoteProtocolError as exc:
                if attempt == 0 and _unanswered(exc) and _replayable(kwargs):
                    continue
                raise self.unavailable(exc) from None
            except httpx.TransportError as exc:
                raise self.unavailable(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def declared(self, method: str) -> dict[str, str]:
        """The ``X-Opsml-Actor`` header of a ``method`` request: on every write, none on reads.

        A server without authentication audits the write as this actor; a server
        with authentication ignores the header and audits the logged-in user.
        """
        if self.actor and method.upper() not in READS:
            return {ACTOR_HEADER: self.actor}
        return {}

    def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        read_timeout: float | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, with retries for GET; errors become OpsmlError subclasses."""
        attempts = 1 + (self.retries if method == "GET" else 0)
        if read_timeout is not None and self.owns_client:
            kwargs["timeout"] = self.timeouts(read_timeout)
        for attempt in range(attempts):
            try:
                response = self.request(method, url, headers=headers, **kwargs)
            except BackendUnavailableError:
                if attempt + 1 < attempts:
                    self.backoff(attempt)
                    continue
                raise
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                self.backoff(attempt)
                continue
            if response.status_code >= 400:
                raise self.error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def send_replayable(
        self, method: str, url: httpx.URL, body: Callable[[], Any], **kwargs: Any
    ) -> httpx.Response:
        """An idempotent request with a body (the PUT of a whole file), retried like a GET.

        ``body()`` makes the content anew for each attempt. Retried on a broken or
        refused connection and on 502/503/504 (a replica that died or stopped
        mid-request, behind a balancer); the server's answer to a repeated PUT is
        the same as to the first, since it replaces what an earlier one staged.
        """
        for attempt in range(1 + self.retries):
            try:
                return self.send(method, url, content=body(), **kwargs)
            except BackendUnavailableError:
                if attempt == self.retries:
                    raise
                self.backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_model(self, model: type[_M], url: httpx.URL, **kwargs: Any) -> _M:
        """GET ``url`` and parse the answer as ``model``."""
        return self.parse(model, self.send("GET", url, **kwargs))

    def send_json(
        self, method: str, url: httpx.URL, body: BaseModel, **kwargs: Any
    ) -> httpx.Response:
        """Send ``body`` as JSON (unset fields left out)."""
        return self.send(
            method, url, content=body.model_dump_json(exclude_none=True),
            headers={"Content-Type": "application/json"}, **kwargs,
        )  # fmt: skip

    def stream(self, url: httpx.URL, start: int, stop: int, *, ranged: bool) -> Iterator[bytes]:
        """Bytes ``start``…``stop`` of ``url``, resuming with ``Range`` after a dropped connection.

        ``ranged`` asks for exactly ``[start, stop)``; otherwise from ``start`` to the end.
        """
        failures, offset = 0, start
        while not (offset >= stop and offset > 0):
            headers = {"Accept": "application/octet-stream"}
            if offset or ranged:
                headers["Range"] = f"bytes={offset}-{stop - 1 if ranged else ''}"
            try:
                with self.client.stream(
                    "GET", url, headers={**self.headers, **headers},
                    auth=self.auth or httpx.USE_CLIENT_DEFAULT,
                ) as response:  # fmt: skip
                    if response.status_code in RETRY_STATUSES and failures < self.retries:
                        failures += 1
                        self.backoff(failures)
                        continue
                    if response.status_code >= 400:
                        raise self.error(response)
                    if "Range" in headers and response.status_code != 206:
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
                    raise self.unavailable(exc) from None
                self.backoff(failures - 1)

    @staticmethod
    def backoff(attempt: int) -> None:
        """Sleep before the next attempt (exponential, at most 2 s)."""
        time.sleep(min(0.1 * 2**attempt, 2.0))

    @staticmethod
    def parse(model: type[_M], response: httpx.Response) -> _M:
        """The response body as ``model``."""
        return model.model_validate_json(response.content)

    def unavailable(self, exc: httpx.TransportError) -> BackendUnavailableError:
        """The error for a connection that failed."""
        cause = _root_cause(exc)
        if isinstance(exc, httpx.TimeoutException):
            why = f"did not answer within {self.timeout:g} s"
        elif isinstance(cause, ssl.SSLError):
            why = (
                f"cannot be reached: the TLS handshake failed ({cause.reason or cause}; "
                "is it a plain-HTTP server? then use http://)"
            )
        elif isinstance(cause, socket.gaierror):
            why = f"cannot be reached: the host name {self._base.host!r} could not be resolved"
        elif isinstance(exc, httpx.ConnectError):
            why = "cannot be reached (connection refused or no route)"
        else:
            why = f"broke the connection ({type(exc).__name__})"
        return BackendUnavailableError(
            f"the registry server at {self.base_url} {why}: check OPSML_TRACKING_URI and that "
            "the server is running"
        )

    def error(self, response: httpx.Response) -> OpsmlError:
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
                message or f"{where} needs a user name and password: set OPSML_USERNAME and "
                "OPSML_PASSWORD (missing or wrong)"
            )  # fmt: skip
        if status == 403:
            return PermissionDeniedError(
                message
                or f"{where} refused the request: writes to production need OPSML_PROD_TOKEN"
            )
        if status == 404 and code in (None, "not_found"):  # no such route: not a registry root
            return ConfigurationError(
                f"{where} has no endpoint {response.request.url.path}: OPSML_TRACKING_URI must "
                "be the registry server's root URL (e.g. http://host:8080, without /api/v1)"
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
