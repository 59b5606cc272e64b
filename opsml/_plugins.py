"""The ``opsml.plugins`` entry points, loaded once, and the commit listeners they fill.

:func:`commit_listeners` is the process's default
:class:`~opsml.listeners.CommitListeners`: what the backend factory
(``get_backend``) and the registry server's app factory give the SQL backends
they build, and what :mod:`opsml.hooks` adds listeners to. It loads the plugins
before it tells anyone, so a plugin's listeners hear even the first commit.
Nothing here imports above the backends' listener module: the factories can
use it without reaching up to the cards.

Example:
    >>> commit_listeners() is commit_listeners()
    True

"""

from __future__ import annotations

import logging
import threading

from opsml.listeners import CommitListeners

logger = logging.getLogger("opsml.hooks")

_plugins_loaded = False
_lock = threading.Lock()


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


_default = CommitListeners(prepare=load_plugins)


def commit_listeners() -> CommitListeners:
    """The process's default commit listeners (see the module's docstring)."""
    return _default
