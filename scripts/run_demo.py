"""The main job, end to end on one machine, offline: the whole loop of the two scenarios.

1. starts the OpsML registry server (``python -m opsml_server start``) on a free
   loopback port over embedded SQLite and a local artifact folder in
   ``./demo_output/registry``, and waits for ``/readyz``;
   ``champion`` is a protected alias there (``OPSML_PROTECTED_ALIASES``);
2. runs the whole loop (:mod:`scripts.demo_loop`) under a temporary Prefect
   API (``prefect_test_harness``: a local Prefect server on a throw-away
   SQLite database), so cards carry flow-run lineage, runs get artifacts, and
   the registry server emits its events to that Prefect API:

   - **train and sign** (Scenario 1): the training flow, twice, with a fresh
     signing key, so both model versions are signed;
   - **approve**: ``ds-alice`` asks for ``champion`` to move, ``eng-bob`` approves;
   - **package and serve** (Scenario 2): the packaging flow on a spec that
     serves ``champion`` and requires the demo key's signature: pull with
     digest checks, offline build context (hashed wheels), in-process smoke
     test, Kubernetes manifests, then, where a container engine answers
     (docker, podman or buildah), the image: built, started as its user,
     checked over HTTP. Where ``mmdebstrap`` is installed the image builds on a
     base made from Debian's packages (no image registry needed), else on the
     spec's ``python:<x.y>-slim``;
   - **record**: ``packaged`` with the image digest, then the deploy flow's
     ``deployed`` (record-only: no cluster is configured);
   - the same for the second version, then **roll back** to the first (asked
     and approved again; the image built for it is reused);
3. prints where everything is, the target's deployment history, how to
   browse what it registered (``opsml cards list`` / ``opsml deployments
   list``) and how long each part took.

It is quiet by design: Prefect's telemetry is off for the throw-away Prefect
server (``PREFECT_SERVER_ANALYTICS_ENABLED=false``: its heartbeat wrote to the
harness's SQLite database while the server migrated it and logged "database is
locked"), and the one deprecation warning of the run is silenced by its exact
text (Starlette 1.x's ``TestClient`` asks for ``httpx2``; the packaging flow's
in-process smoke test uses that client).

Usage (from the repository root)::

    python scripts/run_demo.py [--out demo_output] [--keep-server]

Without the server package (``opsml-prefect[server]``) the registry is embedded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "scripts")]

QUIET_ENV = {
    # the temporary Prefect server's telemetry heartbeat: nothing to report offline, and it
    # raced the harness's database set-up ("database is locked" traceback on stderr)
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
STARLETTE_HTTPX_WARNING = r"Using `httpx` with `starlette\.testclient` is deprecated"


def quiet_down() -> None:
    """Turn off what a first run should not print: Prefect telemetry, one known warning.

    Example:
        >>> quiet_down()  # doctest: +SKIP

    """
    import warnings

    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", message=STARLETTE_HTTPX_WARNING)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_registry_server(
    root: Path, prefect_api_url: str, timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the registry server over SQLite in ``root``; return the process and its URL.

    Example:
        >>> process, url = start_registry_server(Path("demo/registry"), api)  # doctest: +SKIP

    """
    import httpx

    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    env.update(
        {
            "OPSML_TRACKING_URI": f"sqlite:///{(root / 'registry.db').as_posix()}",
            "OPSML_STORAGE_URI": (root / "artifacts").as_posix(),
            "OPSML_LOG_LEVEL": "WARNING",
            "OPSML_PROTECTED_ALIASES": "champion",  # moved only with a second person's approval
            "PREFECT_API_URL": prefect_api_url,  # the server emits opsml.card.registered
        }
    )
    log = (root / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "opsml_server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return process, url
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"registry server did not become ready; see {root / 'server.log'}")


