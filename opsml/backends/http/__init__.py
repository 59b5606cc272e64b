"""The HTTP backend, a client of the registry server.

Parts: :mod:`~opsml.backends.http.client` (the :class:`HttpBackend`),
:mod:`~opsml.backends.http._transfers` (transfers through the server),
:mod:`~opsml.backends.http._presigned` (direct transfers with presigned URLs),
all talking to the server through one :class:`~opsml.backends.http._transport.Transport`.
"""

from __future__ import annotations

from opsml.backends.http._lean_httpx import import_httpx

import_httpx()  # before any module here imports httpx: see _lean_httpx

from opsml.backends.http.client import INLINE_LIMIT, HttpBackend  # noqa: E402

__all__ = ["INLINE_LIMIT", "HttpBackend"]
