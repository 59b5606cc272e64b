"""This registry beside OpsML 2.2.4 and MLflow (``--workers 1``), in one run, as ratios.

    python -m benchmarks.peers [--size-mib 256] [--versions 500] [-n 25] [--repeats 2]

Each peer runs in its own virtual environment (``benchmarks/.venvs/opsml224``:
``opsml[server]==2.2.4``; ``benchmarks/.venvs/mlflow``), installed once from the
package index, with its own server on loopback over SQLite. Every client workload
runs in a fresh process (``benchmarks/peers_worker.py``; MLflow's in
``mlflow_worker.py``), so the first call of each is the cold one and the rest warm.
Each server has taken two uploads from another process before (:func:`warm_up`): the
cold side is the client's, as for a flow run against a registry that has been up.
Beside them, in the same run, the machine's references: bare loopback upload (plain,
with both ends hashing, and with the client reading and hashing the file while the
receiver hashes and stores it: the same work as a registration's transfer) and
download, one core's SHA-256, the fixed Python reference line. Budgets are ratios
(ours over the peer, or over the bare upload that does the same work); absolute
numbers are information.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import mlflow_side, workloads  # noqa: E402
from opsml_testing import proc as _proc  # noqa: E402
from opsml_testing.seeding import write_random_file  # noqa: E402

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venvs" / "opsml224"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_PACKAGES = ["opsml[server]==2.2.4", "scikit-learn", "pandas"]
WORKER = HERE / "peers_worker.py"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_peer_venv() -> Path:
    """OpsML 2.2.4 in its own venv, installed once (uv when available, else venv + pip)."""
    check = [str(PEER_PYTHON), "-c", "import importlib.metadata as m; print(m.version('opsml'))"]
    if PEER_PYTHON.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return PEER_PYTHON
    mlflow_side.install_venv(PEER_VENV, PEER_PACKAGES)
    return PEER_PYTHON


def start_peer(root: Path) -> _proc.Server:
    """OpsML 2.2.4's server (``opsml-uvicorn-server``) over SQLite and a folder under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    env.update(
        OPSML_TRACKING_URI=f"sqlite:///{(root / 'opsml.db').as_posix()}",
        OPSML_STORAGE_URI=(root / "storage").as_posix(),
        APP_ENV="development",
    )
    argv = [str(PEER_VENV / "bin" / "opsml-uvicorn-server"), "--port", "{port}"]
    return _proc.start(
        argv, ready_path="/opsml/healthcheck", log_path=root / "opsml224.log", base_env=env,
        timeout=180,
    )  # fmt: skip


