"""Import httpx without loading its command-line client.

``httpx/__init__`` runs ``from ._main import main``, and ``httpx._main`` imports
``click``, ``rich`` and ``pygments`` whenever they are installed (Prefect and
typer install them): about 45 ms of a fresh process's first registration, for a
command-line client the registry never runs. While httpx is first imported here,
``httpx._main`` is marked absent, so httpx takes its own fallback; the mark is
removed at once and ``httpx.main`` becomes a function that imports the real one
when called, so ``httpx.main()`` and ``import httpx._main`` behave as before. The
``httpx`` command runs in its own process and imports httpx itself: unaffected.

Example:
    >>> import_httpx()
    >>> import httpx
    >>> callable(httpx.main)
    True

"""

from __future__ import annotations

import sys
from typing import Any

_CLI = "httpx._main"


def _main_on_demand(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``, imported when it is called."""
    from httpx._main import main

    return main(*args, **kwargs)


def import_httpx() -> None:
    """Import httpx (once per process) without importing ``httpx._main`` with it."""
    if "httpx" in sys.modules:
        return
    sys.modules[_CLI] = None  # type: ignore[assignment]  # None: "cannot be imported"
    try:
        import httpx
    finally:
        if _CLI in sys.modules and sys.modules[_CLI] is None:
            del sys.modules[_CLI]
    httpx.main = _main_on_demand  # type: ignore[assignment]  # a click command, called alike
