"""Server subprocesses for tests and benchmarks: start on a free loopback port, wait until a
URL answers 200, stop; and sample a process's memory while it works.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
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
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.process.pid

    def log(self) -> str:
        """The end of its output (or nothing once the file is gone)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after 20 s."""
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
    base_env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Server:
    """Run ``argv`` (``{port}`` replaced by a free port) and wait for ``GET ready_path`` = 200.

    Args:
        argv_for_port: the command; ``{port}`` in any argument becomes the port.
        ready_path: path that answers 200 once the server is ready.
        log_path: where stdout and stderr go; ``{port}`` in its name becomes the port.
        env: variables added to ``base_env``.
        base_env: the environment to start from (default: this process's).
        timeout: seconds to wait for readiness.

    ``started_in`` is the wall time from ``Popen`` to the first 200.

    """
    last = ""
    for _ in range(3):  # another process may take the free port first
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv_for_port]
        log_file = Path(str(log_path).replace("{port}", str(port)))
        base = os.environ if base_env is None else base_env
        full_env = {**base, "PYTHONUNBUFFERED": "1", **(env or {})}
        t0 = time.perf_counter()
        with open(log_file, "wb") as log:
            process = subprocess.Popen(argv, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", port, process, log_file, 0.0)
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


class RssSampler:
    """Peak RSS growth of a process and its children, sampled every 10 ms in a thread.

    The sampler runs inside the measuring process, so it stays cheap: finding
    the children scans every process of the machine, and is done every
    :data:`CHILDREN_EVERY` seconds only; each 10 ms sample reads the RSS of the
    processes already known.
    """

    CHILDREN_EVERY = 0.5

    def __init__(self, pid: int) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._procs = [self._root]
        self._found_at = 0.0
        self.baseline = self._rss()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        import psutil

        if time.monotonic() - self._found_at >= self.CHILDREN_EVERY:
            with suppress(psutil.Error):
                self._procs = [self._root, *self._root.children(recursive=True)]
            self._found_at = time.monotonic()
        total = 0
        for proc in self._procs:
            with suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        """Peak RSS above the baseline, in bytes."""
        return self.peak - self.baseline

    @property
    def growth_mib(self) -> float:
        """Peak RSS above the baseline, in MiB."""
        return self.growth / 2**20
