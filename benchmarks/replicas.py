"""How cost grows with replicas: Locust through HAProxy over 1, 2 and 3 registry replicas.

Run from the repository root (PostgreSQL at 127.0.0.1:5432 and /usr/sbin/haproxy needed)::

    .venv/bin/python benchmarks/replicas.py                 # 300 s per replica count
    .venv/bin/python benchmarks/replicas.py --quick         # 20 s per replica count
    .venv/bin/python benchmarks/replicas.py --duration 60 --replicas 1,3 --users 12

For each replica count: a fresh scratch PostgreSQL database (migrated first,
as the Kubernetes Job does), one moto S3 server, ``n`` replicas each in its own
process and empty folder, HAProxy round-robin in front (opsml_testing/balancer.py).
A card with a 1 MiB file is registered, then ``locust --headless`` runs
benchmarks/_locustfile.py (register small cards, load, list, download+verify
1 MiB) with ``--users`` clients for ``--duration`` seconds.

Reported per replica count: operations/s, p50/p99 (ms), error rate, HTTP
requests (HAProxy's count), CPU seconds per operation spent by the replicas
and by every other process (PostgreSQL, moto, HAProxy, the Locust client), and
the RSS of each replica at the start and at the end. Everything shares this
machine's cores: the CPU split says where the time goes. Writes
``results.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._cpu import CpuAccount  # noqa: E402

FULL_DURATION = 300
QUICK_DURATION = 20
MIB = 1024 * 1024


def _seed(url: str, folder: Path) -> str:
    """Register the card whose 1 MiB file every download fetches (its uid) and a first
    ``bench/load`` card (loads and lists never miss)."""
    from opsml import CardRegistry, RunCard
    from opsml.config import OpsmlSettings

    source = folder / "weights.bin"
    source.write_bytes(os.urandom(MIB))
    card = RunCard(name="download", repository="bench", contact="b@example.com", git_commit=None)
    card.log_artifact(source)
    registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=url))
    registry.register_card(card)
    registry.register_card(
        RunCard(name="load", repository="bench", contact="b@example.com", git_commit=None)
    )
    assert card.uid is not None
    return card.uid


def _locust(url: str, uid: str, users: int, duration: int, prefix: Path) -> dict[str, Any]:
    """Run Locust headless; the per-operation rows of its CSV."""
    locust = Path(sys.executable).with_name("locust")
    argv = [
        str(locust), "-f", str(REPO / "benchmarks" / "_locustfile.py"), "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{duration}s", "--host", url,
        "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**os.environ, "OPSML_BENCH_DOWNLOAD_UID": uid, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with open(f"{prefix}_failures.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            print(f"  failed {row['Occurrences']}x {row['Name']}: {row['Error'][:300]}")
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def _ms(value: str) -> float | None:
    """A Locust percentile (``N/A`` when an operation never ran)."""
    return None if value == "N/A" else float(value)


def _row(stats: dict[str, Any], name: str) -> dict[str, Any]:
    row = stats[name]
    count = int(row["Request Count"])
    return {
        "ops": count,
        "ops_per_s": float(row["Requests/s"]),
        "p50_ms": _ms(row["50%"]),
        "p99_ms": _ms(row["99%"]),
        "errors": int(row["Failure Count"]),
        "error_rate": int(row["Failure Count"]) / count if count else 0.0,
    }


def server_time(urls: list[str]) -> dict[str, dict[str, float]]:
    """Time the replicas spent per route (their own histograms, summed): where it goes."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    routes: dict[str, dict[str, float]] = {}
    for url in urls:
        text = httpx.get(f"{url}/metrics", timeout=10, trust_env=False).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not sample.name.startswith("opsml_http_request_duration_seconds_"):
                    continue
                key = f"{sample.labels['method']} {sample.labels['route']}"
                entry = routes.setdefault(key, {"count": 0.0, "total_s": 0.0})
                if sample.name.endswith("_count"):
                    entry["count"] += sample.value
                elif sample.name.endswith("_sum"):
                    entry["total_s"] += sample.value
    for entry in routes.values():
        entry["mean_ms"] = round(1000 * entry["total_s"] / max(entry["count"], 1), 2)
        entry["total_s"] = round(entry["total_s"], 2)
    return dict(sorted(routes.items(), key=lambda kv: -kv[1]["total_s"]))


