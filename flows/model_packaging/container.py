"""Start a built image as its own ``USER`` on a loopback port, and stop it.

``docker run`` / ``podman run`` where the engine can start an OCI container;
otherwise (as on machines where the OCI runtime cannot set its limits, DESIGN
§16) ``buildah run --isolation chroot --user <image USER> --network host``
runs the image's own command in its file system. The port is free on the
machine and reaches the API through ``UVICORN_PORT``.

Example:
    >>> with running(Engine("podman"), info, "build/out") as (url, how):  # doctest: +SKIP
    ...     httpx.get(url + "/healthz").json()
    {'status': 'ok'}

"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from flows.model_packaging.engine import Engine
from flows.model_packaging.image import ImageInfo, PackagingError, log_tail

__all__ = ["free_port", "running", "wait_healthy"]


def free_port() -> int:
    """A TCP port free on loopback now.

    Example:
        >>> 0 < free_port() < 65536
        True

    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(
    url: str, alive: Callable[[], bool], timeout: float, image: str, log: Path
) -> float:
    """Poll ``url/healthz`` until it answers 200; seconds waited.

    ``alive`` is a callable that says whether the server process still runs
    (a crash fails at once, with the log's tail, rather than at the timeout).
    """
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        if not alive():
            raise PackagingError(
                "start", image, "the container exited before /healthz answered", _tail(log)
            )
        time.sleep(0.2)
    raise PackagingError(
        "start", image, f"/healthz did not answer within {timeout:.0f} s", _tail(log)
    )


def _tail(log: Path) -> str:
    return log_tail(log.read_text(errors="replace")) if log.is_file() else ""


@contextlib.contextmanager
def _oci_run(
    engine: Engine, info: ImageInfo, port: int, log: Path
) -> Iterator[tuple[str, Callable[[], bool]]]:
    name = f"opsml-check-{uuid.uuid4().hex[:10]}"
    command = [
        engine.name,
        "run",
        "--detach",
        "--name",
        name,
        "--publish",
        f"127.0.0.1:{port}:{port}",
        "--env",
        f"UVICORN_PORT={port}",
        info.reference,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log.write_text(done.stdout + done.stderr)
        subprocess.run([engine.name, "rm", "--force", name], capture_output=True, check=False)
        raise _CannotStart(log_tail(done.stderr))

    def alive() -> bool:
        state = subprocess.run(
            [engine.name, "inspect", "--format", "{{.State.Running}}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        return state.stdout.strip() == "true"

    try:
        yield f"http://127.0.0.1:{port}", alive
    finally:
        logs = subprocess.run([engine.name, "logs", name], capture_output=True, text=True)
        log.write_text(logs.stdout + logs.stderr)
        subprocess.run([engine.name, "rm", "--force", name], capture_output=True, check=False)


@contextlib.contextmanager
def _buildah_run(info: ImageInfo, port: int, log: Path) -> Iterator[tuple[str, Callable[[], bool]]]:
    made = subprocess.run(
        ["buildah", "from", "--pull-never", info.reference],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise PackagingError("start", info.reference, "buildah from failed", log_tail(made.stderr))
    container = made.stdout.strip().splitlines()[-1]
    command = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    command += ["--user", info.user or "0", "--env", f"UVICORN_PORT={port}"]
    if info.workdir:
        command += ["--workingdir", info.workdir]
    with log.open("w") as stream:
        process = subprocess.Popen(
            [*command, container, "--", *info.command],
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the server's whole process group is stopped below
        )
    try:
        yield f"http://127.0.0.1:{port}", lambda: process.poll() is None
    finally:
        _stop(process)
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


class _CannotStart(Exception):
    """The engine could not start an OCI container at all (not: the image failed)."""


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)


@contextlib.contextmanager
def running(
    engine: Engine, info: ImageInfo, folder: str | Path, timeout: float = 90.0
) -> Iterator[tuple[str, str]]:
    """Run the image's own command as its user until the block ends; yields (url, how).

    ``how`` says which way it was started (``podman run`` or ``buildah run``).

    Raises:
        PackagingError: the image could not be started, or ``/healthz`` never answered
            (the message has the container log's tail; the log is ``folder/image-run.log``).

    """
    log = Path(folder) / "image-run.log"
    port = free_port()
    if engine.name != "buildah":
        try:
            with _oci_run(engine, info, port, log) as (url, alive):
                wait_healthy(url, alive, timeout, info.reference, log)
                yield url, f"{engine.name} run"
                return
        except _CannotStart as cannot:
            if shutil.which("buildah") is None:
                raise PackagingError(
                    "start", info.reference, f"`{engine.name} run` cannot start it", str(cannot)
                ) from None
    with _buildah_run(info, port, log) as (url, alive):
        wait_healthy(url, alive, timeout, info.reference, log)
        yield url, "buildah run"
