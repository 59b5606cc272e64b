"""Extension points: context added to cards at registration, listeners told after it.

Three kinds of hook, all process-wide:

- context providers run on a card in the client before it is written (the
  Prefect plugin fills ``card.lineage`` from the current flow run);
- listeners run on the card in the client after it is registered (the Prefect
  plugin attaches a link artifact to the flow run);
- commit listeners run where the registration is committed, with the
  :class:`~opsml.schemas.CardPublic`: in the embedded client, or in the
  registry server. The ``opsml.card.registered`` event is emitted from there, so
  it goes out exactly once per registration whichever way the card came in.

The commit listeners live in a :class:`~opsml.listeners.CommitListeners`
that the store is given, never imports: :func:`commit_listeners` is this
process's default, which ``get_backend`` and the registry server's app factory
pass to the SQL backend they build. The functions below add to and run the
process's default hooks (a :class:`Hooks`).

Nothing here imports Prefect. Plugins are loaded from the ``opsml.plugins``
entry point group the first time a hook runs in a process.

Example:
    >>> seen = []
    >>> add_listener(lambda card: seen.append(card.uid))
    >>> remove_listener(seen.append)  # unknown listeners are ignored

"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from opsml._plugins import commit_listeners, load_plugins
from opsml.listeners import (
    AliasListener,
    ApprovalListener,
    CommitListener,
    CommitListeners,
    DeploymentListener,
)

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_approvals import ApprovalPublic
    from opsml.schemas_deployments import DeploymentPublic

__all__ = [
    "AliasListener",
    "ApprovalListener",
    "CommitListener",
    "ContextProvider",
    "DeploymentListener",
    "Hooks",
    "Listener",
    "add_alias_listener",
    "add_approval_listener",
    "add_commit_listener",
    "add_context_provider",
    "add_deployment_listener",
    "add_listener",
    "after_alias_set",
    "after_approval",
    "after_commit",
    "after_deployment",
    "after_register",
    "before_register",
    "commit_listeners",
    "load_plugins",
    "remove_alias_listener",
    "remove_approval_listener",
    "remove_commit_listener",
    "remove_deployment_listener",
    "remove_listener",
]

logger = logging.getLogger("opsml.hooks")

ContextProvider = Callable[["Card"], None]
"""Called before a card is written; may fill in fields such as ``lineage``."""
Listener = Callable[["Card"], None]
"""Called after a card is registered; errors are logged, never raised."""

_T = TypeVar("_T")


class Hooks:
    """A set of hooks: the client's around ``register_card`` and the store's (``commits``).

    Args:
        commits: the store's listeners; default new ones that load the plugins
            before they tell anyone. The process's default hooks hold
            :func:`commit_listeners`, which the backend factories give the SQL backend.

    Example:
        >>> hooks = Hooks()
        >>> hooks.commits
        CommitListeners(commit=0, alias=0, deployment=0, approval=0)

    """

    def __init__(self, commits: CommitListeners | None = None) -> None:
        self.providers: list[ContextProvider] = []
        self.listeners: list[Listener] = []
        self.commits = CommitListeners(prepare=load_plugins) if commits is None else commits

    def before_register(self, card: Card) -> None:
        """Run every context provider on ``card``."""
        load_plugins()
        for provider in list(self.providers):
            try:
                provider(card)
            except Exception:
                logger.warning("context provider %r failed", provider, exc_info=True)

    def after_register(self, card: Card) -> None:
        """Tell every listener about ``card``."""
        for listener in list(self.listeners):
            try:
                listener(card)
            except Exception:
                logger.warning("listener %r failed for card %s", listener, card.uid, exc_info=True)


_hooks = Hooks(commit_listeners())
_commit_listeners = _hooks.commits.commit  # the default's list, under its former name


def _add(listeners: list[_T], listener: _T) -> None:
    if listener not in listeners:
        listeners.append(listener)


def _remove(listeners: list[_T], listener: _T) -> None:
    if listener in listeners:
        listeners.remove(listener)


def add_context_provider(provider: ContextProvider) -> None:
    """Call ``provider(card)`` before every registration in this process."""
    _add(_hooks.providers, provider)


def add_listener(listener: Listener) -> None:
    """Call ``listener(card)`` after every successful registration in this process."""
    _add(_hooks.listeners, listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling ``listener``."""
    _remove(_hooks.listeners, listener)


def add_commit_listener(listener: CommitListener) -> None:
    """Call ``listener(card_public)`` after every registration this process commits."""
    _add(_hooks.commits.commit, listener)


def remove_commit_listener(listener: CommitListener) -> None:
    """Stop calling a commit listener."""
    _remove(_hooks.commits.commit, listener)


def add_alias_listener(listener: AliasListener) -> None:
    """Call ``listener(card_public, alias)`` after every alias move this process commits."""
    _add(_hooks.commits.alias, listener)


def remove_alias_listener(listener: AliasListener) -> None:
    """Stop calling an alias listener."""
    _remove(_hooks.commits.alias, listener)


def add_deployment_listener(listener: DeploymentListener) -> None:
    """Call ``listener(record)`` after every deployment record this process commits."""
    _add(_hooks.commits.deployment, listener)


def remove_deployment_listener(listener: DeploymentListener) -> None:
    """Stop calling a deployment listener."""
    _remove(_hooks.commits.deployment, listener)


def add_approval_listener(listener: ApprovalListener) -> None:
    """Call ``listener(request)`` after every approval request this process creates or decides."""
    _add(_hooks.commits.approval, listener)


def remove_approval_listener(listener: ApprovalListener) -> None:
    """Stop calling an approval listener."""
    _remove(_hooks.commits.approval, listener)


def before_register(card: Card) -> None:
    """Run every context provider on ``card``."""
    _hooks.before_register(card)


def after_register(card: Card) -> None:
    """Tell every listener about ``card``."""
    _hooks.after_register(card)


def after_commit(card: CardPublic) -> None:
    """Tell the default commit listeners that ``card`` was committed.

    A SQL backend tells the :class:`CommitListeners` it was given; this runs
    the process's default ones (see :meth:`CommitListeners.after_commit`).
    """
    _hooks.commits.after_commit(card)


def after_alias_set(card: CardPublic, alias: AliasPublic) -> None:
    """Tell the default alias listeners that ``alias`` now points to ``card``."""
    _hooks.commits.after_alias_set(card, alias)


def after_deployment(record: DeploymentPublic) -> None:
    """Tell the default deployment listeners about ``record``."""
    _hooks.commits.after_deployment(record)


def after_approval(request: ApprovalPublic) -> None:
    """Tell the default approval listeners that ``request`` was created or decided."""
    _hooks.commits.after_approval(request)
