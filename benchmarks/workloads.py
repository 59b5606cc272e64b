"""Our side of the benchmark, and the machine's own limits (docs/design.md §9).

Every function takes its sizes as arguments, so that ``tests/unit/test_benchmarks_smoke.py``
runs the cheap ones with tiny sizes, and returns plain dicts (JSON-ready). Every
workload checks its own result: a fast wrong answer raises ``BenchmarkError``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._race import WriterResult, race
from benchmarks._timing import p50_ms, timed
from opsml_testing import proc
from opsml_testing.live_server import start_registry
from opsml_testing.seeding import write_random_file

REPO = Path(__file__).resolve().parents[1]
if TYPE_CHECKING:
    import httpx

BLOCK = 4 * 1024 * 1024
MB = 1e6


class BenchmarkError(AssertionError):
    """A workload produced a wrong result (lost bytes, duplicate versions...)."""


# -- processes -------------------------------------------------------------------------


def server_env(db_url: str, root: Path) -> dict[str, str]:
    """Environment of a registry server over ``db_url`` with storage under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSML_", "PREFECT_"))}
    env.update(
        {
            "OPSML_TRACKING_URI": db_url,
            "OPSML_STORAGE_URI": (root / "storage").as_posix(),
            "OPSML_LOG_LEVEL": "WARNING",
        }
    )
    return env


def start_server(root: Path, db_url: str | None = None, workers: int = 1) -> proc.Server:
    """``python -m opsml_server`` on a free port over ``db_url`` (default SQLite under root)."""
    root.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{(root / 'registry.db').as_posix()}"
    os.environ.pop("OPSML_TRACKING_URI", None)
    server = start_registry(server_env(db_url, root), log_path=root / "server.log", workers=workers)
    return server


def start_bare_server(root: Path) -> proc.Server:
    """The minimal ASGI app of ``_bare_app`` under uvicorn (uvloop, httptools)."""
    root.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks._bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    (root / "store").mkdir(exist_ok=True)
    env = {"PYTHONPATH": str(REPO), "BARE_STORE_DIR": str(root / "store")}
    return proc.start(argv, ready_path="/", log_path=root / "bare.log", env=env)


# -- machine limits --------------------------------------------------------------------


def machine_sha256(size: int) -> dict[str, float]:
    """SHA-256 throughput of one core over ``size`` bytes in 4 MiB blocks (MB/s)."""
    block = os.urandom(min(BLOCK, size))
    digest = hashlib.sha256()
    t = time.perf_counter()
    done = 0
    while done < size:
        digest.update(block)
        done += len(block)
    seconds = time.perf_counter() - t
    return {"sha256_mb_s": done / seconds / MB}


def _reference_work() -> int:
    """A fixed piece of pure-Python work: dicts, strings, calls and the pure-Python JSON encoder."""
    import json

    rows = [
        {"name": f"card-{i}", "version": (i % 7, i % 5, i), "tags": {"k": str(i)}}
        for i in range(300)
    ]
    rows.sort(key=lambda row: (row["version"], row["name"]))
    return len(json.dumps(rows, indent=2))  # ``indent`` selects the pure-Python encoder


def machine_python(n: int) -> dict[str, float]:
    """p50 of :func:`_reference_work` in ms: how fast this machine runs interpreter-bound code.

    The millisecond rows (registration, listing) are interpreter-bound; their
    budgets are absolute, so a run on a slower machine is read against this line.
    """
    return {"python_ref_ms": p50_ms(timed(_reference_work, n, warmup=5))}


def sha256_path(path: Path) -> str:
    """SHA-256 of a file."""
    from opsml.storage.digest import sha256_file

    return sha256_file(path)[0]


def machine_copy(src: Path, dest: Path) -> dict[str, float]:
    """A plain file copy of ``src`` (``shutil.copyfile``; page cache, same disk) in MB/s."""
    size = src.stat().st_size
    t = time.perf_counter()
    shutil.copyfile(src, dest)
    seconds = time.perf_counter() - t
    dest.unlink()
    return {"copy_mb_s": size / seconds / MB}


