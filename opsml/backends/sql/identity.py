"""Users, service tokens and role grants in the registry database (``SqlIdentityStore``).

The registry server authenticates through it, and ``opsml users`` / ``opsml
tokens`` use it directly for the first administrator. Secrets: argon2 for
passwords, SHA-256 digests for the random tokens (:mod:`opsml.auth.secrets`).

Built by the backend, once (``SqlBackend.identity()``), over the backend's connections.

Example:
    >>> from opsml.backends.sql import SqlBackend
    >>> store = SqlBackend("sqlite:///:memory:", "/tmp/s").identity()  # doctest: +SKIP
    >>> store.add_user("alice", "s3cret").name  # doctest: +SKIP
    'alice'

"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from opsml.auth.models import (
    AuditPage,
    AuditQuery,
    GrantPublic,
    TokenCreated,
    TokenPublic,
    UserPublic,
)
from opsml.auth.roles import GLOBAL, Principal, Role
from opsml.auth.secrets import VerifiedPasswords, hash_password, new_token, token_digest
from opsml.backends.sql import _grants
from opsml.backends.sql._audit import read_audit
from opsml.backends.sql._rows import as_utc
from opsml.backends.sql.tables import AUDIT, GRANTS, TOKENS, USERS
from opsml.errors import IdentityConflictError, IdentityNotFoundError, InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

IDENTITY = "identity"
"""The ``registry`` of the audit entries of user, password, grant and token changes."""
LAST_USE_PRECISION = timedelta(minutes=1)
"""A token's ``last_used_at`` is written at most this often (not on every request)."""


def _check_password(password: str | None) -> None:
    """An empty password is refused: no password at all (``None``) is its own choice."""
    if password is not None and not password:
        raise InvalidInputError(
            "the password is empty: give one, or none at all for a user of service tokens "
            "only (--no-password, or a null password over REST)"
        )


