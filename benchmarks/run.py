"""Side-by-side benchmark of this registry and MLflow, with the machine's own limits.

Run from the repository root::

    python -m uv run --frozen python benchmarks/run.py [--quick] [--no-mlflow]

It prints a table (workload, ours, MLflow, ratio, budget, pass/fail) and writes
``benchmarks/results/results.json`` and ``benchmarks/results/results.png``.
MLflow is installed once into ``benchmarks/.venvs/mlflow``. Everything runs on
loopback; PostgreSQL rows use ``OPSML_BENCH_PG_URL`` (default the test server
at 127.0.0.1:5432) in a scratch database, and are skipped when it is down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import (  # noqa: E402
    downloads,
    mlflow_side,
    model_interfaces,
    packaging_image,
    ui_workloads,
    workloads,
)
from benchmarks import listing as listing_bench  # noqa: E402
from opsml_testing import proc  # noqa: E402
from opsml_testing.seeding import seed_cards, write_random_file  # noqa: E402

PG_URL = os.environ.get("OPSML_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RESULTS = REPO / "benchmarks" / "results"


@dataclass
class Row:
    """One line of the table."""

    workload: str
    unit: str
    ours: float | None
    mlflow: float | None = None
    budget: float | None = None
    higher_is_better: bool = False
    note: str = ""
    limit: float | None = None
    """The machine's own limit for this workload, measured in the same run."""
    limit_name: str = ""

    @property
    def of_limit(self) -> float | None:
        """``ours`` as a fraction of the limit (transfers: 1.0 is the machine's speed)."""
        if not self.ours or not self.limit:
            return None
        return self.ours / self.limit if self.higher_is_better else self.limit / self.ours

    @property
    def passed(self) -> bool | None:
        if self.budget is None or self.ours is None:
            return None
        return self.ours > self.budget if self.higher_is_better else self.ours < self.budget

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than MLflow (>1: ours is better)."""
        if not self.ours or not self.mlflow:
            return None
        return self.ours / self.mlflow if self.higher_is_better else self.mlflow / self.ours


@dataclass
class Sizes:
    """How much work each workload does."""

    repeats: int
    imports: int
    starts: int
    healthz: int
    big: int
    per_writer: int
    seed: int
    mlflow_seed: int
    gib_runs: int = 3


FULL = Sizes(
    repeats=100,
    imports=7,
    starts=5,
    healthz=2000,
    big=1024**3,
    per_writer=50,
    seed=100_000,
    mlflow_seed=100_000,
    gib_runs=5,
)
QUICK = Sizes(
    repeats=25,
    imports=3,
    starts=3,
    healthz=500,
    big=256 * 1024**2,
    per_writer=25,
    seed=100_000,
    mlflow_seed=100_000,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-key median of several result dicts."""
    return {
        k: statistics.median(r[k] for r in runs)
        for k in runs[0]
        if isinstance(runs[0][k], int | float)
    }


