"""The identity part of the backend interface: users, grants, service tokens, the audit log.

:class:`~opsml.backends.base.RegistryBackend` inherits it, so whoever holds a
backend (the CLI, the UI, the server) asks it for its identity store instead
of picking a store class by URI scheme or backend type. The SQL backend hands
out the store over its own database; the HTTP backend the server's REST API.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsml.auth.store import IdentityStore


class IdentityBackend(abc.ABC):
    """Hand out the :class:`~opsml.auth.store.IdentityStore` beside the registry."""

    @abc.abstractmethod
    def identity(self) -> IdentityStore:
        """The identity store of this registry: built once per backend, then the same one.

        It lives as long as the backend and uses the backend's connections (a
        database's pool, a server's client): close the backend, not the store.

        Example:
            >>> from opsml.auth.models import AuditQuery
            >>> store = backend.identity()  # doctest: +SKIP
            >>> store.list_users()  # doctest: +SKIP
            >>> store.list_audit(AuditQuery(action="register", limit=10)).items  # doctest: +SKIP

        """
