"""Roles (``reader`` < ``writer`` < ``admin``, and ``reader`` < ``approver`` < ``admin``)
and the authenticated ``Principal``.

``approver`` (docs/design.md §19) may decide approval requests of protected aliases;
it includes ``reader`` but not ``writer``, and ``writer`` does not include it:
a user may hold both on one repository.

Example:
    >>> alice = Principal("alice", {"vision": Role.WRITER})
    >>> alice.allows(Role.READER, "vision"), alice.allows(Role.READER, "nlp")
    (True, False)

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from opsml.errors import PermissionDeniedError

GLOBAL = ""
"""The repository key of a global grant (covers every repository)."""


class Role(StrEnum):
    """A role on a repository; ``writer`` and ``approver`` each include ``reader``,
    ``admin`` includes them all.

    Example:
        >>> Role.ADMIN.covers(Role.WRITER), Role.APPROVER.covers(Role.WRITER)
        (True, False)

    """

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"
    APPROVER = "approver"

    @property
    def rank(self) -> int:
        """1 for reader, 2 for writer and approver (siblings), 3 for admin."""
        return _RANKS[self]

    def covers(self, needed: Role) -> bool:
        """True when this role includes ``needed``."""
        return needed in _INCLUDES[self]


_RANKS = {Role.READER: 1, Role.WRITER: 2, Role.APPROVER: 2, Role.ADMIN: 3}
_INCLUDES = {
    Role.READER: {Role.READER},
    Role.WRITER: {Role.READER, Role.WRITER},
    Role.APPROVER: {Role.READER, Role.APPROVER},
    Role.ADMIN: set(Role),
}


class Principal(str):
    """The authenticated caller: its name (what the audit log records) and its grants.

    ``grants`` maps a repository (``""``: every repository) to the highest role
    there; ``roles`` to every role held there (``writer`` and ``approver`` may
    both be held, neither includes the other).

    Example:
        >>> root = Principal("root", {GLOBAL: Role.ADMIN})
        >>> root.allows(Role.ADMIN, "any"), str(root)
        (True, 'root')
        >>> both = Principal("bo", {"vision": {Role.WRITER, Role.APPROVER}})
        >>> both.allows(Role.APPROVER, "vision"), both.allows(Role.WRITER, "vision")
        (True, True)

    """

    grants: Mapping[str, Role]
    roles: Mapping[str, frozenset[Role]]

    def __new__(cls, name: str, grants: Mapping[str, Role | Iterable[Role]]) -> Principal:
        """A principal named ``name`` holding ``grants`` (one role or several per repository)."""
        obj = super().__new__(cls, name)
        obj.roles = {
            repo: frozenset([held] if isinstance(held, Role) else held)
            for repo, held in grants.items()
        }
        obj.grants = {
            repo: max(held, key=lambda role: (role.rank, role == Role.WRITER))
            for repo, held in obj.roles.items()
            if held
        }
        return obj

    def role_on(self, repository: str | None) -> Role | None:
        """The highest role on ``repository`` (``None``: the global role only)."""
        roles = [self.grants.get(GLOBAL)]
        if repository:
            roles.append(self.grants.get(repository))
        held = [role for role in roles if role is not None]
        return max(held, key=lambda role: role.rank) if held else None

    def allows(self, role: Role, repository: str | None) -> bool:
        """True when the principal holds ``role`` (or more) on ``repository``."""
        held = set(self.roles.get(GLOBAL, ()))
        if repository:
            held |= self.roles.get(repository, frozenset())
        return any(mine.covers(role) for mine in held)

    def require(self, role: Role, repository: str | None) -> None:
        """Raise 403 unless the principal holds ``role`` on ``repository``.

        Raises:
            PermissionDeniedError: naming the missing role and the repository.

        """
        if not self.allows(role, repository):
            where = f"repository {repository!r}" if repository else "every repository (global)"
            raise PermissionDeniedError(f"{str(self)!r} needs the {role.value!r} role on {where}")


def require(user: str | None, role: Role, repository: str | None) -> None:
    """Check ``role`` on ``repository`` for ``user``; ``None`` or a plain name (auth off) passes.

    Example:
        >>> require(None, Role.ADMIN, "any")  # a server without auth

    """
    if isinstance(user, Principal):
        user.require(role, repository)