def repeated_body(size: int) -> Iterator[bytes]:
    """A streamed request body of ``size`` bytes (``\\1``), in blocks of at most ``BLOCK``.

    The block is allocated here, before the caller starts its clock.
    """
    block = b"\1" * min(BLOCK, size)
    return (block[: size - sent] for sent in range(0, size, BLOCK))


def machine_http(url: str, n: int, size: int, blob: Path | None = None) -> dict[str, float]:
    """Keep-alive GET p50 to the bare app, and its download and upload MB/s of ``size`` bytes.

    ``http_up_verified_mb_s`` is the bare upload with both ends hashing the bytes (SHA-256,
    each on its one thread): what any upload that both sides verify starts from. With a
    ``blob`` file, ``http_up_stored_mb_s`` is the bare upload of that file read and hashed
    by the client, hashed and written to a new file by the receiver: the same work as a
    verified registration's transfer, with nothing else.
    """
    import httpx

    with httpx.Client(trust_env=False, timeout=60) as client:
        p50 = p50_ms(timed(lambda: client.get(url + "/"), n, warmup=20))
        t = time.perf_counter()
        got = 0
        with client.stream("GET", f"{url}/bytes/{size}") as response:
            for chunk in response.iter_raw():
                got += len(chunk)
        down = time.perf_counter() - t
        if got != size:
            raise BenchmarkError(f"bare download moved {got} bytes, not {size}")
        body = repeated_body(size)
        t = time.perf_counter()
        response = client.put(url + "/sink", content=body, headers={"Content-Length": str(size)})
        up = time.perf_counter() - t
        if int(response.text) != size:
            raise BenchmarkError(f"bare upload delivered {response.text} bytes, not {size}")
        sent = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for block in repeated_body(size):
                sent.update(block)
                yield block

        t = time.perf_counter()
        response = client.put(
            url + "/sink-hashed", content=hashed(), headers={"Content-Length": str(size)}
        )
        verified = time.perf_counter() - t
        if response.text != sent.hexdigest():
            raise BenchmarkError("the bare verified upload arrived with other bytes")
        out = {
            "http_p50_ms": p50,
            "http_down_mb_s": size / down / MB,
            "http_up_mb_s": size / up / MB,
            "http_up_verified_mb_s": size / verified / MB,
        }
        if blob is not None:
            out["http_up_stored_mb_s"] = (
                blob.stat().st_size / _stored_upload(client, url, blob) / MB
            )
    return out


def _stored_upload(client: httpx.Client, url: str, blob: Path) -> float:
    """Seconds to send ``blob`` (read and hashed here) to the bare app's ``/sink-stored``."""
    sent = hashlib.sha256()

    def read_hashed() -> Iterator[bytes]:
        with open(blob, "rb") as handle:
            while block := handle.read(BLOCK):
                sent.update(block)
                yield block

    length = str(blob.stat().st_size)
    t = time.perf_counter()
    response = client.put(
        url + "/sink-stored", content=read_hashed(), headers={"Content-Length": length}
    )
    elapsed: float = time.perf_counter() - t
    if response.text != sent.hexdigest():
        raise BenchmarkError("the bare stored upload arrived with other bytes")
    return elapsed


# -- imports ---------------------------------------------------------------------------


def import_times(python: str, module: str | None, n: int) -> list[float]:
    """Wall times of ``python -c 'import module'`` (or a bare interpreter) in a fresh process."""
    code = f"import {module}" if module else "pass"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    out = []
    for i in range(n + 1):
        t = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env=env, cwd=REPO)
        if i:  # the first run warms the page cache
            out.append(time.perf_counter() - t)
    return out


# -- registry through the server -------------------------------------------------------


def _small_model() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=300).fit(x, y), x


