"""Who a store tells about what it committed: :class:`CommitListeners`, given to the store.

The SQL backend calls these hook points right after its transaction commits, so
each runs exactly once per write, where the write happens (the embedded client
or the registry server). The store never looks its listeners up: whoever builds
the backend passes them in (``get_backend`` and the server's app factory pass
the process's default, :func:`opsml.hooks.commit_listeners`, which the
``opsml.plugins`` entry points fill). A listener's error is logged, never raised:
the write is committed already.

Example:
    >>> from types import SimpleNamespace
    >>> heard = []
    >>> listeners = CommitListeners()
    >>> listeners.commit.append(lambda card: heard.append(card.uid))
    >>> listeners.after_commit(SimpleNamespace(uid="c0ffee"))
    >>> heard
    ['c0ffee']

"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_approvals import ApprovalPublic
    from opsml.schemas_deployments import DeploymentPublic

logger = logging.getLogger("opsml.hooks")

CommitListener = Callable[["CardPublic"], None]
"""Called where a registration is committed; errors are logged, never raised."""

AliasListener = Callable[["CardPublic", "AliasPublic"], None]
"""Called where an alias move is committed, with the card and the alias; errors are logged."""

DeploymentListener = Callable[["DeploymentPublic"], None]
"""Called where a deployment record is committed, once per appended record; errors are logged."""

ApprovalListener = Callable[["ApprovalPublic"], None]
"""Called where an approval request is created or decided (design §19); errors are logged."""


class CommitListeners:
    """The listeners of one store, one list per hook point, and the calls that tell them.

    Args:
        prepare: called before every notification (the process default loads
            the plugins there, which add their listeners on first use).

    Example:
        >>> CommitListeners()
        CommitListeners(commit=0, alias=0, deployment=0, approval=0)

    """

    def __init__(self, prepare: Callable[[], None] | None = None) -> None:
        self.commit: list[CommitListener] = []
        self.alias: list[AliasListener] = []
        self.deployment: list[DeploymentListener] = []
        self.approval: list[ApprovalListener] = []
        self._prepare = prepare

    def __repr__(self) -> str:
        counts = (len(self.commit), len(self.alias), len(self.deployment), len(self.approval))
        return "CommitListeners(commit={}, alias={}, deployment={}, approval={})".format(*counts)

    def after_commit(self, card: CardPublic) -> None:
        """Tell every commit listener that ``card`` was committed."""
        self._tell(self.commit, (card,), "commit listener %r failed for card %s", card.uid)

    def after_alias_set(self, card: CardPublic, alias: AliasPublic) -> None:
        """Tell every alias listener that ``alias`` now points to ``card``."""
        self._tell(self.alias, (card, alias), "alias listener %r failed for card %s", card.uid)

    def after_deployment(self, record: DeploymentPublic) -> None:
        """Tell every deployment listener about ``record`` (its ``opsml.card.deployed``)."""
        failure = "deployment listener %r failed for record %s"
        self._tell(self.deployment, (record,), failure, record.id)

    def after_approval(self, request: ApprovalPublic) -> None:
        """Tell every approval listener that ``request`` was created or decided.

        ``request.state`` says which: ``pending`` (requested), ``approved`` or ``rejected``.
        """
        failure = "approval listener %r failed for request %s"
        self._tell(self.approval, (request,), failure, request.id)

    def _tell(self, listeners: list[Any], args: tuple[Any, ...], failure: str, ident: Any) -> None:
        if self._prepare is not None:
            self._prepare()
        for listener in list(listeners):  # a copy: a listener may remove itself
            try:
                listener(*args)
            except Exception:
                logger.warning(failure, listener, ident, exc_info=True)
