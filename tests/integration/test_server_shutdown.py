"""Graceful shutdown: SIGTERM lets an in-flight download finish, then the server exits."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import httpx

from opsml.backends.http import HttpBackend
from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import running_server


def test_sigterm_finishes_in_flight_request(tmp_path: Path) -> None:
    data = os.urandom(1024 * 1024) * 64  # 64 MiB
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "weights.bin").write_bytes(data)
    card = CardCreate(
        registry="run",
        name="shutdown",
        repository="ds",
        contact="me",
        files=[
            ArtifactFile(
                path="weights.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest()
            )
        ],
    )
    with running_server(tmp_path / "server") as server:
        backend = HttpBackend(server.url)
        public = backend.register_card(card, tmp_path / "src")
        backend.close()
        url = f"{server.url}/api/v1/cards/run/{public.uid}/files/weights.bin"
        digest = hashlib.sha256()
        received = 0
        with httpx.stream("GET", url, timeout=60) as response:
            assert response.status_code == 200
            chunks = response.iter_bytes()
            first = next(chunks)
            digest.update(first)
            received += len(first)
            os.kill(server.pid, signal.SIGTERM)  # mid-response
            for chunk in chunks:
                digest.update(chunk)
                received += len(chunk)
        assert received == len(data)
        assert digest.hexdigest() == public.files[0].sha256
        # uvicorn re-raises the signal once it has shut down gracefully
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        with_new = httpx.Client(timeout=2)
        try:
            refused = False
            try:
                with_new.get(f"{server.url}/healthz")
            except httpx.TransportError:
                refused = True
            assert refused, "the server still accepts connections after SIGTERM"
        finally:
            with_new.close()
