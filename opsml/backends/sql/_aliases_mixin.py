"""The alias methods of :class:`~opsml.backends.sql.SqlBackend` (docs/design.md §12).

Each move is one transaction (lock, update or insert, audit) in :mod:`._aliases`;
a protected alias is refused here (its moves go through approvals).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from opsml.backends.sql import _aliases
from opsml.backends.sql._actor import ActorMixin
from opsml.backends.sql._queries import check_registry
from opsml.schemas import (
    AliasPublic,
    CardQuery,
    RegistryType,
    build,
    check_alias_target,
    check_new_alias,
    check_uid,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Connection

    from opsml.listeners import CommitListeners


class AliasesMixin(ActorMixin, abc.ABC):
    """``set_alias`` / ``delete_alias`` / ``list_aliases`` over SQL."""

    environment: str
    listeners: CommitListeners

    @abc.abstractmethod
    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection in a transaction."""

    @abc.abstractmethod
    def refuse_protected(self, alias: str, verb: str = "move") -> None:
        """Refuse a direct change of a protected alias."""

    def set_alias(
        self, registry: RegistryType, uid: str, alias: str, *, actor: str | None = None
    ) -> AliasPublic:
        """See :meth:`RegistryBackend.set_alias`."""
        registry, alias = check_registry(registry), check_new_alias(alias)
        self.refuse_protected(alias)
        connect = lambda: self._connect(write=True)  # noqa: E731
        moved, card = _aliases.move_retrying(
            connect, self.environment, registry, check_uid(uid), alias, self._acting(actor)
        )
        self.listeners.after_alias_set(card, moved)
        return moved

    def delete_alias(
        self,
        registry: RegistryType,
        name: str,
        repository: str,
        alias: str,
        *,
        actor: str | None = None,
    ) -> None:
        """See :meth:`RegistryBackend.delete_alias`."""
        registry = check_registry(registry)
        alias = check_alias_target(alias, name=name, repository=repository)
        build(CardQuery, name=name, repository=repository)
        self.refuse_protected(alias, "delete")
        actor = self._acting(actor)
        with self._connect(write=True) as conn:
            _aliases.remove(conn, self.environment, registry, name, repository, alias, actor)

    def list_aliases(self, registry: RegistryType, name: str, repository: str) -> list[AliasPublic]:
        """See :meth:`RegistryBackend.list_aliases`."""
        registry = check_registry(registry)
        check_alias_target("a", name=name, repository=repository)
        build(CardQuery, name=name, repository=repository)
        with self._connect() as conn:
            return _aliases.listed(conn, registry, name, repository)
