"""100 SIGKILLs of the registry server at random points of registrations (issue 30).

The trials of ``opsml_testing/kills.py``: each kill lands at a delay drawn uniformly over an
unkilled registration of the same kind (one multipart request, or an upload session),
its phase is read from what it left behind, and after a restart and
``opsml db gc --older-than 0s`` the registry must hold no visible card without its files,
no orphan object, staged file or session, and the same registration again must succeed.
Run from the repository root::

    python -m uv run --frozen python benchmarks/kills.py --store sqlite --kills 100
    python -m uv run --frozen python benchmarks/kills.py --store postgres-s3 --kills 100

It prints the phase histogram (per kind of registration) and the problems found (none
expected); ``--json FILE`` writes the report.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import fsspec  # noqa: E402

from opsml_testing.databases import scratch_database  # noqa: E402
from opsml_testing.emulators import S3Emulator, running, unique_uri  # noqa: E402
from opsml_testing.kills import MODES, Store, run_kills  # noqa: E402


def main() -> int:
    """Run the kills on one store; print the histogram; exit 1 on any problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["sqlite", "postgres-s3"], default="sqlite")
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opsml-kills-"))
    with ExitStack() as stack:
        if args.store == "sqlite":
            storage = (root / "storage").as_posix()
            store = Store("SQLite + folder", f"sqlite:///{(root / 'registry.db').as_posix()}",
                          storage, {}, fsspec.filesystem("file"), storage)  # fmt: skip
        else:
            emulator = stack.enter_context(running(S3Emulator()))
            assert isinstance(emulator, S3Emulator)
            uri = unique_uri(emulator)
            url = stack.enter_context(scratch_database("postgres"))
            store = Store("PostgreSQL + S3 (moto)", url, uri, emulator.server_env(),
                          emulator.filesystem(), uri.removeprefix("s3://"))  # fmt: skip
        start = time.perf_counter()
        report = run_kills(store, root, args.kills, seed=args.seed)
        elapsed = time.perf_counter() - start
    print(f"{store.name}: {sum(report.phases.values())} kills in {elapsed:.0f} s, "
          f"{report.retries_ok} retries succeeded, {len(report.problems)} problem(s), "
          f"{report.commit_hits} kill(s) inside a commit")  # fmt: skip
    spans = ", ".join(
        f"{mode} {seconds * 1000:.0f} ms" for mode, seconds in report.durations.items()
    )
    print(f"unkilled registration ({len(MODES)} kinds): {spans}")
    print("| phase | " + " | ".join(MODES) + " | all |")
    print("| --- | " + " | ".join("---:" for _ in MODES) + " | ---: |")
    for phase, count in sorted(report.phases.items(), key=lambda item: -item[1]):
        cells = " | ".join(str(report.by_mode[(mode, phase)]) for mode in MODES)
        print(f"| {phase} | {cells} | {count} |")
    for problem in report.problems:
        print("PROBLEM", problem)
    if args.json:
        args.json.write_text(json.dumps({
            "store": store.name, "kills": sum(report.phases.values()), "seconds": elapsed,
            "retries_ok": report.retries_ok, "problems": report.problems,
            "durations": report.durations, "phases": dict(report.phases),
            "by_mode": {f"{m} | {p}": n for (m, p), n in report.by_mode.items()},
            "fractions": report.fractions,
        }, indent=1))  # fmt: skip
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