class SqlIdentityStore:
    """Users, grants and tokens of one registry database.

    Args:
        connect: the backend's connections: ``connect(write=...)`` opens one in a
            transaction (the schema created on first use, an outage raised as 503).
        environment: the backend's environment, recorded in the audit log.

    """

    def __init__(
        self, connect: Callable[..., AbstractContextManager[Connection]], environment: str
    ) -> None:
        self._connect = connect
        self.environment = environment
        self._passwords = VerifiedPasswords()

    def _user_id(self, conn: Connection, name: str) -> int:
        user_id = conn.execute(select(USERS.c.id).where(USERS.c.name == name)).scalar()
        if user_id is None:
            raise IdentityNotFoundError(f"no user named {name!r}")
        return int(user_id)

    def _audit(
        self,
        conn: Connection,
        action: str,
        actor: str | None,
        name: str,
        repository: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """One audit entry of an identity change, in the change's transaction (never a secret)."""
        conn.execute(
            insert(AUDIT).values(
                at=datetime.now(UTC), actor=actor, environment=self.environment,
                action=action, registry=IDENTITY, card_uid=None, name=name,
                repository=repository, version=None, detail=detail or {},
            )
        )  # fmt: skip

    def list_audit(self, query: AuditQuery) -> AuditPage:
        """A page of the audit log (see :class:`opsml.auth.models.AuditQuery`)."""
        with self._connect() as conn:
            return read_audit(conn, query)

    def has_users(self) -> bool:
        """True when the database holds at least one user (auth is then on)."""
        with self._connect() as conn:
            return _grants.any_user(conn)

    def add_user(
        self,
        name: str,
        password: str | None,
        *,
        actor: str | None = None,
        admin_if_first: bool = True,
        first_needs_password: bool = False,
    ) -> UserPublic:
        """Add a user (argon2-hashed password; ``None``: tokens only); the first one, with a
        password, is made global ``admin`` in the same transaction (``admin_if_first=False``:
        never; ``first_needs_password``: refuse it without one; see :mod:`._grants`).

        Raises:
            InvalidInputError: the password is empty, or a first user needs one.
            IdentityConflictError: a user of that name exists, or another one became the
                first administrator at the same instant (nothing written).

        """
        _check_password(password)
        created = datetime.now(UTC)
        row = {
            "name": name,
            "password_hash": hash_password(password) if password else None,
            "created_at": created,
            "created_by": actor,
        }
        try:
            with self._connect(write=True) as conn:
                admin = admin_if_first and _grants.becomes_admin(
                    conn, password, only_way_in=first_needs_password
                )
                added = conn.execute(insert(USERS).values(**row))
                self._audit(conn, "user_add", actor, name)
                if admin:  # a new user holds no grant yet: nothing to look up first
                    assert added.inserted_primary_key is not None
                    _grants.make_first_admin(conn, int(added.inserted_primary_key[0]), name)
                    self._audit(conn, "grant", actor, name, None, _grants.FIRST_USER_DETAIL)
        except IntegrityError as exc:
            raise IdentityConflictError(f"a user named {name!r} exists already") from exc
        grants = [GrantPublic(role=Role.ADMIN, repository=None)] if admin else []
        return UserPublic(name=name, has_password=password is not None, created_at=created,
                          created_by=actor, grants=grants)  # fmt: skip

    def remove_user(self, name: str, *, actor: str | None = None, keep_admin: bool = True) -> None:
        """Remove a user with its grants and tokens; not the last administrator
        (``keep_admin=False``: it may go, as a server with a bootstrap administrator asks).

        Raises:
            IdentityNotFoundError: no such user.
            LastAdministratorError: it is the last global administrator (nothing written).

        """
        with self._connect(write=True) as conn:
            user_id = self._user_id(conn, name)
            if keep_admin:
                _grants.keep_an_administrator(conn, user_id, name)
            conn.execute(delete(GRANTS).where(GRANTS.c.user_id == user_id))
            conn.execute(delete(TOKENS).where(TOKENS.c.user_id == user_id))
            conn.execute(delete(USERS).where(USERS.c.id == user_id))
            self._audit(conn, "user_remove", actor, name)

    def set_password(self, name: str, password: str | None, *, actor: str | None = None) -> None:
        """Replace the password of ``name`` (argon2; ``None``: tokens only from now on).

        Raises:
            InvalidInputError: the password is empty.
            IdentityNotFoundError: no such user.

        Example:
            >>> store.set_password("alice", "n3w-s3cret", actor="root")  # doctest: +SKIP

        """
        _check_password(password)
        digest = hash_password(password) if password else None
        with self._connect(write=True) as conn:
            user_id = self._user_id(conn, name)
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(password_hash=digest))
            self._audit(conn, "password_set", actor, name)

    def list_users(self) -> list[UserPublic]:
        """Every user with its grants, by name."""
        with self._connect() as conn:
            rows = conn.execute(select(USERS).order_by(USERS.c.name)).all()
            grants = _grants.held_by(conn, [row.id for row in rows])
        return [
            UserPublic(
                name=row.name,
                has_password=row.password_hash is not None,
                created_at=as_utc(row.created_at),
                created_by=row.created_by,
                grants=grants[row.id],
            )
            for row in rows
        ]

    def grant(
        self, name: str, role: Role, repository: str | None = None, *, actor: str | None = None
    ) -> None:
        """Give ``name`` the ``role`` on ``repository`` (``None``: every repository); idempotent.

        Raises:
            IdentityNotFoundError: no such user.

        """
        self._change_grant("grant", name, role, repository, actor, _grants.insert_grant)

    def revoke(
        self,
        name: str,
        role: Role,
        repository: str | None = None,
        *,
        actor: str | None = None,
        keep_admin: bool = True,
    ) -> None:
        """Take ``role`` on ``repository`` from ``name`` (nothing when not held); not the
        global ``admin`` of the last administrator (``keep_admin``: see :meth:`remove_user`).

        Raises:
            IdentityNotFoundError: no such user.
            LastAdministratorError: it is the last global administrator (nothing written).

        """
        guard = keep_admin and role is Role.ADMIN and not repository
        self._change_grant("revoke", name, role, repository, actor, _grants.delete_grant, guard)

    def _change_grant(
        self,
        action: str,
        name: str,
        role: Role,
        repository: str | None,
        actor: str | None,
        change: Callable[[Connection, dict[str, Any]], bool],
        keep_admin: bool = False,
    ) -> None:
        """``change`` the grant row of (``name``, ``role``, ``repository``); when it changed
        something, the ``action`` audit entry, in the same transaction (``keep_admin``: not
        when ``name`` is the last administrator).
        """
        with self._connect(write=True) as conn:
            user_id = self._user_id(conn, name)
            if keep_admin:
                _grants.keep_an_administrator(conn, user_id, name)
            key = {"user_id": user_id, "repository": repository or GLOBAL, "role": role.value}
            if change(conn, key):
                self._audit(conn, action, actor, name, repository, {"role": role.value})

    def create_token(
        self,
        name: str,
        user: str | None,
        expires_at: datetime | None,
        *,
        actor: str | None = None,
    ) -> TokenCreated:
        """A new service token of ``user``; the returned ``token`` is never stored.

        Raises:
            InvalidInputError: no user named, or ``expires_at`` is not in the future.
            IdentityNotFoundError: no such user.
            IdentityConflictError: a token of that name exists.

        """
        if not user:
            raise InvalidInputError("name the user the token acts for (--user)")
        expires_at = as_utc(expires_at)
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise InvalidInputError(
                f"expires_at {expires_at.isoformat()} is not in the future: a token would be "
                "dead when made; give a later time, or none for a token that never expires"
            )
        token = new_token()
        row: dict[str, Any] = {
            "name": name,
            "digest": token_digest(token),
            "created_at": datetime.now(UTC),
            "expires_at": expires_at,
        }
        try:
            with self._connect(write=True) as conn:
                row["user_id"] = self._user_id(conn, user)
                conn.execute(insert(TOKENS).values(**row))
                expiry = expires_at.isoformat() if expires_at else None
                self._audit(conn, "token_create", actor, name, None,
                            {"user": user, "expires_at": expiry})  # fmt: skip
        except IntegrityError as exc:
            raise IdentityConflictError(f"a token named {name!r} exists already") from exc
        return TokenCreated(
            name=name, user=user, created_at=row["created_at"], expires_at=expires_at, token=token
        )

    def list_tokens(self, user: str | None = None) -> list[TokenPublic]:
        """The tokens (of ``user``, or all), by name; never the tokens themselves."""
        query = select(
            TOKENS.c.name,
            USERS.c.name.label("user"),
            TOKENS.c.created_at,
            TOKENS.c.expires_at,
            TOKENS.c.last_used_at,
        ).join(USERS, USERS.c.id == TOKENS.c.user_id)
        if user is not None:
            query = query.where(USERS.c.name == user)
        with self._connect() as conn:
            rows = conn.execute(query.order_by(TOKENS.c.name)).all()
        return [
            TokenPublic(
                name=row.name,
                user=row.user,
                created_at=as_utc(row.created_at),
                expires_at=as_utc(row.expires_at),
                last_used_at=as_utc(row.last_used_at),
            )
            for row in rows
        ]

    def revoke_token(self, name: str, *, actor: str | None = None) -> None:
        """Delete the token ``name``: it stops working (see the server's cache bound).

        Raises:
            IdentityNotFoundError: no such token.

        """
        owner = select(USERS.c.name).join(TOKENS, TOKENS.c.user_id == USERS.c.id)
        with self._connect(write=True) as conn:
            user = conn.execute(owner.where(TOKENS.c.name == name)).scalar()
            if not conn.execute(delete(TOKENS).where(TOKENS.c.name == name)).rowcount:
                raise IdentityNotFoundError(f"no token named {name!r}")
            self._audit(conn, "token_revoke", actor, name, None, {"user": user})

    def _principal(self, conn: Connection, user_id: int, name: str) -> Principal:
        held: dict[str, set[Role]] = {}
        for grant in _grants.held_by(conn, [user_id])[user_id]:
            held.setdefault(grant.repository or GLOBAL, set()).add(grant.role)
        return Principal(name, held)

    def principal_for_password(self, name: str, password: str) -> Principal | None:
        """The user ``name`` when ``password`` matches its argon2 hash, else ``None``."""
        with self._connect() as conn:
            row = conn.execute(
                select(USERS.c.id, USERS.c.password_hash).where(USERS.c.name == name)
            ).first()
            if row is None or row.password_hash is None:
                return None
            if not self._passwords.verify(row.password_hash, password):
                return None
            return self._principal(conn, row.id, name)

    def principal_for_name(self, name: str) -> Principal:
        """The user ``name`` vouched for by a trusted proxy: its grants (none if unknown)."""
        with self._connect() as conn:
            user_id = conn.execute(select(USERS.c.id).where(USERS.c.name == name)).scalar()
            if user_id is None:
                return Principal(name, {})
            return self._principal(conn, int(user_id), name)

    def principal_for_token(self, token: str) -> Principal | None:
        """The owner of ``token`` (named ``user/token-name``) when valid and unexpired."""
        now = datetime.now(UTC)
        with self._connect() as conn:
            row = conn.execute(
                select(TOKENS.c.id, TOKENS.c.name, TOKENS.c.user_id, TOKENS.c.expires_at)
                .add_columns(TOKENS.c.last_used_at, USERS.c.name.label("user"))
                .join(USERS, USERS.c.id == TOKENS.c.user_id)
                .where(TOKENS.c.digest == token_digest(token))
            ).first()
            if row is None:
                return None
            expires = as_utc(row.expires_at)
            if expires is not None and expires <= now:
                return None
            principal = self._principal(conn, row.user_id, f"{row.user}/{row.name}")
        last = as_utc(row.last_used_at)
        if last is None or now - last > LAST_USE_PRECISION:
            with self._connect(write=True) as conn:
                conn.execute(update(TOKENS).where(TOKENS.c.id == row.id).values(last_used_at=now))
        return principal