def measure(count: int, *, users: int, duration: int, root: Path, s3: Any) -> dict[str, Any]:
    """One replica count: start everything, run the load, read the counters."""
    from opsml_testing.balancer import cluster

    with cluster(root / f"n{count}", count, s3=s3, check_interval_ms=2000) as group:
        uid = _seed(group.url, root)
        pids = {name: server.pid for name, server in group.replicas.items()}
        assert group.balancer is not None
        account = CpuAccount(replicas=pids, haproxy=group.balancer.process.pid, s3=s3.pid)
        rss_start = account.rss_mib()
        before = account.snapshot()
        stats = _locust(group.url, uid, users, duration, root / f"locust-{count}")
        after = account.snapshot()
        rss_end = account.rss_mib()
        answered = sum(group.balancer.answered().values())
        routes = server_time([server.url for server in group.replicas.values()])
        failed_http = sum(int(v or 0) for v in group.balancer.stat("hrsp_5xx").values())
    total = _row(stats, "Aggregated")
    cpu = {k: round(after[k] - before[k], 2) for k in after}
    ops = max(total["ops"], 1)
    return {
        "replicas": count,
        **total,
        "operations": {n: _row(stats, n) for n in stats if n != "Aggregated"},
        "http_requests": answered,
        "http_5xx": failed_http,
        "cpu_s": cpu,
        "cpu_ms_per_op": {k: round(1000 * v / ops, 2) for k, v in cpu.items()},
        "replica_cpu_ms_per_http_request": round(1000 * cpu["replicas"] / max(answered, 1), 2),
        "rss_mib_start": rss_start,
        "rss_mib_end": rss_end,
        "server_time_by_route": routes,
    }


def table(results: list[dict[str, Any]]) -> str:
    """The summary: one line per replica count, then where the CPU went."""
    lines = [
        f"{'replicas':>8} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8} "
        f"{'HTTP req':>9} {'server CPU ms/op':>17} {'/HTTP req':>9}  RSS MiB start -> end"
    ]
    for r in results:
        rss = ", ".join(
            f"{name} {r['rss_mib_start'][name]:.0f}->{r['rss_mib_end'][name]:.0f}"
            for name in sorted(r["rss_mib_start"])
            if name.startswith("r")
        )
        lines.append(
            f"{r['replicas']:>8} {r['ops_per_s']:>8.1f} {r['p50_ms'] or 0:>8.0f} "
            f"{r['p99_ms'] or 0:>8.0f} "
            f"{r['errors']:>8} {r['http_requests']:>9} "
            f"{r['cpu_ms_per_op']['replicas']:>17.2f} "
            f"{r['replica_cpu_ms_per_http_request']:>9.2f}  {rss}"
        )
    lines.append("")
    lines.append("CPU ms per operation, by process (all on this machine's cores):")
    for r in results:
        split = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms_per_op"].items())
        lines.append(f"  {r['replicas']} replica(s): {split}")
    lines.append("")
    lines.append("Server time by route (request start to response start, all replicas):")
    for r in results:
        top = list(r["server_time_by_route"].items())[:5]
        split = ", ".join(f"{k} {v['total_s']:.1f} s ({v['mean_ms']:.1f} ms avg)" for k, v in top)
        lines.append(f"  {r['replicas']} replica(s): {split}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run each replica count, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, help=f"seconds per count (default {FULL_DURATION})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DURATION} s per count")
    parser.add_argument("--replicas", default="1,2,3", help="replica counts, comma-separated")
    parser.add_argument("--users", type=int, default=8, help="concurrent Locust users")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    duration = args.duration or (QUICK_DURATION if args.quick else FULL_DURATION)
    counts = [int(c) for c in args.replicas.split(",")]
    from opsml_testing.emulators import S3Emulator, running

    results = []
    load_before = os.getloadavg()
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="replicas-bench-")))
        s3 = stack.enter_context(running(S3Emulator()))
        for count in counts:
            t0 = time.perf_counter()
            results.append(measure(count, users=args.users, duration=duration, root=root, s3=s3))
            print(f"{count} replica(s) measured in {time.perf_counter() - t0:.0f} s", flush=True)
    report = {
        "duration_s": duration,
        "users": args.users,
        "cores": os.cpu_count(),
        "load_average_before_after": [load_before, os.getloadavg()],
        "results": results,
    }
    print(table(results))
    print(f"load average before/after: {load_before} / {os.getloadavg()} (other users count)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replicas.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
