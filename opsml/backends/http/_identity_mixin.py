"""``HttpBackend.identity()``: the server's users, grants, tokens and audit log, built on first use.

The identity store and its models (:mod:`opsml.backends.http.identity`,
:mod:`opsml.auth.models`) are imported when ``identity()`` is first called, not
with the backend: a process that registers, loads or lists cards never needs them,
and their pydantic models cost a fresh process's first call about 7 ms.

Example:
    >>> from opsml.backends.http import HttpBackend
    >>> backend = HttpBackend("http://registry:8080")
    >>> type(backend.identity()).__name__
    'HttpIdentityStore'
    >>> backend.close()

"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsml.backends.http._transport import Transport
    from opsml.backends.http.identity import HttpIdentityStore


class HttpIdentityMixin:
    """``identity()`` of :class:`~opsml.backends.http.HttpBackend`: the server's identity API."""

    transport: Transport
    _identity: HttpIdentityStore | None = None

    def identity(self) -> HttpIdentityStore:
        """See :meth:`RegistryBackend.identity` (over this backend's client and credentials)."""
        if self._identity is None:
            from opsml.backends.http.identity import HttpIdentityStore

            self._identity = HttpIdentityStore(self.transport)
        return self._identity
