"""``IdentityStore``: what ``opsml users`` / ``opsml tokens`` / ``opsml audit`` and the UI need,
met by the database (:class:`opsml.backends.sql.identity.SqlIdentityStore`, for the first
administrator) and by a registry server (:class:`opsml.backends.http.identity.HttpIdentityStore`).
Nobody builds one: every backend hands out its own, ``backend.identity()``
(:meth:`opsml.backends.base.RegistryBackend.identity`).

``CredentialStore`` adds what a registry server's authenticator needs: checking
credentials against the stored users and tokens (only the database can).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from opsml.auth.models import AuditPage, AuditQuery, TokenCreated, TokenPublic, UserPublic
from opsml.auth.roles import Principal, Role


class IdentityStore(Protocol):
    """Users, grants, service tokens and the audit log.

    Every change is written to the audit log (registry ``identity``) as done by
    ``actor``; a registry server records its authenticated caller instead.

    Example:
        >>> import tempfile
        >>> from opsml.backends.sql import SqlBackend
        >>> root = tempfile.mkdtemp()
        >>> backend = SqlBackend(f"sqlite:///{root}/registry.db", f"{root}/artifacts")
        >>> store: IdentityStore = backend.identity()
        >>> alice = store.add_user("alice", "s3cret-pw", actor="root")  # the first user
        >>> [(grant.role.value, grant.repository) for grant in alice.grants]
        [('admin', None)]
        >>> [entry.action for entry in store.list_audit(AuditQuery(registry="identity")).items]
        ['grant', 'user_add']
        >>> backend.close()

    """

    def add_user(self, name: str, password: str | None, *, actor: str | None = None) -> UserPublic:
        """Add a user. The first user of a registry without users (nor, on a server, a
        bootstrap administrator) is its administrator: given a password, it gets the global
        ``admin`` role in the same transaction (docs/security.md, "The first user").
        """
        ...

    def remove_user(self, name: str, *, actor: str | None = None) -> None:
        """Remove a user, its grants and tokens. Not the last user holding the global
        ``admin`` role (``LastAdministratorError``, 409), unless a server's bootstrap
        administrator remains (docs/security.md, "The first user").
        """
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
        """Take a role on a repository (``None``: the global one); not the global ``admin``
        of the last administrator (see :meth:`remove_user`).
        """
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


class CredentialStore(IdentityStore, Protocol):
    """An :class:`IdentityStore` that also checks credentials (a registry server's).

    Met by the database's store: the server's ``Authenticator`` asks it who a
    password, a service token or a trusted proxy's user name is.

    Example:
        >>> import tempfile
        >>> from opsml.backends.sql import SqlBackend
        >>> root = tempfile.mkdtemp()
        >>> backend = SqlBackend(f"sqlite:///{root}/registry.db", f"{root}/artifacts")
        >>> store: CredentialStore = backend.identity()
        >>> store.has_users()
        False
        >>> _ = store.add_user("alice", "s3cret-pw")
        >>> store.principal_for_password("alice", "s3cret-pw")
        'alice'
        >>> store.principal_for_password("alice", "wrong") is None
        True
        >>> backend.close()

    """

    def add_user(
        self,
        name: str,
        password: str | None,
        *,
        actor: str | None = None,
        admin_if_first: bool = True,
        first_needs_password: bool = False,
    ) -> UserPublic:
        """Add a user; the first one of the database, given a password, also gets the global
        ``admin`` role in the same transaction (``admin_if_first=False``: never, as a server
        with a bootstrap administrator asks). ``first_needs_password``: a first user without
        a password is refused (an open server: nobody could log in after it).
        """
        ...

    def remove_user(self, name: str, *, actor: str | None = None, keep_admin: bool = True) -> None:
        """Remove a user, its grants and tokens; ``keep_admin=False`` lets the last global
        administrator go too (a server with a bootstrap administrator, which remains).
        """
        ...

    def revoke(
        self,
        name: str,
        role: Role,
        repository: str | None = None,
        *,
        actor: str | None = None,
        keep_admin: bool = True,
    ) -> None:
        """Take a role on a repository; ``keep_admin``: as in :meth:`remove_user`."""
        ...

    def has_users(self) -> bool:
        """True when at least one user is stored (auth is then on)."""
        ...

    def principal_for_password(self, name: str, password: str) -> Principal | None:
        """The user ``name`` when ``password`` is its password, else ``None``."""
        ...

    def principal_for_name(self, name: str) -> Principal:
        """The user ``name`` vouched for by a trusted proxy (no grants if unknown)."""
        ...

    def principal_for_token(self, token: str) -> Principal | None:
        """The owner of a valid, unexpired service ``token``, else ``None``."""
        ...
