"""Deployment record latency (issue 29): ``record_deployment`` (a ``deployed`` that retires the
previous one), ``current_deployment`` and ``list_deployments`` (a page of 50), p50 and p95,
embedded and through a local registry server, on SQLite and on any database URL given.

Each record alternates between two versions on one target, so each is a real
move (lock the target, append ``retired`` and ``deployed``, audit). The result
is checked: after the run the target's current deployment is the last one recorded.
Run from the repository root::

    python -m benchmarks.deployments [--records 200] [--database-url URL ...] [--out FILE]

"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks._common import database_main, databases, p95_ms
from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError, start_server

TARGET = "k8s/bench/api"


def deployments(registry: Any, n: int) -> dict[str, float]:
    """Median and p95 of ``n`` records, ``n`` current reads and ``n`` list pages of 50."""
    from opsml import RunCard

    cards = [
        registry.register_card(RunCard(name="bench-deploy", repository="bench", contact="b"))
        for _ in range(2)
    ]
    state = {"i": 0, "last": -1}
    digests = ["sha256:" + "a" * 64, "sha256:" + "b" * 64]

    def record() -> None:
        state["i"] += 1
        card = cards[state["i"] % 2]
        done = registry.record_deployment(
            card, target=TARGET, state="deployed", image_digest=digests[state["i"] % 2]
        )
        state["last"] = done.id

    recorded = timed(record, n)
    current = timed(lambda: registry.current_deployment(target=TARGET), n)
    listed = timed(lambda: registry.list_deployments(target=TARGET, limit=50), n)
    now = registry.current_deployment(target=TARGET)
    if now is None or now.id != state["last"]:
        raise BenchmarkError(f"current is {now}, expected the last record {state['last']}")
    return {
        "record_p50_ms": p50_ms(recorded), "record_p95_ms": p95_ms(recorded),
        "current_p50_ms": p50_ms(current), "current_p95_ms": p95_ms(current),
        "list50_p50_ms": p50_ms(listed), "list50_p95_ms": p95_ms(listed),
    }  # fmt: skip


def run(work: Path, n: int, urls: list[str]) -> dict[str, dict[str, float]]:
    """The latencies embedded and through a server, on SQLite and on each of ``urls``."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    out: dict[str, dict[str, float]] = {}
    for kind, url in databases(work, urls).items():
        settings = OpsmlSettings(tracking_uri=url, storage_uri=(work / f"{kind}-s").as_posix())
        out[f"embedded_{kind}"] = deployments(CardRegistry("run", settings=settings), n)
        server = start_server(work / f"server-{kind}", None if kind == "sqlite" else url)
        try:
            remote = CardRegistry("run", settings=OpsmlSettings(tracking_uri=server.url))
            out[f"http_server_{kind}"] = deployments(remote, n)
        finally:
            server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally save) the deployment record latencies."""
    return database_main(argv, __doc__, "records", "opsml-bench-deploy-", run)


if __name__ == "__main__":
    raise SystemExit(main())
