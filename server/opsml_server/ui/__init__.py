"""The web UI: server-rendered pages under ``/ui/`` over the ``RegistryBackend`` interface.

``router`` is included by the app factory; :mod:`opsml_server.ui.standalone`
serves the same pages for ``opsml ui``. Templates autoescape everything; every
response carries a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

from opsml_server.ui.routes import router

__all__ = ["router"]
