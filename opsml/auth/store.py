"""``IdentityStore``: what ``opsml users`` / ``opsml tokens`` / ``opsml audit`` need, met by
the database (:class:`opsml.backends.sql.identity.SqlIdentityStore`, for the first
administrator) and by a registry server (:class:`opsml.backends.http.identity.HttpIdentityStore`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from opsml.auth.models import AuditPage, AuditQuery, TokenCreated, TokenPublic, UserPublic
from opsml.auth.roles import Role


class IdentityStore(Protocol):
    """Users, grants, service tokens and the audit log.

    Every change is written to the audit log (registry ``identity``) as done by
    ``actor``; a registry server records its authenticated caller instead.

    Example:
        >>> from opsml.backends.sql.identity import SqlIdentityStore
        >>> hasattr(SqlIdentityStore, "create_token")
        True

    """

    def add_user(self, name: str, password: str | None, *, actor: str | None = None) -> UserPublic:
        """Add a user."""
        ...

    def remove_user(self, name: str, *, actor: str | None = None) -> None:
        """Remove a user, its grants and tokens."""
        ...

    def set_password(self, name: str, password: str | None, *, actor: str | None = None) -> None:
        """Replace a user's password (``None``: tokens only)."""
        ...

    def list_users(self) -> list[UserPublic]:
        """Every user with its grants."""
        ...

    def grant(
        self, name: str, role: Role, repository: str | None = None, *, actor: str | None = None
    ) -> None:
        """Give a role on a repository (``None``: every repository)."""
        ...

    def revoke(
        self, name: str, role: Role, repository: str | None = None, *, actor: str | None = None
    ) -> None:
        """Take a role on a repository (``None``: the global one)."""
        ...

    def create_token(
        self,
        name: str,
        user: str | None,
        expires_at: datetime | None,
        *,
        actor: str | None = None,
    ) -> TokenCreated:
        """A new service token (the only time it is shown)."""
        ...

    def list_tokens(self, user: str | None = None) -> list[TokenPublic]:
        """The service tokens, never the tokens themselves."""
        ...

    def revoke_token(self, name: str, *, actor: str | None = None) -> None:
        """Revoke a service token."""
        ...

    def list_audit(self, query: AuditQuery) -> AuditPage:
        """A page of the audit log."""
        ...
