"""Stateful fuzzing of the registry server for as many requests as asked (issue 30).

The machine of ``opsml_testing/fuzzing.py`` (schemathesis 4, links between operations inferred
from the OpenAPI schema, a server with auth in process over SQLite) runs as each role in
turn, a round of scenarios at a time, until at least ``--requests`` requests were sent.
Every response is checked (no 5xx, status, content type and body as the schema says); the
first failing check stops the run with its reproduction. Run from the repository root::

    python -m uv run --frozen python benchmarks/fuzz.py --requests 10000

It prints, per role, the requests sent and the statuses received, and the total of 5xx.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from opsml_testing.fuzzing import ROLES, fuzz_server, run_role  # noqa: E402


def main() -> int:
    """Fuzz until the request budget is spent; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests to send at least")
    parser.add_argument("--scenarios", type=int, default=25, help="scenarios per role per round")
    parser.add_argument("--steps", type=int, default=20, help="steps per scenario at most")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opsml-fuzz-bench-"))
    per_role: dict[str, Counter[int]] = {role: Counter() for role in ROLES}
    start = time.perf_counter()
    rounds = 0
    try:
        with fuzz_server(root) as (schema, identities):
            while sum(sum(t.values()) for t in per_role.values()) < args.requests:
                rounds += 1
                for role in ROLES:
                    per_role[role] += run_role(schema, identities, role, args.scenarios, args.steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - start
    total: Counter[int] = sum(per_role.values(), Counter())
    print(f"{sum(total.values())} requests in {elapsed:.0f} s ({rounds} rounds), "
          f"{sum(n for s, n in total.items() if s >= 500)} with a 5xx")  # fmt: skip
    print("| role | requests | statuses |")
    print("| --- | ---: | --- |")
    for role, tally in per_role.items():
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.items()))
        print(f"| {role} | {sum(tally.values())} | {statuses} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