def registry_latency(url: str, n: int) -> dict[str, Any]:
    """Register ``n`` small scikit-learn ModelCards through the server, then load and list.

    Returns p50s in ms, and the most HTTP requests any one registration made.
    """
    from opsml import CardRegistry, ModelCard
    from opsml.backends.http import HttpBackend

    model, x = _small_model()
    backend = HttpBackend(url)  # what OPSML_TRACKING_URI=http://… builds
    registry = CardRegistry("model", backend=backend)
    client = backend._client
    calls = {"n": 0}
    client.event_hooks["request"].append(lambda _r: calls.__setitem__("n", calls["n"] + 1))
    name = f"churn-{uuid.uuid4().hex[:6]}"
    per_call: list[int] = []
    versions: list[str] = []

    def register() -> None:
        before = calls["n"]
        card = ModelCard(
            name=name, repository="bench", contact="bench", model=model, sample_input=x.head(5)
        )
        registry.register_card(card, version_type="patch")
        per_call.append(calls["n"] - before)
        versions.append(str(card.version))

    reg = timed(register, n)
    if len(set(versions)) != len(versions) or len(versions) != n + 2:
        raise BenchmarkError(f"registrations gave duplicate versions: {versions}")
    latest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))

    def load() -> None:
        card = registry.load_card(name=name, repository="bench", version="latest")
        if card.version != latest:
            raise BenchmarkError(f"latest is {latest}, load_card gave {card.version}")

    def load_model() -> None:
        card = registry.load_card(name=name, repository="bench", version="latest")
        if not isinstance(card, ModelCard):
            raise BenchmarkError(f"load_card gave a {type(card).__name__}, not a ModelCard")
        if card.load_model().predict(x.head(3)).shape != (3,):
            raise BenchmarkError("the loaded model does not predict")

    load_s = timed(load, n)
    model_s = timed(load_model, n)
    backend.close()
    return {
        "register_p50_ms": p50_ms(reg),
        "requests_per_register": max(per_call),
        "load_p50_ms": p50_ms(load_s),
        "load_model_p50_ms": p50_ms(model_s),
        "registrations": len(versions),
    }


