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

Nothing here imports Prefect. Plugins are loaded from the ``opsml.plugins``
entry point group the first time a hook runs in a process.

Example:
    >>> seen = []
    >>> add_listener(lambda card: seen.append(card.uid))
    >>> remove_listener(seen.append)  # unknown listeners are ignored

"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_approvals import ApprovalPublic
    from opsml.schemas_deployments import DeploymentPublic

logger = logging.getLogger("opsml.hooks")

ContextProvider = Callable[["Card"], None]
"""Called before a card is written; may fill in fields such as ``lineage``."""
Listener = Callable[["Card"], None]
"""Called after a card is registered; errors are logged, never raised."""

CommitListener = Callable[["CardPublic"], None]
"""Called where a registration is committed; errors are logged, never raised."""

AliasListener = Callable[["CardPublic", "AliasPublic"], None]
"""Called where an alias move is committed, with the card and the alias; errors are logged."""

DeploymentListener = Callable[["DeploymentPublic"], None]
"""Called where a deployment record is committed, once per appended record; errors are logged."""

ApprovalListener = Callable[["ApprovalPublic"], None]
"""Called where an approval request is created or decided (design §19); errors are logged."""

_providers: list[ContextProvider] = []
_approval_listeners: list[ApprovalListener] = []
_deployment_listeners: list[DeploymentListener] = []
_alias_listeners: list[AliasListener] = []
_listeners: list[Listener] = []
_commit_listeners: list[CommitListener] = []
_plugins_loaded = False
_lock = threading.Lock()


def add_context_provider(provider: ContextProvider) -> None:
    """Call ``provider(card)`` before every registration in this process."""
    if provider not in _providers:
        _providers.append(provider)


def add_listener(listener: Listener) -> None:
    """Call ``listener(card)`` after every successful registration in this process."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling ``listener``."""
    if listener in _listeners:
        _listeners.remove(listener)


def add_commit_listener(listener: CommitListener) -> None:
    """Call ``listener(card_public)`` after every registration this process commits."""
    if listener not in _commit_listeners:
        _commit_listeners.append(listener)


def remove_commit_listener(listener: CommitListener) -> None:
    """Stop calling a commit listener."""
    if listener in _commit_listeners:
        _commit_listeners.remove(listener)


def add_alias_listener(listener: AliasListener) -> None:
    """Call ``listener(card_public, alias)`` after every alias move this process commits."""
    if listener not in _alias_listeners:
        _alias_listeners.append(listener)


def remove_alias_listener(listener: AliasListener) -> None:
    """Stop calling an alias listener."""
    if listener in _alias_listeners:
        _alias_listeners.remove(listener)


def add_deployment_listener(listener: DeploymentListener) -> None:
    """Call ``listener(record)`` after every deployment record this process commits."""
    if listener not in _deployment_listeners:
        _deployment_listeners.append(listener)


def remove_deployment_listener(listener: DeploymentListener) -> None:
    """Stop calling a deployment listener."""
    if listener in _deployment_listeners:
        _deployment_listeners.remove(listener)


def add_approval_listener(listener: ApprovalListener) -> None:
    """Call ``listener(request)`` after every approval request this process creates or decides."""
    if listener not in _approval_listeners:
        _approval_listeners.append(listener)


def remove_approval_listener(listener: ApprovalListener) -> None:
    """Stop calling an approval listener."""
    if listener in _approval_listeners:
        _approval_listeners.remove(listener)


def load_plugins() -> None:
    """Import the ``opsml.plugins`` entry points once (they register hooks)."""
    global _plugins_loaded
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="opsml.plugins"):
        try:
            ep.load()
        except Exception:  # a broken plugin must not break registration
            logger.warning("opsml plugin %s failed to load", ep.name, exc_info=True)


def before_register(card: Card) -> None:
    """Run every context provider on ``card``."""
    load_plugins()
    for provider in list(_providers):
        try:
            provider(card)
        except Exception:
            logger.warning("context provider %r failed", provider, exc_info=True)


def after_register(card: Card) -> None:
    """Tell every listener about ``card``."""
    for listener in list(_listeners):
        try:
            listener(card)
        except Exception:
            logger.warning("listener %r failed for card %s", listener, card.uid, exc_info=True)


def after_commit(card: CardPublic) -> None:
    """Tell every commit listener that ``card`` was committed (called by the SQL backend)."""
    load_plugins()
    for listener in list(_commit_listeners):
        try:
            listener(card)
        except Exception:
            logger.warning(
                "commit listener %r failed for card %s", listener, card.uid, exc_info=True
            )


def after_alias_set(card: CardPublic, alias: AliasPublic) -> None:
    """Tell every alias listener that ``alias`` now points to ``card`` (called by the SQL backend).

    Like :func:`after_commit`, it runs only where the move is committed (the
    embedded client or the registry server), so an event goes out exactly once.
    """
    load_plugins()
    for listener in list(_alias_listeners):
        try:
            listener(card, alias)
        except Exception:
            logger.warning(
                "alias listener %r failed for card %s", listener, card.uid, exc_info=True
            )


def after_deployment(record: DeploymentPublic) -> None:
    """Tell every deployment listener about ``record`` (called by the SQL backend).

    Runs only where the record is committed (embedded client or registry
    server), so its ``opsml.card.deployed`` event goes out exactly once.
    """
    load_plugins()
    for listener in list(_deployment_listeners):
        try:
            listener(record)
        except Exception:
            logger.warning(
                "deployment listener %r failed for record %s", listener, record.id, exc_info=True
            )


def after_approval(request: ApprovalPublic) -> None:
    """Tell every approval listener that ``request`` was created or decided (by the SQL backend).

    ``request.state`` says which: ``pending`` (requested), ``approved`` or
    ``rejected``. Runs only where it is committed, so each event goes out once.
    """
    load_plugins()
    for listener in list(_approval_listeners):
        try:
            listener(request)
        except Exception:
            logger.warning(
                "approval listener %r failed for request %s", listener, request.id, exc_info=True
            )
