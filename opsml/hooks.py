"""Extension points: context added to cards at registration, listeners told after it.

The Prefect collection uses them to record flow-run lineage and to emit the
``opsml.card.registered`` event; nothing here imports Prefect. Hooks of
installed plugins are loaded from the ``opsml.plugins`` entry point group the
first time a card is registered in a process.

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

logger = logging.getLogger("opsml.hooks")

ContextProvider = Callable[["Card"], None]
"""Called before a card is written; may fill in fields such as ``lineage``."""
Listener = Callable[["Card"], None]
"""Called after a card is registered; errors are logged, never raised."""

_providers: list[ContextProvider] = []
_listeners: list[Listener] = []
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
