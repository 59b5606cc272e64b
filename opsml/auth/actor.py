"""Who a write is audited as: one rule for every mode (docs/security.md, "Who the audit log names").

1. the caller a registry server authenticated (a user, or ``user/token-name``);
2. else the actor the client *declares*: ``OPSML_ACTOR`` (``OpsmlSettings.actor``),
   default the OS user. Embedded and direct-database registries use it as is; the
   HTTP client sends it as ``X-Opsml-Actor`` on every write, which only a server
   without authentication reads (a server with auth ignores the header, so it never
   lets anyone act as someone else);
3. else nobody (``None``).

:func:`acting` is that rule; the registry server's write dependency and the SQL
backend both apply it, so a write names the same actor whichever way it arrives.

Example:
    >>> acting("alice", "mallory"), acting(None, "bob"), acting(None, None)
    ('alice', 'bob', None)

"""

from __future__ import annotations

import re

from opsml.errors import InvalidInputError

ACTOR_HEADER = "X-Opsml-Actor"
"""Header naming the declared actor; read only by a server without authentication."""
_ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@/-]{0,255}$")

__all__ = ["ACTOR_HEADER", "acting", "check_actor", "declared_actor"]


def check_actor(value: object) -> str:
    """``value`` when it names a person (1-256 of letters, digits, ``._@/-``).

    Raises:
        ValueError: anything else.

    Example:
        >>> check_actor("alice@example.com")
        'alice@example.com'

    """
    if not isinstance(value, str) or not _ACTOR.fullmatch(value):
        raise ValueError(
            f"{value!r} does not name a person: use 1-256 letters, digits or ._@/- "
            "(OPSML_ACTOR, or log in to the registry server)"
        )
    return value


def acting(caller: str | None, declared: str | None, source: str = ACTOR_HEADER) -> str | None:
    """The actor of a write: the authenticated ``caller``, else ``declared`` (checked), else None.

    Args:
        caller: who the registry server authenticated, or the actor a caller of the
            backend already resolved; taken as it is.
        declared: the declared actor (an ``X-Opsml-Actor`` header, ``OPSML_ACTOR``),
            consulted only when there is no ``caller``.
        source: where ``declared`` came from, for the error message.

    Raises:
        InvalidInputError: ``declared`` is needed and does not name a person (400);
            nothing has been written.

    """
    if caller:
        return caller
    if declared is None:
        return None
    try:
        return check_actor(declared)
    except ValueError as exc:
        raise InvalidInputError(f"{source}: {exc}") from None


def declared_actor(configured: str | None) -> str | None:
    """What this process declares: ``configured`` (``OPSML_ACTOR``), else the OS user.

    An OS user name that does not name a person under :func:`check_actor` (a
    space, a backslash) is not declared: writes then name nobody rather than
    fail, where ``OPSML_ACTOR`` can say who acts. A configured value is kept as
    given, and refused (with its source) by the write that needs it.

    Example:
        >>> declared_actor("carol")
        'carol'

    """
    if configured:
        return configured
    from opsml.config import whoami

    me = whoami()
    return me if me and _ACTOR.fullmatch(me) else None