def list_latency(url: str, n: int, total: int) -> dict[str, Any]:
    """p50 of listing 50 cards (newest first) out of ``total`` through the server."""
    from opsml import CardRegistry
    from opsml.backends.http import HttpBackend

    backend = HttpBackend(url)
    registry = CardRegistry("model", backend=backend)
    expect = [f"model-{(total - 1 - i) // max(1, total // 1000):05d}" for i in range(50)]

    def listing() -> None:
        cards = registry.list_cards(limit=50)
        if [c.name for c in cards] != expect[: len(cards)] or len(cards) != min(50, total):
            raise BenchmarkError("list_cards did not return the 50 newest cards")

    def by_name() -> None:
        cards = registry.list_cards(name="model-00007", repository="seed", limit=50)
        if len(cards) != min(50, max(1, total // 1000)):
            raise BenchmarkError(f"list by name returned {len(cards)} cards")

    out = {
        "list_p50_ms": p50_ms(timed(listing, n)),
        "list_by_name_p50_ms": p50_ms(timed(by_name, n)),
    }
    backend.close()
    return out


# -- concurrent writers ----------------------------------------------------------------


def _writer(
    target: str, name: str, k: int, storage: str, ready: Any, go: Any, out: Any
) -> None:  # runs in a child process
    from opsml.backends.base import RegistryBackend
    from opsml.schemas import CardCreate

    backend: RegistryBackend
    if target.startswith("http"):
        from opsml.backends.http import HttpBackend

        backend = HttpBackend(target)
        backend.check()
    else:
        from opsml.backends.sql import SqlBackend

        backend = SqlBackend(target, storage)
        backend.check()
    empty = Path(tempfile.mkdtemp(prefix="opsml-bench-w-"))
    ready.put(os.getpid())
    go.wait()
    versions: list[str] = []
    errors: list[str] = []
    t0 = time.monotonic()
    for _ in range(k):
        card = CardCreate(
            registry="model", name=name, repository="bench", contact="bench", version_type="patch"
        )
        try:
            versions.append(backend.register_card(card, empty).version)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
    t1 = time.monotonic()
    backend.close()
    out.put(WriterResult(versions=versions, errors=errors, t0=t0, t1=t1))


def concurrent_writers(
    target: str, db_url: str, storage: str, *, processes: int = 8, per_process: int = 50
) -> dict[str, Any]:
    """``processes`` processes register the same name ``per_process`` times each.

    ``target`` is a database URL (SQL backend directly) or a server URL. Checks
    that no version is given twice and none is lost (the database holds exactly
    the versions the writers were given: 1.0.0 up to 1.0.N-1).
    """
    name = f"race-{uuid.uuid4().hex[:8]}"
    versions, errors, seconds = race(_writer, (target, name, per_process, storage), processes)
    total = processes * per_process
    stored = _stored_versions(db_url, name)
    expected = {"1.0.0", *(f"1.0.{i}" for i in range(1, total))}
    ok = (
        not errors
        and len(versions) == total
        and len(set(versions)) == total
        and sorted(stored) == sorted(versions)
        and set(stored) == expected
    )
    if not ok:
        raise BenchmarkError(
            f"{target.split(':')[0]} writers: {len(versions)} versions given "
            f"({len(set(versions))} distinct), {len(stored)} stored, {len(errors)} errors "
            f"{errors[:3]}"
        )
    return {
        "registrations_per_s": total / seconds,
        "registrations": total,
        "seconds": seconds,
        "distinct_versions": len(set(stored)),
    }


def _stored_versions(db_url: str, name: str) -> list[str]:
    from sqlalchemy import create_engine, select

    from opsml.backends.sql.tables import CARDS

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(CARDS.c.version).where(CARDS.c.name == name, CARDS.c.status == "active")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return list(rows)


@contextmanager
def scratch_postgres(base_url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL of ``base_url``, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"opsml_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- big transfer ----------------------------------------------------------------------


def big_transfer(url: str, server_pid: int, work: Path, size: int) -> dict[str, Any]:
    """Upload a ``size``-byte artifact through the server and download it, digests verified.

    The client's SHA-256 of the source (its card manifest) is taken before the
    clock starts and reported apart; the upload time covers the transfer, the
    server's verification and the commit; the download time covers the transfer,
    the client's verification and the rename into place.
    """
    from opsml.backends.http import HttpBackend
    from opsml.schemas import ArtifactFile, CardCreate

    src = work / "big-src"
    src.mkdir(parents=True, exist_ok=True)
    sha = write_random_file(src / "weights.bin", size)
    t = time.perf_counter()
    if sha256_path(src / "weights.bin") != sha:
        raise BenchmarkError("the source file changed on disk")
    manifest_s = time.perf_counter() - t
    card = CardCreate(
        registry="model",
        name=f"huge-{uuid.uuid4().hex[:6]}",
        repository="bench",
        contact="bench",
        files=[ArtifactFile(path="weights.bin", size=size, sha256=sha)],
    )
    backend = HttpBackend(url)
    try:
        with proc.RssSampler(server_pid) as up_rss:
            t = time.perf_counter()
            public = backend.register_card(card, src)
            up_s = time.perf_counter() - t
        (src / "weights.bin").unlink()
        dest = work / "big-dest"
        with proc.RssSampler(server_pid) as down_rss:
            t = time.perf_counter()
            backend.download_artifacts(public, dest)
            down_s = time.perf_counter() - t
    finally:
        backend.close()
    got = dest / "weights.bin"
    if got.stat().st_size != size or sha256_path(got) != sha:
        raise BenchmarkError("the downloaded bytes differ from the uploaded ones")
    got.unlink()
    return {
        "upload_mb_s": size / up_s / MB,
        "download_mb_s": size / down_s / MB,
        "upload_rss_mib": up_rss.growth_mib,
        "download_rss_mib": down_rss.growth_mib,
        "client_manifest_sha256_s": manifest_s,
        "size": size,
    }


def healthz_latency(url: str, path: str, n: int) -> float:
    """p50 ms of keep-alive ``GET url+path`` with one httpx client."""
    import httpx

    with httpx.Client(trust_env=False) as client:

        def get() -> None:
            if client.get(url + path).status_code != 200:
                raise BenchmarkError(f"{path} did not answer 200")

        return p50_ms(timed(get, n, warmup=20))
