"""Several registry replicas behind a real HAProxy, on PostgreSQL and moto S3 (docs/replicas.md).

- :func:`start_haproxy` runs Debian's ``/usr/sbin/haproxy`` in the foreground on
  a free loopback port, round-robin over the given servers, with health checks
  on ``/readyz``, ``retry-on conn-failure empty-response`` and ``option
  redispatch``; its admin socket lets a test move a server to a new port (a new
  pod) and read the servers' states. Every response carries ``X-Opsml-Replica``
  (the HAProxy server name that answered).
- :class:`Cluster`: ``n`` replicas, each ``python -m opsml_server`` in its own
  process and its own empty temporary folder, over one scratch PostgreSQL
  database (migrated beforehand, as the Kubernetes Job does) and one S3 prefix.
  :meth:`Cluster.roll` restarts one replica the way Kubernetes does.

Used by ``tests/integration/test_replicas*.py`` and ``benchmarks/replicas.py``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opsml_testing.emulators import S3Emulator, running
from opsml_testing.live_server import LiveServer, start_server
from opsml_testing.proc import free_port

HAPROXY = "/usr/sbin/haproxy"
BACKEND = "replicas"
REPLICA_HEADER = "X-Opsml-Replica"

_CONFIG = """\
global
    maxconn 4096
    stats socket {socket} mode 600 level admin
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 30s
    timeout check 2s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    http-reuse safe

frontend registry
    bind 127.0.0.1:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter {inter}ms fastinter 200ms downinter 300ms fall 2 rise 1
    http-response set-header {header} %[srv_name]
{servers}
"""


def haproxy_config(
    port: int, servers: dict[str, int], socket_path: Path, check_interval_ms: int = 300
) -> str:
    """The HAProxy configuration: ``port`` in front, round-robin over ``servers`` (name: port).

    Example:
        >>> text = haproxy_config(8000, {"r1": 8001}, Path("/tmp/a.sock"))
        >>> "server r1 127.0.0.1:8001" in text and "retry-on conn-failure empty-response" in text
        True

    """
    lines = "\n".join(f"    server {name} 127.0.0.1:{p}" for name, p in servers.items())
    return _CONFIG.format(
        socket=socket_path, port=port, backend=BACKEND, header=REPLICA_HEADER, servers=lines,
        inter=check_interval_ms,
    )  # fmt: skip


@dataclass
class Balancer:
    """A running HAProxy and its admin socket."""

    process: subprocess.Popen[bytes]
    port: int
    socket_path: Path
    log_path: Path

    @property
    def url(self) -> str:
        """The balancer's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        """Send one command to the runtime API; returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stat(self, column: str) -> dict[str, str]:
        """One column of ``show stat`` for each server (``status``, ``hrsp_2xx``...)."""
        rows = self.command("show stat").splitlines()
        header = rows[0].lstrip("# ").split(",")
        out = {}
        for row in rows[1:]:
            values = dict(zip(header, row.split(","), strict=False))
            if values.get("pxname") == BACKEND and values.get("svname") not in ("BACKEND", None):
                out[values["svname"]] = values[column]
        return out

    def states(self) -> dict[str, str]:
        """Each server's status (``UP``, ``DOWN``, ``MAINT``...)."""
        return self.stat("status")

    def answered(self) -> dict[str, int]:
        """How many 2xx answers each server gave."""
        return {name: int(v or 0) for name, v in self.stat("hrsp_2xx").items()}

    def move(self, name: str, port: int) -> None:
        """Point server ``name`` at a new port (a replacement pod)."""
        answer = self.command(f"set server {BACKEND}/{name} addr 127.0.0.1 port {port}")
        if "no need to change" not in answer and "changed" not in answer:
            raise RuntimeError(f"HAProxy refused to move {name}: {answer}")

    def wait_up(self, names: list[str], timeout: float = 30.0) -> None:
        """Wait until every server in ``names`` passes its health check."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            if all(states.get(n, "").startswith("UP") for n in names):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy servers not up: {states}")
            time.sleep(0.05)

    def log(self) -> str:
        """The end of HAProxy's output."""
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_haproxy(root: Path, servers: dict[str, int], check_interval_ms: int = 300) -> Balancer:
    """Start HAProxy in the foreground over ``servers``; wait until it listens.

    ``check_interval_ms``: between two ``/readyz`` checks of a server that is up.

    Raises:
        RuntimeError: HAProxy is missing or refused its configuration.

    """
    if not Path(HAPROXY).exists():
        raise RuntimeError(f"{HAPROXY} is missing: apt-get install haproxy (.ci/run does)")
    root.mkdir(parents=True, exist_ok=True)
    sock = Path(tempfile.mkdtemp(prefix="hap-")) / "admin.sock"  # short: AF_UNIX path limit
    for _ in range(5):
        port = free_port()
        cfg = root / "haproxy.cfg"
        cfg.write_text(haproxy_config(port, servers, sock, check_interval_ms))
        log_path = root / "haproxy.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT
            )
        balancer = Balancer(proc, port, sock, log_path)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                if sock.exists():
                    return balancer
            time.sleep(0.02)
        balancer.stop()
    raise RuntimeError(f"HAProxy did not start:\n{log_path.read_text(errors='replace')}")