def _events(uids: list[str]) -> list[Any]:
    """The ``opsml.card.registered`` events of the cards ``uids``."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    with get_client(sync_client=True) as client:
        return list(
            client.read_events(
                EventFilter(
                    event=EventNameFilter(name=["opsml.card.registered"]),
                    resource=EventResourceFilter(id=[f"opsml.card.{u}" for u in uids]),
                ),
                limit=50,
            ).events
        )


def main() -> int:
    """Run the demo; return the exit code.

    Example:
        >>> main()  # doctest: +SKIP

    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", default="demo_output", help="Folder for every result.")
    parser.add_argument(
        "--keep-server", action="store_true", help="Leave the registry server running at the end."
    )
    args = parser.parse_args()
    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    timings: dict[str, float] = {}

    quiet_down()
    t0 = time.perf_counter()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    timings["import prefect"] = time.perf_counter() - t0
    server = None
    with prefect_test_harness(server_startup_timeout=180):
        api_url = str(PREFECT_API_URL.value())
        t0 = time.perf_counter()
        server, tracking_uri, mode = open_registry(out / "registry", api_url)
        timings["registry server start to ready"] = time.perf_counter() - t0
        os.environ["OPSML_TRACKING_URI"] = tracking_uri
        from opsml import CardRegistry, configure

        configure()
        try:
            loop, events = run_flows(out, timings)
            trained = loop["training"]["v1"]
            pipeline = CardRegistry("pipeline").load_card(uid=trained["pipeline"]["uid"])
        finally:
            if server is not None and not args.keep_server:
                server.terminate()
                server.wait(timeout=15)

    summary = summarize(mode, loop, pipeline, events, timings)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print("\n=== OpsML + Prefect demo ===")
    print(json.dumps(summary, indent=2, default=str))
    print(f"\nEverything is under {out} (summary.json, registry/, build/).")
    print(browse_hint(out / "registry", trained["model"]["uid"]))
    if server is not None and args.keep_server:
        print(f"The registry server is still running at {tracking_uri} (pid {server.pid}).")
    return 0


def run_flows(out: Path, timings: dict[str, float]) -> tuple[dict[str, Any], int]:
    """Run the whole loop (train, sign, approve, package and serve, record, roll back).

    Returns:
        The loop's results (:func:`scripts.demo_loop.run_loop`) and the number of
        ``opsml.card.registered`` events seen for the first training's four cards.

    """
    from flows.training import training
    from scripts.demo_loop import run_loop

    def train(c: float) -> dict[str, Any]:
        t0 = time.perf_counter()
        trained = training(name="iris-classifier", repository="ds-team", c=c)
        timings[f"training flow c={c} (wall)"] = time.perf_counter() - t0
        timings[f"  of which opsml tasks (c={c})"] = trained["timings"]["opsml_seconds"]
        return trained

    base = offline_base()
    t0 = time.perf_counter()
    loop = run_loop(out, base, train)
    timings["whole loop (wall)"] = time.perf_counter() - t0

    trained = loop["training"]["v1"]
    uids = [trained[k]["uid"] for k in ("data", "run", "model", "pipeline")]
    deadline = time.monotonic() + 20
    events = _events(uids)
    while len(events) < len(uids) and time.monotonic() < deadline:
        time.sleep(0.3)
        events = _events(uids)
    return loop, len(events)


def offline_base() -> str | None:
    """The Debian base image where an engine and ``mmdebstrap`` exist, else ``None`` (the spec's).

    Example:
        >>> offline_base()  # doctest: +SKIP
        'localhost/opsml-debian-base:bookworm-118ee1cff8b0'

    """
    from flows.model_packaging import DebianBase, find_engine

    engine = find_engine()
    if engine is None or shutil.which("mmdebstrap") is None:
        return None
    print("making the serving image's base from Debian's packages (once; about a minute)")
    return DebianBase().ensure(engine)


def open_registry(folder: Path, api_url: str) -> tuple[Any, str, str]:
    """Start the registry server over SQLite in ``folder`` (embedded when it is not installed).

    Returns:
        The server process (or ``None``), the tracking URI and a line describing the mode.

    """
    if importlib.util.find_spec("opsml_server") is not None:
        server, tracking_uri = start_registry_server(folder, api_url)
        os.environ.pop("OPSML_STORAGE_URI", None)
        return server, tracking_uri, f"registry server {tracking_uri} (SQLite in {folder})"
    tracking_uri = f"sqlite:///{(folder / 'registry.db').as_posix()}"
    os.environ["OPSML_STORAGE_URI"] = (folder / "artifacts").as_posix()
    return None, tracking_uri, f"embedded registry (no server package) in {folder}"