def ours(
    sizes: Sizes, work: Path, rows: list[Row], raw: dict[str, Any], limits: dict[str, float]
) -> None:
    """Our workloads (registry server on SQLite, and PostgreSQL where reachable)."""
    log("opsml: server start to ready")
    starts = []
    for i in range(sizes.starts):
        server = workloads.start_server(work / f"start-{i}")
        starts.append(server.started_in)
        server.stop()
    raw["ours_starts_s"] = starts
    rows.append(Row("server start to ready", "s", statistics.median(starts), budget=1.5))

    server = workloads.start_server(work / "main")
    try:
        log("opsml: keep-alive /healthz")
        rows.append(
            Row(
                "keep-alive /healthz p50",
                "ms",
                workloads.healthz_latency(server.url, "/healthz", sizes.healthz),
                budget=2.0,
            )
        )
        log("opsml: register / load small scikit-learn ModelCards")
        reg = workloads.registry_latency(server.url, sizes.repeats)
        raw["ours_registry"] = reg
        rows += [
            Row("register small sklearn model p50", "ms", reg["register_p50_ms"], budget=15),
            Row(
                "HTTP requests per registration",
                "req",
                reg["requests_per_register"],
                budget=3.5,
                note="budget: at most 3",
            ),
            Row("load by name, latest p50", "ms", reg["load_p50_ms"], budget=5),
            Row("load by name + model p50", "ms", reg["load_model_p50_ms"], budget=10),
        ]
        log("opsml: register / load a ~1 MB model per model interface; ONNX vs native predict")
        raw["ours_model_interfaces"] = model_interfaces.interface_latency(
            server.url, max(3, sizes.repeats // 5)
        )
        rows += model_interfaces.rows(raw["ours_model_interfaces"], Row)
        log(f"opsml: {sizes.big / 2**20:.0f} MiB upload and download")
        big = [
            workloads.big_transfer(server.url, server.pid, work / f"big{i}", sizes.big)
            for i in range(2)
        ]
        raw["ours_big"] = big
        med = median_of(big)
        label = f"{sizes.big / 2**30:g} GiB"
        rows += [
            Row(
                f"{label} upload (digest verified)",
                "MB/s",
                med["upload_mb_s"],
                budget=400,
                higher_is_better=True,
                limit=limits.get("http_up_mb_s"),
                limit_name="bare upload",
            ),
            Row(
                f"{label} upload: server RSS growth",
                "MiB",
                max(b["upload_rss_mib"] for b in big),
                budget=64,
            ),
            Row(
                f"{label} download (digest verified)",
                "MB/s",
                med["download_mb_s"],
                budget=600,
                higher_is_better=True,
                limit=limits.get("http_down_mb_s"),
                limit_name="bare download",
            ),
        ]
        log(f"opsml: 1 GiB download x{sizes.gib_runs}, bare loopback download beside each")
        bare = workloads.start_bare_server(work / "bare-gib")
        try:
            gib = downloads.gib_download(
                server.url, server.pid, bare.url, work / "gib", sizes.gib_runs
            )
        finally:
            bare.stop()
        raw["ours_gib_download"] = gib
        rows += downloads.rows(gib, Row)
        log("opsml: 8 writers on SQLite (SQL backend, then server)")
        sqlite_url = server_db(work / "main")
        storage = (work / "main" / "storage").as_posix()
        direct = workloads.concurrent_writers(
            sqlite_url, sqlite_url, storage, per_process=sizes.per_writer
        )
        via = workloads.concurrent_writers(
            server.url, sqlite_url, storage, per_process=sizes.per_writer
        )
        raw["ours_writers_sqlite"] = {"direct": direct, "server": via}
        rows += [
            Row(
                "8 writers, SQLite, SQL backend",
                "reg/s",
                direct["registrations_per_s"],
                higher_is_better=True,
            ),
            Row(
                "8 writers, SQLite, via server",
                "reg/s",
                via["registrations_per_s"],
                higher_is_better=True,
            ),
        ]
    finally:
        server.stop()

    postgres(sizes, work, rows, raw)

    log(f"opsml: seed {sizes.seed} card rows, list 50")
    seeded = work / "seeded"
    seeded.mkdir()
    db_url = server_db(seeded)
    t = time.perf_counter()
    seed_cards(db_url, sizes.seed)
    raw["ours_seed_s"] = time.perf_counter() - t
    server = workloads.start_server(seeded, db_url)
    try:
        listing = workloads.list_latency(server.url, sizes.repeats, sizes.seed)
        log("opsml: list page 2,000 by cursor; web UI pages over the seeded registry")
        raw["ours_deep_pages"] = listing_bench.deep_pages(server.url, sizes.repeats, sizes.seed)
        raw["ours_ui"] = ui_workloads.ui_pages(server.url, sizes.repeats, sizes.seed)
    finally:
        server.stop()
    raw["ours_list"] = listing
    rows.extend(ui_workloads.rows(raw["ours_ui"], sizes.seed, Row))
    log("opsml: 500 sklearn ModelCards of one name, list 50 (light rows and full cards)")
    server = workloads.start_server(work / "one-name")
    try:
        raw["ours_one_name"] = listing_bench.real_cards(server.url, sizes.repeats)
    finally:
        server.stop()
    rows.extend(listing_bench.rows(raw["ours_one_name"], raw["ours_deep_pages"], sizes.seed, Row))
    rows.append(
        Row(f"list 50 of {sizes.seed:,} versions p50", "ms", listing["list_p50_ms"], budget=10)
    )
    rows.append(Row("list 50 of one name's versions p50", "ms", listing["list_by_name_p50_ms"]))


def server_db(root: Path) -> str:
    return f"sqlite:///{(root / 'registry.db').as_posix()}"


def postgres(sizes: Sizes, work: Path, rows: list[Row], raw: dict[str, Any]) -> None:
    """8 writers on PostgreSQL: SQL backend directly, then through a server."""
    names = ["8 writers, PostgreSQL, SQL backend", "8 writers, PostgreSQL, via server"]
    try:
        scratch = workloads.scratch_postgres(PG_URL)
        url = scratch.__enter__()
    except Exception as exc:
        log(f"PostgreSQL unreachable ({type(exc).__name__}); its rows are skipped")
        rows += [
            Row(n, "reg/s", None, budget=200, higher_is_better=True, note="skipped") for n in names
        ]
        return
    try:
        from opsml.backends.sql.migrate import upgrade_database

        upgrade_database(url)
        log("opsml: 8 writers on PostgreSQL (SQL backend, then server)")
        storage = (work / "pg-storage").as_posix()
        direct = workloads.concurrent_writers(url, url, storage, per_process=sizes.per_writer)
        server = workloads.start_server(work / "pg", url)
        try:
            via = workloads.concurrent_writers(
                server.url, url, storage, per_process=sizes.per_writer
            )
        finally:
            server.stop()
        raw["ours_writers_pg"] = {"direct": direct, "server": via}
        rows += [
            Row(
                names[0], "reg/s", direct["registrations_per_s"], budget=200, higher_is_better=True
            ),
            Row(names[1], "reg/s", via["registrations_per_s"], budget=200, higher_is_better=True),
        ]
    finally:
        scratch.__exit__(None, None, None)


def mlflow(sizes: Sizes, work: Path, rows: list[Row], raw: dict[str, Any]) -> None:
    """The same workloads on MLflow's tracking server (registry on SQLite)."""
    log("mlflow: venv (cached in benchmarks/.venvs/mlflow)")
    python = mlflow_side.ensure_venv()
    raw["mlflow_version"] = mlflow_side.version()
    by_name = {r.workload: r for r in rows}

    def put(name: str, value: float | None, note: str = "") -> None:
        if name in by_name:
            by_name[name].mlflow = value
            if note:
                by_name[name].note = (by_name[name].note + "; " + note).strip("; ")

    times = workloads.import_times(str(python), "mlflow", sizes.imports)
    bare = workloads.import_times(str(python), None, sizes.imports)
    raw["mlflow_import_s"] = {"mlflow": times, "bare": bare}
    put(
        "import (above bare interpreter)",
        (statistics.median(times) - statistics.median(bare)) * 1000,
    )

    log("mlflow: server start to ready")
    starts = []
    for i in range(sizes.starts):
        server = mlflow_side.start_server(work / f"mlflow-start-{i}")
        starts.append(server.started_in)
        server.stop()
    raw["mlflow_starts_s"] = starts
    put("server start to ready", statistics.median(starts))

    server = mlflow_side.start_server(work / "mlflow")
    try:
        log("mlflow: keep-alive /health")
        put(
            "keep-alive /healthz p50",
            workloads.healthz_latency(server.url, "/health", sizes.healthz),
        )
        log("mlflow: log_model + register / load")
        reg = mlflow_side.run("registry", server.url, n=max(10, sizes.repeats // 2))
        raw["mlflow_registry"] = reg
        put("register small sklearn model p50", reg["register_p50_ms"])
        put("HTTP requests per registration", reg["requests_per_register"])
        put("load by name, latest p50", reg["load_p50_ms"])
        put("load by name + model p50", reg["load_model_p50_ms"])
        log("mlflow: 8 writers (create_model_version) on SQLite")
        wr = mlflow_side.run("writers", server.url, processes=8, per_process=sizes.per_writer)
        raw["mlflow_writers_sqlite"] = wr
        put(
            "8 writers, SQLite, via server",
            wr["registrations_per_s"],
            f"MLflow: {wr['errors']} errors, {wr['duplicates']} duplicates",
        )
        log("mlflow: big artifact up and down")
        src = work / "mlflow-big" / "weights.bin"
        src.parent.mkdir(parents=True)
        sha = write_random_file(src, sizes.big)
        with proc.RssSampler(server.pid) as rss:
            big = mlflow_side.run("transfer", server.url, path=str(src), sha=sha)
        src.unlink()
        raw["mlflow_big"] = {**big, "rss_mib": rss.growth_mib}
        label = f"{sizes.big / 2**30:g} GiB"
        put(f"{label} upload (digest verified)", big["upload_mb_s"])
        put(f"{label} download (digest verified)", big["download_mb_s"])
        put(f"{label} upload: server RSS growth", rss.growth_mib)
    finally:
        server.stop()

    log(f"mlflow: seed {sizes.mlflow_seed} model versions, list 50")
    seeded = work / "mlflow-seeded"
    server = mlflow_side.start_server(seeded)
    try:
        mlflow_side.seed(seeded / "mlflow.db", sizes.mlflow_seed)
        listing = mlflow_side.run("listing", server.url, n=sizes.repeats, total=sizes.mlflow_seed)
    finally:
        server.stop()
    raw["mlflow_list"] = listing
    note = "" if sizes.mlflow_seed == sizes.seed else f"MLflow seeded {sizes.mlflow_seed:,}"
    put(f"list 50 of {sizes.seed:,} versions p50", listing["list_p50_ms"], note)
    put("list 50 of one name's versions p50", listing["list_by_name_p50_ms"])


def machine(sizes: Sizes, work: Path) -> dict[str, float]:
    """The machine's own limits: one core's SHA-256 and Python, a file copy, bare loopback HTTP."""
    log("machine: SHA-256, Python reference, file copy, bare loopback HTTP")
    out: dict[str, float] = {}
    out.update(median_of([workloads.machine_sha256(min(sizes.big, 512 * 2**20)) for _ in range(3)]))
    out.update(workloads.machine_python(sizes.healthz // 4))
    src = work / "copy-src.bin"
    write_random_file(src, sizes.big)
    out.update(median_of([workloads.machine_copy(src, work / "copy-dst.bin") for _ in range(3)]))
    src.unlink()
    bare = workloads.start_bare_server(work / "bare")
    try:
        out.update(
            median_of(
                [workloads.machine_http(bare.url, sizes.healthz // 2, sizes.big) for _ in range(3)]
            )
        )
    finally:
        bare.stop()
    return out


def table(rows: list[Row], limits: dict[str, float]) -> str:
    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"

    head = ("workload", "unit", "ours", "MLflow", "ours vs MLflow", "budget", "pass", "limit")
    body = []
    for r in rows:
        budget = (
            "-" if r.budget is None else (("> " if r.higher_is_better else "< ") + fmt(r.budget))
        )
        if r.workload == "HTTP requests per registration":
            budget = "<= 3"
        ratio = (
            "-" if r.ratio is None else f"{r.ratio:.1f}x " + ("better" if r.ratio >= 1 else "worse")
        )
        passed = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        limit = "-"
        if r.limit is not None and r.of_limit is not None:
            limit = f"{fmt(r.limit)} {r.limit_name} ({r.of_limit:.0%})"
        body.append((r.workload, r.unit, fmt(r.ours), fmt(r.mlflow), ratio, budget, passed, limit))
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    text = [line.format(*head), line.format(*("-" * w for w in widths))]
    text += [line.format(*b) for b in body]
    notes = [f"  {r.workload}: {r.note}" for r in rows if r.note]
    text += [
        "",
        "machine limits (same run):",
        "  (each transfer row shows its limit beside it, as a share of the limit)",
        f"  SHA-256, one core       {limits.get('sha256_mb_s', 0):,.0f} MB/s",
        f"  Python reference p50    {limits.get('python_ref_ms', 0):.2f} ms (interpreter-bound)",
        f"  file copy (same size)   {limits.get('copy_mb_s', 0):,.0f} MB/s",
        f"  bare loopback GET p50   {limits.get('http_p50_ms', 0):.3f} ms",
        f"  bare loopback download  {limits.get('http_down_mb_s', 0):,.0f} MB/s",
        f"  bare loopback upload    {limits.get('http_up_mb_s', 0):,.0f} MB/s",
    ]
    if notes:
        text += ["", "notes:", *notes]
    return "\n".join(text)


def chart(rows: list[Row], path: Path) -> None:
    """One small bar chart per workload: ours, MLflow, and the budget line."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no chart (uv sync --all-extras installs it)")
        return
    shown = [r for r in rows if r.ours is not None]
    cols = 4
    rows_n = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 2.6 * rows_n), squeeze=False)
    for ax, r in zip(axes.flat, shown, strict=False):
        labels, values, colors = ["ours"], [r.ours or 0.0], ["#2a7ab9"]
        if r.mlflow is not None:
            labels.append("MLflow")
            values.append(r.mlflow)
            colors.append("#d9822b")
        ax.bar(labels, values, color=colors)
        if r.budget is not None:
            ax.axhline(r.budget, color="red", linestyle="--", linewidth=1)
        ax.set_title(
            f"{r.workload}\n({r.unit}, {'higher' if r.higher_is_better else 'lower'} is better)",
            fontsize=8,
        )
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 256 MiB transfer")
    parser.add_argument("--no-mlflow", action="store_true", help="our side and the machine only")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and PNG")
    parser.add_argument(
        "--no-image", action="store_true", help="skip packaging the serving image (needs an engine)"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="opsml-bench-"))
    rows: list[Row] = []
    raw: dict[str, Any] = {"sizes": asdict(sizes)}
    try:
        load_before = os.getloadavg()
        limits = machine(sizes, work)
        log("imports")
        ours_t = workloads.import_times(sys.executable, "opsml", sizes.imports)
        bare_t = workloads.import_times(sys.executable, None, sizes.imports)
        raw["ours_import_s"] = {"opsml": ours_t, "bare": bare_t}
        rows.append(
            Row(
                "import (above bare interpreter)",
                "ms",
                (statistics.median(ours_t) - statistics.median(bare_t)) * 1000,
                budget=150,
            )
        )
        ours(sizes, work, rows, raw, limits)
        if not args.no_image:
            log("packaging the serving image")
            raw["packaging_image"] = packaging_image.measure(1 if args.quick else 2)
            if raw["packaging_image"] is not None:
                rows += packaging_image.rows(raw["packaging_image"], Row)
        if not args.no_mlflow:
            mlflow(sizes, work, rows, raw)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(rows, limits)
    elapsed = time.perf_counter() - started
    print()
    print(text)
    print(
        f"\n{len(rows)} workloads in {elapsed:.0f} s; load average before/after: "
        f"{load_before[0]:.2f}/{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "seconds": elapsed,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "machine": limits,
        "rows": [{**asdict(r), "ratio": r.ratio, "passed": r.passed} for r in rows],
        "raw": raw,
    }
    (args.out / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    (args.out / "results.txt").write_text(text + "\n")
    chart(rows, args.out / "results.png")
    print(f"results: {args.out / 'results.json'}, {args.out / 'results.png'}")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
