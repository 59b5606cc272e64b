"""Import httpx without loading its command-line client, and httpcore without its HTTP/2.

``httpx/__init__`` runs ``from ._main import main``, and ``httpx._main`` imports
``click``, ``rich`` and ``pygments`` whenever they are installed (Prefect and
typer install them): about 45 ms of a fresh process's first registration, for a
command-line client the registry never runs. While httpx is first imported here,
``httpx._main`` is marked absent, so httpx takes its own fallback; the mark is
removed at once and ``httpx.main`` becomes a function that imports the real one
when called, so ``httpx.main()`` and ``import httpx._main`` behave as before. The
``httpx`` command runs in its own process and imports httpx itself: unaffected.

Likewise ``httpcore`` imports its HTTP/2 connections (and with them ``h2``,
``hpack`` and ``hyperframe``: about 11 ms) whenever ``h2`` is installed (Prefect
installs it), for a client that only speaks HTTP/1.1. Its connection imports them
again, by itself, when it negotiates HTTP/2, so they are marked absent only while
httpcore is first imported; the names httpcore then binds to its "h2 is missing"
stand-ins (``httpcore.HTTP2Connection``, ``httpcore.AsyncHTTP2Connection`` and
their subpackages' own) are replaced by the real classes, imported on first access.

Example:
    >>> import_httpx()
    >>> import httpx
    >>> callable(httpx.main)
    True

"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

_CLI = "httpx._main"
_HTTP2 = {
    # (package, name it binds): the module the real class lives in
    ("httpcore", "HTTP2Connection"): "httpcore._sync.http2",
    ("httpcore._sync", "HTTP2Connection"): "httpcore._sync.http2",
    ("httpcore", "AsyncHTTP2Connection"): "httpcore._async.http2",
    ("httpcore._async", "AsyncHTTP2Connection"): "httpcore._async.http2",
}


@contextmanager
def _absent(*modules: str) -> Iterator[None]:
    """``modules`` cannot be imported inside the block (``None`` in ``sys.modules``)."""
    for name in modules:
        sys.modules[name] = None  # type: ignore[assignment]  # None: "cannot be imported"
    try:
        yield
    finally:
        for name in modules:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _on_first_access(package: ModuleType, name: str, home: str) -> None:
    """Make ``package.name`` the attribute ``name`` of module ``home``, imported when read."""
    delattr(package, name)
    before = package.__dict__.get("__getattr__")

    def __getattr__(attribute: str) -> Any:
        if attribute == name:
            value = getattr(importlib.import_module(home), name)
            setattr(package, name, value)
            return value
        if before is not None:
            return before(attribute)
        raise AttributeError(f"module {package.__name__!r} has no attribute {attribute!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]  # PEP 562


def import_httpcore() -> None:
    """Import httpcore (once per process) without its HTTP/2 modules; they come on demand."""
    if "httpcore" in sys.modules or importlib.util.find_spec("h2") is None:
        return  # already imported, or without h2: nothing to defer
    with _absent(*set(_HTTP2.values())):
        import httpcore
    del httpcore
    for (package, name), home in _HTTP2.items():
        _on_first_access(sys.modules[package], name, home)


def _main_on_demand(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``, imported when it is called."""
    from httpx._main import main

    return main(*args, **kwargs)


def import_httpx() -> None:
    """Import httpx (once per process) without ``httpx._main``, and httpcore without HTTP/2."""
    if "httpx" in sys.modules:
        return
    import_httpcore()  # httpx imports it with its first client
    with _absent(_CLI):
        import httpx
    httpx.main = _main_on_demand  # type: ignore[assignment]  # a click command, called alike
