"""The smallest ASGI app: the loopback HTTP floor that any server on this machine pays.

``GET /`` answers ``ok``; ``GET /bytes/{n}`` streams n bytes in 4 MiB chunks;
``PUT /sink`` reads and drops the body; ``PUT /sink-hashed`` also hashes it (SHA-256, in
the event loop as it arrives) and answers the hex digest: the floor of an upload that the
receiver verifies; ``PUT /sink-stored`` also writes it to a new file of ``BARE_STORE_DIR``
(kept until the server's folder is removed, as a store keeps what it receives): the floor of
an upload that the receiver verifies and stores. Served with the same uvicorn settings as
the registry server (uvloop, httptools).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

CHUNK = b"\0" * (4 * 1024 * 1024)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path.startswith("/bytes/"):
        total = int(path.rsplit("/", 1)[1])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(total).encode())],
            }
        )
        while total > 0:
            piece = CHUNK if total >= len(CHUNK) else CHUNK[:total]
            total -= len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": total > 0})
        return
    if path in ("/sink", "/sink-hashed", "/sink-stored"):
        digest = hashlib.sha256() if path != "/sink" else None
        stored = (
            tempfile.NamedTemporaryFile(dir=os.environ.get("BARE_STORE_DIR"), delete=False)  # noqa: SIM115
            if path == "/sink-stored"
            else None
        )
        received = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            received += len(chunk)
            if digest is not None:
                digest.update(chunk)
            if stored is not None:
                stored.write(chunk)
            more = message.get("more_body", False)
        if stored is not None:
            stored.close()
        body = (digest.hexdigest() if digest else str(received)).encode()
    else:
        body = b"ok"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