def summarize(
    mode: str,
    loop: dict[str, Any],
    pipeline: Any,
    events: int,
    timings: dict[str, float],
) -> dict[str, Any]:
    """The demo's results as one JSON-able dict."""
    trained = loop["training"]["v1"]
    return {
        "registry": mode,
        "cards of the first training": {
            k: trained[k] for k in ("data", "run", "model", "pipeline")
        },
        "metrics": {"v1": trained["metrics"], "v2": loop["training"]["v2"]["metrics"]},
        "lineage": pipeline.lineage,
        "pipeline card lists": pipeline.card_uids,
        "opsml.card.registered events": events,
        "signature of v1": loop["signature of v1"],
        "public key": loop["public key"],
        "images": images_line(loop["steps"]),
        "steps": {label: _shipped(step) for label, step in loop["steps"].items()},
        "deployment history": loop["history"],
        "serving now": loop["current"],
        "timings (s)": {k: round(v, 3) for k, v in timings.items()},
    }


NO_ENGINE = (
    "no image was built: no container engine answered (docker, podman or buildah); "
    "to build, start and check the serving images: apt-get install podman buildah mmdebstrap"
)
"""What the summary says when the packaging found no container engine."""


def images_line(steps: dict[str, dict[str, Any]]) -> str:
    """One line on the serving images: how many were built, reused, or that none was built.

    Example:
        >>> images_line({"ship v1": {"image built": False}}) == NO_ENGINE
        True
        >>> images_line({"a": {"image built": True}, "b": {"image built": True,
        ...              "image reused": True}})
        '1 built, 1 reused (built before, checked again), each started and checked over HTTP'

    """
    built = [step for step in steps.values() if step["image built"]]
    if not built:
        return NO_ENGINE
    reused = sum(1 for step in built if step.get("image reused"))
    return (
        f"{len(built) - reused} built, {reused} reused (built before, checked again), "
        "each started and checked over HTTP"
    )


def _shipped(step: dict[str, Any]) -> dict[str, Any]:
    """One approval + packaging + deploy step, without what a person would not read.

    Without an image there is no digest, no reuse and no check to show: the step
    says no image was built, and where its build context and build command are.
    """
    if not step["image built"]:
        hidden = {"image check", "image digest", "image reused"}
        shown = {k: v for k, v in step.items() if k not in hidden}
        shown["no image"] = NO_ENGINE
        return shown
    shown = {k: v for k, v in step.items() if k not in ("image check", "build command")}
    if step["image check"]:
        shown["image answered over HTTP"] = step["image check"].get("started_with")
    return shown


def browse_hint(registry: Path, model_uid: str) -> str:
    """How to look at what the demo registered, with the ``opsml`` command.

    Example:
        >>> print(browse_hint(Path("/d/registry"), "ab" * 16))  # doctest: +ELLIPSIS
        Registry: database sqlite:////d/registry/registry.db, artifacts /d/registry/artifacts
        ...

    """
    uri = f"sqlite:///{(registry / 'registry.db').as_posix()}"
    return (
        f"Registry: database {uri}, artifacts {(registry / 'artifacts').as_posix()}\n"
        "Browse what the demo registered:\n"
        f"  OPSML_TRACKING_URI={uri} opsml cards list --registry model\n"
        f"  OPSML_TRACKING_URI={uri} opsml deployments list\n"
        f"  OPSML_TRACKING_URI={uri} opsml approvals list\n"
        f"  OPSML_TRACKING_URI={uri} opsml cards show {model_uid}\n"
        f"  OPSML_TRACKING_URI={uri} opsml ui    # the web UI, in your browser"
    )


if __name__ == "__main__":
    sys.exit(main())
