"""Start a server process on a free loopback port and wait until a URL answers 200."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server subprocess and its base URL."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(
    argv_for_port: list[str],
    *,
    ready_path: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Server:
    """Run ``argv`` (``{port}`` replaced by a free port) and wait for ``GET ready_path`` = 200.

    ``started_in`` is the wall time from ``Popen`` to the first 200.
    """
    last = ""
    for _ in range(3):  # another process may take the free port first
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv_for_port]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", process, log_path, 0.0)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if client.get(server.url + ready_path).status_code == 200:
                        server.started_in = time.perf_counter() - t0
                        return server
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
        server.stop()
        last = server.log()
        if "address already in use" not in last.lower():
            break
    raise RuntimeError(f"{argv_for_port[:4]} did not become ready:\n{last}")
