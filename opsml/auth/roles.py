"""Roles (``reader`` < ``writer`` < ``admin``) and the authenticated ``Principal``.

Example:
    >>> alice = Principal("alice", {"vision": Role.WRITER})
    >>> alice.allows(Role.READER, "vision"), alice.allows(Role.READER, "nlp")
    (True, False)

"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from opsml.errors import PermissionDeniedError

GLOBAL = ""
"""The repository key of a global grant (covers every repository)."""


class Role(StrEnum):
    """A role on a repository; each includes the ones before it.

    Example:
        >>> Role.ADMIN.covers(Role.WRITER)
        True

    """

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """1, 2, 3 for reader, writer, admin."""
        return _RANKS[self]

    def covers(self, needed: Role) -> bool:
        """True when this role includes ``needed``."""
        return self.rank >= needed.rank


_RANKS = {Role.READER: 1, Role.WRITER: 2, Role.ADMIN: 3}


class Principal(str):
    """The authenticated caller: its name (what the audit log records) and its grants.

    ``grants`` maps a repository (``""``: every repository) to the highest role there.

    Example:
        >>> root = Principal("root", {GLOBAL: Role.ADMIN})
        >>> root.allows(Role.ADMIN, "any"), str(root)
        (True, 'root')

    """

    grants: Mapping[str, Role]

    def __new__(cls, name: str, grants: Mapping[str, Role]) -> Principal:
        """A principal named ``name`` holding ``grants``."""
        obj = super().__new__(cls, name)
        obj.grants = dict(grants)
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
        held = self.role_on(repository)
        return held is not None and held.covers(role)

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
