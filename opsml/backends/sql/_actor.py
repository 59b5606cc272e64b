"""The SQL backend's declared actor, and the audit rule every one of its writes applies.

A registry server passes the actor it resolved (its authenticated caller, or the
``X-Opsml-Actor`` an open server read); an embedded or direct-database registry
passes none, and the backend's own declared actor counts (``OPSML_ACTOR``, default
the OS user: ``SqlBackend.from_settings``). One rule,
:func:`opsml.auth.actor.acting`, for every write (docs/security.md).
"""

from __future__ import annotations

from opsml.auth.actor import acting


class ActorMixin:
    """``actor`` and ``_acting``: who a write of this backend is audited as."""

    actor: str | None = None
    """Who acts when the caller names nobody (``OPSML_ACTOR`` or the OS user; none on a server)."""

    def _acting(self, actor: str | None) -> str | None:
        """``actor`` (resolved by the caller: a server's), else this backend's declared actor.

        Raises:
            InvalidInputError: the declared actor does not name a person (nothing written).

        """
        return acting(actor, self.actor, "OPSML_ACTOR")
