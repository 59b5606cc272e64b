"""``HttpIdentityStore``: users, grants, tokens and the audit log of a registry server, over
its REST API (global administrator credentials; the audit log: a reader's). The
``actor`` arguments are ignored: the server records the authenticated caller.

The backend hands it out, once (``HttpBackend.identity()``,
:class:`~opsml.backends.http._identity_mixin.HttpIdentityMixin`).

Example:
    >>> from opsml.backends.http import HttpBackend
    >>> store = HttpBackend("http://registry:8080", token="opsml_...").identity()
    >>> store.list_users()  # doctest: +SKIP

"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from opsml.auth.models import AuditPage, AuditQuery, TokenCreated, TokenPublic, UserPublic
from opsml.auth.roles import Role

if TYPE_CHECKING:
    from opsml.backends.http._transport import Transport

_USERS = TypeAdapter(list[UserPublic])
_TOKENS = TypeAdapter(list[TokenPublic])


class HttpIdentityStore:
    """The :class:`opsml.auth.store.IdentityStore` of a registry server.

    Args:
        transport: the HTTP backend's transport (its URL and credentials).

    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _send(self, method: str, *path: str, **kwargs: Any) -> bytes:
        return self.transport.send(method, self.transport.api(*path), **kwargs).content

    def add_user(self, name: str, password: str | None, *, actor: str | None = None) -> UserPublic:
        """Add a user (``actor``: the server records the caller instead)."""
        body = self._send("POST", "users", json={"name": name, "password": password})
        return UserPublic.model_validate_json(body)

    def remove_user(self, name: str, *, actor: str | None = None) -> None:
        """Remove a user, its grants and tokens."""
        self._send("DELETE", "users", name)

    def set_password(self, name: str, password: str | None, *, actor: str | None = None) -> None:
        """Replace a user's password (``None``: tokens only)."""
        self._send("PUT", "users", name, "password", json={"password": password})

    def list_users(self) -> list[UserPublic]:
        """Every user with its grants."""
        return _USERS.validate_json(self._send("GET", "users"))

    def grant(
        self, name: str, role: Role, repository: str | None = None, *, actor: str | None = None
    ) -> None:
        """Give a role on a repository (``None``: every repository)."""
        body = {"role": role.value, "repository": repository}
        self._send("POST", "users", name, "grants", json=body)

    def revoke(
        self, name: str, role: Role, repository: str | None = None, *, actor: str | None = None
    ) -> None:
        """Take a role on a repository (``None``: the global one)."""
        params = {"role": role.value, **({"repository": repository} if repository else {})}
        self._send("DELETE", "users", name, "grants", params=params)

    def create_token(
        self,
        name: str,
        user: str | None,
        expires_at: datetime | None,
        *,
        actor: str | None = None,
    ) -> TokenCreated:
        """A new service token (the only time it is shown)."""
        body = {"name": name, "user": user, "expires_at": expires_at and expires_at.isoformat()}
        return TokenCreated.model_validate_json(self._send("POST", "tokens", json=body))

    def list_tokens(self, user: str | None = None) -> list[TokenPublic]:
        """The service tokens, never the tokens themselves."""
        params = {"user": user} if user else {}
        return _TOKENS.validate_json(self._send("GET", "tokens", params=params))

    def revoke_token(self, name: str, *, actor: str | None = None) -> None:
        """Revoke a service token."""
        self._send("DELETE", "tokens", name)

    def list_audit(self, query: AuditQuery) -> AuditPage:
        """A page of the audit log."""
        params = query.model_dump(mode="json", exclude_none=True)
        return AuditPage.model_validate_json(self._send("GET", "audit", params=params))
