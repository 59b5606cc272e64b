"""MLflow, set up in its own venv (``benchmarks/.venvs/mlflow``, cached between runs).

Its tracking server runs with the model registry on SQLite and proxied
artifacts on a free loopback port; its workloads run in
``mlflow_worker.py`` with that venv's interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opsml_testing import proc

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venvs" / "mlflow"
PYTHON = VENV / "bin" / "python"
PACKAGES = ["mlflow", "scikit-learn", "pandas"]


def ensure_venv() -> Path:
    """Create the venv and install MLflow once (uv when available, else venv + pip)."""
    if (
        PYTHON.exists()
        and subprocess.run([str(PYTHON), "-c", "import mlflow"], capture_output=True).returncode
        == 0
    ):
        return PYTHON
    install_venv(VENV, PACKAGES)
    return PYTHON


def install_venv(venv: Path, packages: list[str]) -> None:
    """A fresh venv at ``venv`` with ``packages`` (uv when available, else venv + pip)."""
    python = venv / "bin" / "python"
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    found = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV
    uv = [found] if found else [sys.executable, "-m", "uv"]
    try:
        subprocess.run([*uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env)
        subprocess.run(
            [*uv, "pip", "install", "-q", "-p", str(python), *packages], check=True, env=env
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)


def version() -> str:
    """The installed MLflow version."""
    return subprocess.run(
        [str(PYTHON), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def start_server(root: Path) -> proc.Server:
    """``mlflow server`` over ``root/mlflow.db`` with proxied artifacts under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    argv = [
        str(VENV / "bin" / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--backend-store-uri",
        f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        "--artifacts-destination",
        (root / "artifacts").as_posix(),
        "--serve-artifacts",
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return proc.start(
        argv,
        ready_path="/health",
        log_path=root / "mlflow.log",
        env={**env, "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"},
        timeout=180,
    )


def seed(db: Path, total: int, names: int = 1000) -> None:
    """Insert ``total`` model versions (``names`` registered models) with SQL inserts."""
    conn = sqlite3.connect(db)
    cols = {
        t: {r[1] for r in conn.execute(f"pragma table_info({t})")}
        for t in ("registered_models", "model_versions")
    }
    per_name = max(1, total // names)
    now = int(time.time() * 1000)

    def row(table: str, values: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if k in cols[table]}

    models = [
        row(
            "registered_models",
            {"name": f"model-{n:05d}", "creation_time": now, "last_updated_time": now},
        )
        for n in range((total + per_name - 1) // per_name)
    ]
    versions = []
    for i in range(total):
        n, v = divmod(i, per_name)
        versions.append(
            row(
                "model_versions",
                {
                    "name": f"model-{n:05d}",
                    "version": v + 1,
                    "creation_time": now + i,
                    "last_updated_time": now + i,
                    "current_stage": "None",
                    "source": "file:///seed",
                    "status": "READY",
                    "storage_location": "file:///seed",
                    "user_id": "bench",
                },
            )
        )
    with conn:
        for table, rows in (("registered_models", models), ("model_versions", versions)):
            keys = list(rows[0])
            conn.executemany(
                f"insert into {table} ({', '.join(keys)}) values ({', '.join('?' for _ in keys)})",
                [tuple(r.values()) for r in rows],
            )
    count = conn.execute("select count(*) from model_versions").fetchone()[0]
    conn.close()
    if count < total:
        raise AssertionError(f"seeded {count} MLflow versions, wanted {total}")


def run(workload: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """Run one workload of ``mlflow_worker.py`` in MLflow's venv; its JSON result."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHONPATH"))}
    done = subprocess.run(
        [str(PYTHON), str(HERE / "mlflow_worker.py"), workload, url, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    if done.returncode != 0:
        raise RuntimeError(f"MLflow workload {workload} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