@dataclass
class Cluster:
    """``replicas`` registry servers over one database and one S3 prefix, behind HAProxy."""

    root: Path
    db_url: str
    storage_uri: str
    env: dict[str, str]
    replicas: dict[str, LiveServer] = field(default_factory=dict)
    balancer: Balancer | None = None
    retired: list[LiveServer] = field(default_factory=list)
    check_interval_ms: int = 300

    @property
    def url(self) -> str:
        """The balancer's base URL."""
        assert self.balancer is not None
        return self.balancer.url

    def start_replica(self, name: str) -> LiveServer:
        """A new replica process in its own empty temporary folder (not yet in HAProxy)."""
        folder = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        env = {**self.env, "OPSML_STORAGE_URI": self.storage_uri}
        return start_server(folder, db_url=self.db_url, env=env)

    def start(self, count: int) -> None:
        """Start ``count`` replicas and the balancer in front of them."""
        for i in range(1, count + 1):
            self.replicas[f"r{i}"] = self.start_replica(f"r{i}")
        ports = {name: server.port for name, server in self.replicas.items()}
        self.balancer = start_haproxy(self.root / "haproxy", ports, self.check_interval_ms)
        self.balancer.wait_up(list(ports))

    def roll(self, name: str, *, grace: float = 60.0) -> float:
        """Restart replica ``name`` as Kubernetes does; returns the seconds it took.

        SIGTERM (uvicorn stops accepting, finishes the requests in flight, closes
        idle keep-alive connections), wait for the process to exit, start a
        replacement on a new port in a new empty folder, point HAProxy at it and
        wait until its health check passes. HAProxy keeps routing to the old one
        until its checks fail: those requests are refused at connect and retried
        on another replica (``retry-on conn-failure``, ``option redispatch``).
        """
        assert self.balancer is not None
        t0 = time.perf_counter()
        old = self.replicas[name]
        old.process.send_signal(signal.SIGTERM)
        code = old.process.wait(grace)
        if code not in (0, -signal.SIGTERM):  # uvicorn re-raises the signal once drained
            raise RuntimeError(f"replica {name} exited {code} on SIGTERM:\n{old.log()}")
        self.retired.append(old)
        new = self.start_replica(name)
        self.replicas[name] = new
        self.balancer.move(name, new.port)
        self.balancer.wait_up([name])
        return time.perf_counter() - t0

    def kill(self, name: str) -> None:
        """SIGKILL replica ``name`` (a crashed pod); HAProxy's checks take it out."""
        proc = self.replicas[name].process
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def revive(self, name: str) -> None:
        """Replace a killed replica (the pod Kubernetes starts instead) and wait until it is UP."""
        assert self.balancer is not None
        self.retired.append(self.replicas[name])
        self.replicas[name] = new = self.start_replica(name)
        self.balancer.move(name, new.port)
        self.balancer.wait_up([name])

    def busy(self) -> dict[str, int]:
        """Requests each replica is serving now (HAProxy's current sessions)."""
        assert self.balancer is not None
        return {name: int(v or 0) for name, v in self.balancer.stat("scur").items()}

    def stop(self) -> None:
        """Stop HAProxy and every replica."""
        if self.balancer is not None:
            self.balancer.stop()
        for server in [*self.replicas.values(), *self.retired]:
            server.stop()


@contextlib.contextmanager
def cluster(
    root: Path,
    count: int,
    *,
    s3: S3Emulator | None = None,
    env: dict[str, str] | None = None,
    check_interval_ms: int = 300,
) -> Iterator[Cluster]:
    """``count`` replicas on a scratch PostgreSQL database and moto S3, behind HAProxy.

    The database is migrated first (``opsml db upgrade``, the Kubernetes Job),
    and replicas run with ``OPSML_AUTO_MIGRATE=false``, as in the overlays.
    ``s3``: a running emulator to use (default: one started here).
    ``check_interval_ms``: HAProxy's health-check period (each check reads the
    database and the store; the load test uses 2 s, like a Kubernetes probe).
    """
    from opsml.backends.sql.migrate import upgrade_database
    from opsml_testing.databases import scratch_database

    with contextlib.ExitStack() as stack:
        if s3 is None:
            s3 = stack.enter_context(running(S3Emulator()))  # type: ignore[assignment]
            assert s3 is not None
        url = stack.enter_context(scratch_database("postgres"))
        upgrade_database(url)
        storage = f"s3://opsml-test/replicas-{uuid.uuid4().hex[:10]}"
        base_env = {**s3.server_env(), "OPSML_AUTO_MIGRATE": "false", **(env or {})}
        group = Cluster(root, url, storage, base_env, check_interval_ms=check_interval_ms)
        try:
            group.start(count)
            yield group
        finally:
            group.stop()
            shutil.rmtree(group.root, ignore_errors=True)
