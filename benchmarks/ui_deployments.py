"""The deployment views of the web UI (issue 29 item 7): page times through a registry server.

Seeds a registry with ``--targets`` targets over two environments and
``--records`` deployment records (packaged, then deployed, across 20 model
versions, so many deployed records are retired again), among ``--fillers``
other model cards, then measures on loopback, as the p50 of keep-alive GETs:
``/ui/deployments``, the card page of a serving version, the card page of a
version with no records, and the model list (its "serving" marks). Run from the
repository root::

    python -m benchmarks.ui_deployments [--targets 50] [--records 200] [--database-url URL]

"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import print_result
from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError, start_server

VERSIONS = 20
"""Model versions (10 names, two versions each) the records name."""


def seed(db_url: str, storage: Path, targets: int, records: int, fillers: int) -> dict[str, str]:
    """Write the cards and records straight into the database; the uids the pages need."""
    from opsml.backends.sql import SqlBackend
    from opsml.schemas import CardCreate
    from opsml.schemas_deployments import DeploymentCreate

    backend = SqlBackend(db_url, storage.as_posix())
    try:
        for i in range(fillers):
            filler = CardCreate(registry="model", name=f"f-{i:04d}", repository="bulk", contact="b")
            backend.register_card(filler, storage)
        cards = []
        for i in range(VERSIONS):
            card = CardCreate(
                registry="model", name=f"svc-{i // 2:02d}", repository="ds", contact="ds",
                version=f"1.{i % 2}.0",
            )  # fmt: skip
            cards.append(backend.register_card(card, storage))
        written = 0
        while written < records:
            for t in range(targets):
                if written >= records:
                    break
                public = cards[(t + written // targets) % VERSIONS]
                env = "production" if t % 2 else "staging"
                digest = "sha256:" + f"{written:064x}"
                state = "packaged" if (written // targets) % 2 == 0 else "deployed"
                backend.record_deployment(
                    DeploymentCreate(
                        registry="model", uid=public.uid, environment=env, target=f"k8s/t-{t:03d}",
                        state=state, image=f"svc:{written}", image_digest=digest,
                        flow_run_id=f"run-{written}",
                        flow_run_url=f"http://127.0.0.1:4200/runs/flow-run/run-{written}",
                    ),
                    actor="bench",
                )  # fmt: skip
                written += 1
        serving = backend.list_deployments(_current())
        if not serving.items:
            raise BenchmarkError("the seed left nothing deployed")
        idle = backend.register_card(
            CardCreate(registry="model", name="idle", repository="ds", contact="ds"), storage
        )
        return {"serving": serving.items[0].uid, "idle": idle.uid}
    finally:
        backend.close()


def _current() -> Any:
    from opsml.schemas_deployments import DeploymentQuery

    return DeploymentQuery(current=True, limit=1000)


def pages(url: str, uids: dict[str, str], n: int) -> dict[str, float]:
    """p50 milliseconds of each page over one keep-alive client."""
    paths = {
        "deployments": ("/ui/deployments", "Newest records"),
        "card_serving": (f"/ui/model/{uids['serving']}", "Serving</span>"),
        "card_idle": (f"/ui/model/{uids['idle']}", "No deployment records for this version."),
        "list": ("/ui/model", "badge serving"),
    }
    out: dict[str, float] = {}
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        for name, (path, expect) in paths.items():

            def get(path: str = path, expect: str = expect) -> None:
                response = client.get(path)
                if response.status_code != 200 or expect not in response.text:
                    raise BenchmarkError(f"GET {path}: {response.status_code} without {expect!r}")

            out[f"{name}_p50_ms"] = p50_ms(timed(get, n))
    return out


def run(work: Path, targets: int, records: int, fillers: int, n: int, db_url: str | None) -> Any:
    """Seed, start a server over the same database, measure."""
    url = db_url or f"sqlite:///{(work / 'server' / 'registry.db').as_posix()}"
    (work / "server").mkdir(parents=True, exist_ok=True)
    uids = seed(url, work / "server" / "storage", targets, records, fillers)
    server = start_server(work / "server", db_url)
    try:
        return {
            "targets": targets, "records": records, "fillers": fillers, "repeats": n,
            **pages(server.url, uids, n),
        }  # fmt: skip
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally save) the page times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--fillers", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="Default: SQLite in a temp folder.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsml-bench-ui-deploy-") as tmp:
        result = run(
            Path(tmp), args.targets, args.records, args.fillers, args.repeats, args.database_url
        )
    print_result(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
