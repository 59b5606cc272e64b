"""Start a built image as its own ``USER`` on a loopback port, and stop it.

``docker run`` / ``podman run`` where the engine can start an OCI container;
otherwise (as on machines where the OCI runtime cannot set its limits,
docs/design.md §16) ``buildah run --isolation chroot --user <image USER> --network host``
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

__all__ = [
    "buildah_container",
    "buildah_run_command",
    "free_port",
    "run_once",
    "running",
    "wait_healthy",
]


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

    ``alive`` says whether the server process still runs: a crash fails at once,
    with the log's tail, rather than at the timeout.
    """
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        if not alive():
            time.sleep(0.5)  # let the runtime's last writes reach the log
            raise PackagingError(
                "start",
                image,
                "the container exited before /healthz answered",
                _tail(log),
                log.parent,
            )
        time.sleep(0.2)
    raise PackagingError(
        "start", image, f"/healthz did not answer within {timeout:.0f} s", _tail(log), log.parent
    )


def _tail(log: Path) -> str:
    return log_tail(log.read_text(errors="replace")) if log.is_file() else ""


def _env_options(env: dict[str, str]) -> list[str]:
    return [option for key, value in env.items() for option in ("--env", f"{key}={value}")]


class _CannotStart(Exception):
    """The engine could not start an OCI container at all (not: the image failed)."""


@contextlib.contextmanager
def _oci_run(
    engine: Engine, info: ImageInfo, port: int, env: dict[str, str], log: Path, host_network: bool
) -> Iterator[Callable[[], bool]]:
    name = f"opsml-check-{uuid.uuid4().hex[:10]}"
    command = [engine.name, "run", "--detach", "--name", name]
    network = ["--network", "host"] if host_network else ["--publish", f"127.0.0.1:{port}:{port}"]
    command += [*network, *_env_options(env), info.reference]
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
        yield alive
    finally:
        logs = subprocess.run([engine.name, "logs", name], capture_output=True, text=True)
        log.write_text(logs.stdout + logs.stderr)
        subprocess.run([engine.name, "rm", "--force", name], capture_output=True, check=False)


def buildah_run_command(
    info: ImageInfo, container: str, env: dict[str, str], command: list[str] | None = None
) -> list[str]:
    """``buildah run --isolation chroot --user <USER> --network host … -- <command>``.

    Example:
        >>> info = ImageInfo("a:1", "sha256:0", "", 1, user="10001", command=["uvicorn", "app:app"])
        >>> buildah_run_command(info, "c1", {"UVICORN_PORT": "9000"})[-4:]
        ['c1', '--', 'uvicorn', 'app:app']

    """
    run = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    run += ["--user", info.user or "0", *_env_options(env)]
    if info.workdir:
        run += ["--workingdir", info.workdir]
    return [*run, container, "--", *(command or info.command)]


@contextlib.contextmanager
def buildah_container(info: ImageInfo) -> Iterator[str]:
    """A working container of the image (``buildah from``), removed afterwards."""
    made = subprocess.run(
        ["buildah", "from", "--pull-never", info.reference],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise PackagingError("start", info.reference, "buildah from failed", log_tail(made.stderr))
    container = made.stdout.strip().splitlines()[-1]
    try:
        yield container
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


@contextlib.contextmanager
def _buildah_run(info: ImageInfo, env: dict[str, str], log: Path) -> Iterator[Callable[[], bool]]:
    with buildah_container(info) as container, log.open("w") as stream:
        process = subprocess.Popen(
            buildah_run_command(info, container, env),
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the server's whole process group is stopped below
        )
        try:
            yield lambda: process.poll() is None
        finally:
            _stop(process)


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
    engine: Engine,
    info: ImageInfo,
    folder: str | Path,
    *,
    port_env: str = "UVICORN_PORT",
    env: dict[str, str] | None = None,
    timeout: float = 90.0,
    host_network: bool = False,
) -> Iterator[tuple[str, str]]:
    """Run the image's own command as its user until the block ends; yields (url, how).

    The server listens on a free loopback port, passed in ``port_env``; ``env``
    adds variables; ``host_network`` lets it reach services on the machine's
    loopback (``buildah run`` always does). ``how`` says which way it was started
    (``podman run`` or ``buildah run``).

    Raises:
        PackagingError: the image could not be started, or ``/healthz`` never answered
            (the message has the container log's tail; the log is ``folder/image-run.log``).

    """
    log = Path(folder) / "image-run.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    variables = {**(env or {}), port_env: str(port)}
    if engine.name != "buildah":
        try:
            with _oci_run(engine, info, port, variables, log, host_network) as alive:
                wait_healthy(url, alive, timeout, info.reference, log)
                yield url, f"{engine.name} run"
                return
        except _CannotStart as cannot:
            if shutil.which("buildah") is None:
                raise PackagingError(
                    "start",
                    info.reference,
                    f"`{engine.name} run` cannot start it (install buildah to start it with "
                    "`buildah run --isolation chroot`)",
                    str(cannot),
                    folder,
                ) from None
    with _buildah_run(info, variables, log) as alive:
        wait_healthy(url, alive, timeout, info.reference, log)
        yield url, "buildah run"


def run_once(
    engine: Engine, info: ImageInfo, command: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the image as its user, on the host's network, to its end.

    ``<engine> run --rm`` where the engine can start a container, else ``buildah run``.

    Example:
        >>> run_once(Engine("podman"), info, ["opsml", "db", "upgrade"], env)  # doctest: +SKIP
        CompletedProcess(args=[...], returncode=0, ...)

    """
    variables = env or {}
    if engine.name != "buildah":
        oci = [engine.name, "run", "--rm", "--network", "host", *_env_options(variables)]
        done = subprocess.run(
            [*oci, info.reference, *command], capture_output=True, text=True, check=False
        )
        if done.returncode not in (125, 126, 127) or shutil.which("buildah") is None:
            return done  # the command's own result (125-127: the engine could not start it)
    with buildah_container(info) as container:
        return subprocess.run(
            buildah_run_command(info, container, variables, command),
            capture_output=True,
            text=True,
            check=False,
        )