def work(python: Path | str, workload: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One workload of ``peers_worker.py`` in a fresh process of ``python``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSML_", "PYTHONPATH"))}
    done = subprocess.run(
        [str(python), str(WORKER), workload, url, json.dumps(kwargs)],
        capture_output=True, text=True, env=env, timeout=1800, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{workload} under {python} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def machine(root: Path, blob: Path) -> dict[str, float]:
    """Bare loopback upload/download, one core's SHA-256 and the Python reference line."""
    size = blob.stat().st_size
    out = dict(workloads.machine_sha256(min(size, 256 * 2**20)))
    out.update(workloads.machine_python(200))
    bare = workloads.start_bare_server(root / "bare")
    try:
        out.update(workloads.machine_http(bare.url, 200, size, blob))
    finally:
        bare.stop()
    return out


def one_round(root: Path, args: argparse.Namespace, blob: Path, sha: str) -> dict[str, Any]:
    """Every side's rows once, with the machine's references taken in between."""
    out: dict[str, Any] = {"machine_before": machine(root / "m1", blob)}
    servers = {"ours": workloads.start_server(root / "ours"), "opsml224": start_peer(root / "p")}
    pythons: dict[str, Path | str] = {"ours": sys.executable, "opsml224": PEER_PYTHON}
    try:
        for side, server in servers.items():
            log(f"{side}: warm-up, upload, register, list")
            python = pythons[side]
            warm_up(python, server.url, blob, sha)
            out[side] = {
                "upload": work(python, "upload", server.url, path=str(blob), sha=sha,
                               n=args.uploads),
                "register": work(python, "register", server.url, n=args.n),
                "listing": work(python, "listing", server.url, n=args.n,
                                versions=args.versions),
            }  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
    if not args.no_mlflow:
        log("mlflow -w1: upload, register, list")
        try:
            out["mlflow"] = mlflow_round(root / "mlflow", args, blob, sha)
        except RuntimeError as exc:  # a server that never got ready: the round keeps the rest
            log(f"mlflow skipped this round: {str(exc).splitlines()[0]}")
    out["machine_after"] = machine(root / "m2", blob)
    return out


def warm_up(python: Path | str, url: str, blob: Path, sha: str) -> None:
    """Two uploads of ``blob`` by a process of their own, not measured: a registry server
    runs for days, and its first uploads after a start cost it more (about 0.1 s each of
    the first two here, for 256 MiB) than any later one; the measured client is the cold one.
    """
    work(python, "upload", url, path=str(blob), sha=sha, n=2)


def mlflow_round(root: Path, args: argparse.Namespace, blob: Path, sha: str) -> dict[str, Any]:
    """MLflow's tracking server with one worker: the same rows (its upload is cold only)."""
    server = mlflow_side.start_server(root)
    try:
        mlflow_side.run("transfer", server.url, path=str(blob), sha=sha)  # warm-up, as ours
        up = mlflow_side.run("transfer", server.url, path=str(blob), sha=sha)
        reg = mlflow_side.run("registry", server.url, n=max(10, args.n))
    finally:
        server.stop()
    seeded = root.parent / "mlflow-list"
    server = mlflow_side.start_server(seeded)
    try:
        mlflow_side.seed(seeded / "mlflow.db", args.versions, names=1)
        lst = mlflow_side.run("listing", server.url, n=args.n, total=args.versions,
                              name="model-00000", per_name=args.versions)  # fmt: skip
    finally:
        server.stop()
    return {
        "upload": {"cold_mb_s": up["upload_mb_s"], "download_mb_s": up["download_mb_s"]},
        "register": {"warm_p50_ms": reg["register_p50_ms"]},
        "listing": {"warm_p50_ms": lst["list_by_name_p50_ms"]},
    }


ROWS = [  # (label, workload, key, higher is better)
    (
        "register small sklearn model, process start to first done, ms",
        "register",
        "cold_with_import_ms",
        False,
    ),
    ("register small sklearn model, first call, ms", "register", "cold_ms", False),
    ("register small sklearn model p50, ms", "register", "warm_p50_ms", False),
    ("list 50 of one name (list_cards), first, ms", "listing", "cold_ms", False),
    ("list 50 of one name (list_cards) p50, ms", "listing", "warm_p50_ms", False),
    (
        "upload 1 file + register, process start to first done, MB/s",
        "upload",
        "cold_with_import_mb_s",
        True,
    ),
    ("upload 1 file + register, first call, MB/s", "upload", "cold_mb_s", True),
    ("upload 1 file + register, 2nd.. in process, MB/s", "upload", "warm_mb_s", True),
    ("download + verify, MB/s", "upload", "download_mb_s", True),
]


def ratio(ours: float | None, peer: float | None, higher: bool) -> float | None:
    """How many times better ours is (>1: ours is better)."""
    if not ours or not peer:
        return None
    return ours / peer if higher else peer / ours


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per row: the median value of each side over the rounds and the range of each ratio."""
    table = []
    for label, workload, key, higher in ROWS:
        row: dict[str, Any] = {"row": label}
        for side in ("ours", "opsml224", "mlflow"):
            values = [r[side][workload].get(key) for r in rounds if side in r]
            values = [v for v in values if v is not None]
            row[side] = statistics.median(values) if values else None
        for peer in ("opsml224", "mlflow"):
            each = [
                ratio(r["ours"][workload][key], r.get(peer, {}).get(workload, {}).get(key), higher)
                for r in rounds
            ]
            got = [g for g in each if g is not None]
            row[f"vs_{peer}"] = [min(got), max(got)] if got else None
        table.append(row)

    def of_bare(key: str) -> list[float]:
        """Our first upload over the bare reference ``key`` (mean of before and after)."""
        got = [
            r["ours"]["upload"]["cold_mb_s"]
            / statistics.mean([r["machine_before"][key], r["machine_after"][key]])
            for r in rounds
            if key in r["machine_before"] and key in r["machine_after"]
        ]
        return [min(got), max(got)] if got else []

    cold_warm = [
        r["ours"]["upload"]["upload_s"][0] / statistics.median(r["ours"]["upload"]["upload_s"][1:])
        for r in rounds
        if len(r["ours"]["upload"]["upload_s"]) > 1
    ]
    return {"rows": table, "upload_cold_of_bare": of_bare("http_up_mb_s"),
            "upload_cold_of_verified_bare": of_bare("http_up_verified_mb_s"),
            "upload_cold_of_stored_bare": of_bare("http_up_stored_mb_s"),
            "upload_cold_over_warm_time": cold_warm}  # fmt: skip


def render(summary: dict[str, Any], rounds: list[dict[str, Any]]) -> str:
    """The table: values (median of rounds) and each ratio's range over the rounds."""

    def fmt(v: float | None) -> str:
        return "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}")

    def span(r: list[float] | None) -> str:
        return "-" if not r else f"{r[0]:.2f}-{r[1]:.2f}x"

    lines = [
        f"{'row':62} {'ours':>7} {'2.2.4':>7} {'MLflow':>7}  {'vs 2.2.4':>11}  {'vs MLflow':>11}"
    ]
    for row in summary["rows"]:
        lines.append(
            f"{row['row']:62} {fmt(row['ours']):>7} {fmt(row['opsml224']):>7} "
            f"{fmt(row['mlflow']):>7}  {span(row['vs_opsml224']):>11}  {span(row['vs_mlflow']):>11}"
        )
    bare = summary["upload_cold_of_bare"]
    up = next(r for r in summary["rows"] if r["row"].startswith("upload 1 file + register, first"))
    list_row = next(
        r for r in summary["rows"] if r["row"].startswith("list 50 of one name (list_cards) p50")
    )
    checks = [
        ("upload, first in process >= 1.2x OpsML 2.2.4", up["vs_opsml224"], 1.2),
        (
            "upload, first in process >= 0.8x bare upload, both hash, stored",
            summary["upload_cold_of_stored_bare"],
            0.8,
        ),
        ("list_cards p50 >= 3x MLflow -w1", list_row["vs_mlflow"], 3.0),
    ]
    lines += ["", "budgets (ratios, range over rounds; PASS when the lowest meets it):"]
    for name, got, need in checks:
        verdict = "-" if not got else ("PASS" if got[0] >= need else "FAIL")
        lines.append(f"  {name:58} {span(got):>13}  {verdict}")
    lines.append(
        "  (information) upload, first in process / bare upload: "
        + f"{span(bare)}; / bare upload that both ends hash: "
        + span(summary["upload_cold_of_verified_bare"])
    )
    cw = summary["upload_cold_over_warm_time"]
    if cw:
        lines.append(
            f"  first upload's time / warm ones' (target <= 1.15): {min(cw):.2f}-{max(cw):.2f}"
        )
    m = rounds[-1]["machine_after"]
    lines += [
        "",
        "machine (last round): bare upload {:,.0f} MB/s ({:,.0f} with both ends hashing, "
        "{:,.0f} also stored), bare download {:,.0f} MB/s, SHA-256 {:,.0f} MB/s, "
        "Python reference {:.2f} ms".format(
            m["http_up_mb_s"],
            m["http_up_verified_mb_s"],
            m.get("http_up_stored_mb_s", 0.0),
            m["http_down_mb_s"],
            m["sha256_mb_s"],
            m["python_ref_ms"],
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--versions", type=int, default=500, help="versions of one name listed")
    parser.add_argument("-n", type=int, default=25, help="repeats of the small workloads")
    parser.add_argument("--uploads", type=int, default=4, help="registrations per process")
    parser.add_argument("--repeats", type=int, default=2, help="rounds (ratios as ranges)")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    log("venvs: opsml 2.2.4" + ("" if args.no_mlflow else ", mlflow"))
    ensure_peer_venv()
    if not args.no_mlflow:
        mlflow_side.ensure_venv()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="opsml-peers-") as tmp:
        root = Path(tmp)
        blob = root / "weights.bin"
        sha = write_random_file(blob, args.size_mib * 2**20)
        for i in range(args.repeats):
            log(f"round {i + 1} of {args.repeats}")
            rounds.append(one_round(root / f"r{i}", args, blob, sha))
    summary = summarize(rounds)
    text = render(summary, rounds)
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.json").write_text(
        json.dumps({"summary": summary, "rounds": rounds}, indent=2)
    )
    (args.out / "peers.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
