"""The identity method of :class:`~opsml.backends.sql.SqlBackend` (see
:class:`~opsml.backends._identity_api.IdentityBackend` for the contract).

The store lives in the registry database and is reached through the backend's
own connections, so it shares its pool, its schema check and its error mapping.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from opsml.backends.sql.identity import SqlIdentityStore

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Connection


class IdentityMixin(abc.ABC):
    """``identity()``: the users, grants, tokens and audit log of this database."""

    environment: str
    _identity: SqlIdentityStore | None = None

    @abc.abstractmethod
    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection in a transaction."""

    def identity(self) -> SqlIdentityStore:
        """See :meth:`RegistryBackend.identity`; it also checks credentials (a server's).

        Example:
            >>> backend.identity() is backend.identity()  # doctest: +SKIP
            True

        """
        if self._identity is None:
            # two threads racing here build two equal stores over one pool: either is fine
            self._identity = SqlIdentityStore(self._connect, self.environment)
        return self._identity
