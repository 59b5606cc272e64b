"""A soak of the registry server on PostgreSQL: mixed load, RSS every 10 s (issue 30).

The load of ``opsml_testing/soak.py`` (registrations, pages, counts, loads by uid and name,
downloads, alias moves from ``WORKERS`` threads) for ``--minutes`` (default 30), against a
server process on a scratch PostgreSQL database and a folder store. It prints the requests
answered, the statuses and the RSS slope after the warm-up (MiB per 10,000 requests), and
writes the samples (``--json``) and the curve (``--plot``). Run from the repository root::

    python -m uv run --frozen python benchmarks/soak.py --minutes 30 \\
        --json docs/soak.json --plot docs/soak.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from opsml_testing.databases import scratch_database  # noqa: E402
from opsml_testing.live_server import running_server  # noqa: E402
from opsml_testing.soak import plot, soak  # noqa: E402


def main() -> int:
    """Soak, print the figures, write the samples and the curve; exit 1 over the limit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the fit")
    parser.add_argument("--limit", type=float, default=1.0, help="MiB per 10,000 requests")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opsml-soak-"))
    with scratch_database("postgres") as url, running_server(root, db_url=url) as server:
        result = soak(server, args.minutes * 60, args.interval, args.warmup)
    seconds, answered, _ = result.samples[-1]
    slope = result.slope_mib_per_10k()
    rss = [sample[2] / 1024**2 for sample in result.samples]
    print(f"{answered} requests in {seconds:.0f} s ({answered / seconds:.0f}/s), "
          f"statuses {dict(result.statuses)}")  # fmt: skip
    print(
        f"RSS {rss[0]:.1f} -> {rss[-1]:.1f} MiB (max {max(rss):.1f}); after the "
        f"{args.warmup:g} s warm-up {slope:+.3f} MiB per 10,000 requests (limit {args.limit})"
    )
    if args.json:
        args.json.write_text(result.to_json())
    if args.plot:
        plot(result, args.plot, f"{args.minutes:g} min soak, PostgreSQL")
    return 1 if slope > args.limit else 0


if __name__ == "__main__":
    raise SystemExit(main())
