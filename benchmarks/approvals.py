"""Approval latency (issue 33): ``request_alias`` and ``approve`` (the decision and the alias
move in one transaction, both audited), p50 and p95, embedded and through a local registry
server, on SQLite and on any database URL given.

Each round asks for the protected alias to move to the other of two versions and
approves it as a second person, so each approval is a real move. The result is
checked: after the run the alias points to the version approved last.
Run from the repository root::

    python -m benchmarks.approvals [--rounds 200] [--database-url URL ...] [--out FILE]

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._common import database_main, databases, p95_ms
from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError, server_env
from opsml_testing import proc
from opsml_testing.live_server import start_registry

if TYPE_CHECKING:
    from opsml import CardRegistry

ALIAS = "champion"


def approvals(requester: CardRegistry, approver: CardRegistry, n: int) -> dict[str, float]:
    """Median and p95 of ``n`` requests and ``n`` approvals (each approval moves the alias)."""
    from opsml import RunCard

    cards = [
        requester.register_card(RunCard(name="bench-approve", repository="bench", contact="b"))
        for _ in range(2)
    ]
    pending: list[int] = []
    asked_count = 0
    approved_version = ""

    def request() -> None:
        nonlocal asked_count
        asked_count += 1
        asked = requester.request_alias(cards[asked_count % 2], ALIAS, reason="bench")
        pending.append(asked.id)

    def approve() -> None:
        nonlocal approved_version
        done = approver.approve(pending.pop(0), comment="ok")
        approved_version = done.version

    for _ in range(2):  # warm up: connections, caches
        request()
        approve()
    requested: list[float] = []
    approved: list[float] = []
    for _ in range(n):  # alternate, so that each approval finds its request pending
        requested += timed(request, 1, warmup=0)
        approved += timed(approve, 1, warmup=0)
    now = requester.list_aliases(name="bench-approve", repository="bench")
    if now.get(ALIAS) != approved_version:
        raise BenchmarkError(f"alias is {now}, expected {ALIAS} -> {approved_version}")
    return {
        "request_p50_ms": p50_ms(requested), "request_p95_ms": p95_ms(requested),
        "approve_p50_ms": p50_ms(approved), "approve_p95_ms": p95_ms(approved),
    }  # fmt: skip


def _server(root: Path, db_url: str | None) -> proc.Server:
    """A registry server over ``db_url`` (default SQLite under ``root``) protecting ``ALIAS``."""
    root.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{(root / 'registry.db').as_posix()}"
    env = {**server_env(db_url, root), "OPSML_PROTECTED_ALIASES": ALIAS}
    return start_registry(env, log_path=root / "server.log")


def run(work: Path, n: int, urls: list[str]) -> dict[str, dict[str, float]]:
    """The latencies embedded and through a server, on SQLite and on each of ``urls``."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    out: dict[str, dict[str, float]] = {}
    for kind, url in databases(work, urls).items():
        storage = (work / f"{kind}-s").as_posix()
        embedded = {
            actor: OpsmlSettings(
                tracking_uri=url, storage_uri=storage, protected_aliases=ALIAS, actor=actor
            )
            for actor in ("alice", "bob")
        }
        alice = CardRegistry("run", settings=embedded["alice"])
        bob = CardRegistry("run", settings=embedded["bob"])
        out[f"embedded_{kind}"] = approvals(alice, bob, n)
        server = _server(work / f"server-{kind}", None if kind == "sqlite" else url)
        try:
            remote = server.url
            alice = CardRegistry("run", settings=OpsmlSettings(tracking_uri=remote, actor="alice"))
            bob = CardRegistry("run", settings=OpsmlSettings(tracking_uri=remote, actor="bob"))
            out[f"http_server_{kind}"] = approvals(alice, bob, n)
        finally:
            server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally save) the approval latencies."""
    return database_main(argv, __doc__, "rounds", "opsml-bench-approve-", run)


if __name__ == "__main__":
    raise SystemExit(main())
