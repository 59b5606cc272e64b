"""Alias move latency (issue 13): ``registry.set_alias`` p50, embedded SQLite and via a server.

Each sample moves the alias ``champion`` to the other of two versions, so
every move is a real update (one transaction: lock, update, audit). The
result is checked: after the run the alias points to the version of the last
move. Run from the repository root::

    python -m benchmarks.aliases [--moves 200] [--out benchmarks/aliases.json]

"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import p95_ms, print_result
from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError, start_server


def alias_moves(registry: Any, n: int) -> dict[str, float]:
    """Median and p95 of ``n`` alias moves between two fresh run cards of ``registry``."""
    from opsml import RunCard

    cards = [
        registry.register_card(RunCard(name="bench-alias", repository="bench", contact="b"))
        for _ in range(2)
    ]
    state = {"i": 0}

    def move() -> None:
        state["i"] += 1
        registry.set_alias(cards[state["i"] % 2], "champion")

    samples = timed(move, n)
    want = cards[state["i"] % 2].version
    got = registry.list_aliases(name="bench-alias", repository="bench")
    if got != {"champion": want}:
        raise BenchmarkError(f"after the moves the alias is {got}, expected champion -> {want}")
    return {"move_p50_ms": p50_ms(samples), "move_p95_ms": p95_ms(samples)}


def run(work: Path, n: int) -> dict[str, dict[str, float]]:
    """Alias move latency embedded (SQLite) and through a local registry server."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    embedded = OpsmlSettings(
        tracking_uri=f"sqlite:///{(work / 'embedded.db').as_posix()}",
        storage_uri=(work / "embedded-storage").as_posix(),
    )
    out = {"embedded_sqlite": alias_moves(CardRegistry("run", settings=embedded), n)}
    server = start_server(work / "server")
    try:
        remote = CardRegistry("run", settings=OpsmlSettings(tracking_uri=server.url))
        out["http_server_sqlite"] = alias_moves(remote, n)
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally save) the alias move latencies."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsml-bench-alias-") as tmp:
        result = run(Path(tmp), args.moves)
    print_result(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
