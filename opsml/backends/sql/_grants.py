"""Grant rows of :class:`~opsml.backends.sql.identity.SqlIdentityStore`, the rule of the
first user and the rule of the last administrator (docs/security.md, "The first user").

A user given a password on a database that holds no user yet is the registry's
administrator: the ``add_user`` that makes it also grants it the global ``admin`` role, in
the same transaction, so that no state exists where users turn a server's auth on and
nobody may manage them. A user without a password (tokens only) is a machine's and gets no
role; through a server with nobody else to log in as, it is refused as the first user.
The transaction that makes it inserts the one guard row (``opsml_first_admin``, key 1): a
second transaction making a first administrator at the same instant on PostgreSQL or
MariaDB (where both saw no user) waits on that key, fails its unique constraint once the
first commits, and is refused with nothing written.

The last user holding the global ``admin`` role can be neither removed nor lose that role
(unless the caller knows of an administrator outside the database: a server's bootstrap
one). The check locks the global ``admin`` grant rows in the change's transaction, so two
transactions removing the last two administrators take turns and the second is refused.

Example:
    >>> first_admin_grant(7)
    {'user_id': 7, 'repository': '', 'role': 'admin'}

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from opsml.auth.models import GrantPublic
from opsml.auth.roles import GLOBAL, Role
from opsml.backends.sql.tables import FIRST_ADMIN, GRANTS, USERS
from opsml.errors import IdentityConflictError, InvalidInputError, LastAdministratorError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

FIRST_USER_DETAIL = {"role": Role.ADMIN.value, "first_user": True}
"""The ``detail`` of the audit entry of the first user's ``admin`` grant."""


def _matching(key: dict[str, Any]) -> list[Any]:
    """The conditions selecting the grant row ``key``."""
    return [GRANTS.c[column] == value for column, value in key.items()]


def held_by(conn: Connection, user_ids: list[int]) -> dict[int, list[GrantPublic]]:
    """The grants of each of ``user_ids``, by repository and role."""
    rows = conn.execute(
        select(GRANTS.c.user_id, GRANTS.c.role, GRANTS.c.repository)
        .where(GRANTS.c.user_id.in_(user_ids))
        .order_by(GRANTS.c.repository, GRANTS.c.role)
    )
    found: dict[int, list[GrantPublic]] = {uid: [] for uid in user_ids}
    for user_id, role, repository in rows:
        found[user_id].append(GrantPublic(role=Role(role), repository=repository or None))
    return found


def insert_grant(conn: Connection, key: dict[str, Any]) -> bool:
    """Insert the grant row ``key`` unless held already; whether it was inserted."""
    exists = conn.execute(select(func.count()).select_from(GRANTS).where(*_matching(key)))
    if exists.scalar_one():
        return False
    conn.execute(insert(GRANTS).values(**key))
    return True


def delete_grant(conn: Connection, key: dict[str, Any]) -> bool:
    """Delete the grant row ``key``; whether there was one."""
    return bool(conn.execute(delete(GRANTS).where(*_matching(key))).rowcount)


def any_user(conn: Connection) -> bool:
    """Whether the database holds at least one user (a server's auth is then on)."""
    return conn.execute(select(USERS.c.id).limit(1)).first() is not None


def keep_an_administrator(conn: Connection, user_id: int, name: str) -> None:
    """Refuse to take the user ``user_id`` (``name``) away as an administrator when it is the
    only one; the global ``admin`` grant rows stay locked until ``conn``'s transaction ends.

    Raises:
        LastAdministratorError: ``user_id`` holds the only global ``admin`` grant (409).

    """
    admins = select(GRANTS.c.user_id).where(
        GRANTS.c.repository == GLOBAL, GRANTS.c.role == Role.ADMIN.value
    )
    held = set(conn.execute(admins.with_for_update()).scalars())
    if held == {user_id}:
        raise LastAdministratorError(
            f"{name} is the last administrator; grant admin to another user first "
            f"(opsml users grant USER admin), or the registry would be left with users and "
            "nobody to manage them"
        )


def first_admin_grant(user_id: int) -> dict[str, Any]:
    """The grant row that makes the user ``user_id`` a global administrator."""
    return {"user_id": user_id, "repository": GLOBAL, "role": Role.ADMIN.value}


def make_first_admin(conn: Connection, user_id: int, name: str) -> None:
    """Make the user ``user_id`` (``name``), just inserted in ``conn``'s transaction where
    :func:`becomes_admin` said so, the first administrator: the guard row, then its grant.

    Raises:
        IdentityConflictError: another transaction made a first administrator meanwhile
            (its guard row was committed first); ``conn``'s transaction must roll back.

    """
    try:
        conn.execute(insert(FIRST_ADMIN).values(id=1, user_id=user_id))
    except IntegrityError as exc:
        raise IdentityConflictError(
            f"{name!r} was not added: another user, added at the same instant, became this "
            "registry's first administrator; nothing was written. Add the user again, "
            "through a server as an administrator"
        ) from exc
    conn.execute(insert(GRANTS).values(**first_admin_grant(user_id)))


def becomes_admin(conn: Connection, password: str | None, *, only_way_in: bool) -> bool:
    """Whether the user about to be added (in ``conn``'s transaction) is the first one and
    has a password, so that it is made the administrator.

    Two transactions adding the first user at the same instant on PostgreSQL or MariaDB may
    both see no user here: :func:`make_first_admin` lets only one of them through.

    Raises:
        InvalidInputError: ``only_way_in`` (a server with no other administrator), it is the
            first user and it has no password: nobody could log in after it (nothing written).

    """
    if any_user(conn):
        return False
    if password is not None:
        return True
    if only_way_in:
        raise InvalidInputError(
            "the first user of this registry becomes its administrator and turns its auth on: "
            'give it a password (--password, or "password" over REST), or no one could log in; '
            "add users of service tokens only (--no-password) after it"
        )
    return False
