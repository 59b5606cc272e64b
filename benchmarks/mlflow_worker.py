"""MLflow's side of the workloads; runs in MLflow's own venv (benchmarks/.venvs/mlflow).

``python mlflow_worker.py WORKLOAD URL JSON_ARGS`` prints one JSON line of
results. It imports nothing from this project but the stdlib-only ``_race`` and
``_timing`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same files, which the checker knows by their package's name
    from benchmarks._race import WriterResult, race
    from benchmarks._timing import p50_ms, timed
else:  # this folder is on sys.path: the script runs from it
    from _race import WriterResult, race
    from _timing import p50_ms, timed


def count_requests() -> dict[str, int]:
    """Count every HTTP request MLflow's client makes (it uses ``requests``)."""
    import requests

    calls = {"n": 0}
    original = requests.Session.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(self, request, **kwargs)

    requests.Session.send = send  # type: ignore[method-assign]
    return calls


def registry(url: str, n: int) -> dict[str, Any]:
    """Log and register a small scikit-learn model n times; load it by name (latest)."""
    import mlflow
    import mlflow.sklearn
    import sklearn
    from mlflow import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    calls = count_requests()
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench")
    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(x, y)
    name = f"churn-{uuid.uuid4().hex[:6]}"
    per_call: list[int] = []
    versions: list[str] = []
    reqs = [f"scikit-learn=={sklearn.__version__}"]  # skips the requirement-inference subprocess

    def register() -> None:
        before = calls["n"]
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=name,
                input_example=x.head(5),
                pip_requirements=reqs,
            )
        per_call.append(calls["n"] - before)
        versions.append(str(info.registered_model_version))

    reg = timed(register, n)
    if len(set(versions)) != len(versions):
        raise AssertionError(f"duplicate versions {versions}")
    client = MlflowClient()
    latest = str(max(int(v) for v in versions))

    def load() -> None:
        got = client.search_model_versions(
            f"name='{name}'", max_results=1, order_by=["version_number DESC"]
        )
        if str(got[0].version) != latest:
            raise AssertionError("latest mismatch")

    def load_model() -> None:
        loaded = mlflow.sklearn.load_model(f"models:/{name}/latest")
        if loaded.predict(x.head(3)).shape != (3,):
            raise AssertionError("the loaded model does not predict")

    return {
        "register_p50_ms": p50_ms(reg),
        "requests_per_register": max(per_call),
        "load_p50_ms": p50_ms(timed(load, n)),
        "load_model_p50_ms": p50_ms(timed(load_model, n)),
    }


def listing(
    url: str, n: int, total: int, name: str = "model-00007", per_name: int | None = None
) -> dict[str, Any]:
    """search_model_versions(max_results=50) over a seeded registry (``per_name``: versions
    of ``name``, default ``total // 1000``)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)

    def run() -> None:
        got = client.search_model_versions(max_results=50)
        if len(got) != min(50, total):
            raise AssertionError(f"listed {len(got)}")

    def by_name() -> None:
        got = client.search_model_versions(f"name='{name}'", max_results=50)
        if len(got) != min(50, per_name or max(1, total // 1000)):
            raise AssertionError(f"listed {len(got)} by name")

    return {"list_p50_ms": p50_ms(timed(run, n)), "list_by_name_p50_ms": p50_ms(timed(by_name, n))}


def _writer(url: str, name: str, run_id: str, k: int, ready: Any, go: Any, out: Any) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    client.search_registered_models(max_results=1)
    ready.put(os.getpid())
    go.wait()
    versions: list[str] = []
    errors: list[str] = []
    t0 = time.monotonic()
    for _ in range(k):
        try:
            mv = client.create_model_version(
                name, source=f"runs:/{run_id}/model", run_id=run_id, await_creation_for=0
            )
            versions.append(str(mv.version))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
    out.put(WriterResult(versions=versions, errors=errors, t0=t0, t1=time.monotonic()))


def writers(url: str, processes: int, per_process: int) -> dict[str, Any]:
    """``processes`` processes create versions of one registered model (create_model_version)."""
    from mlflow import MlflowClient

    name = f"race-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    client.create_registered_model(name)
    experiment = client.get_experiment_by_name("bench-race") or None
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment("bench-race")
    )
    run_id = client.create_run(experiment_id).info.run_id
    versions, errors, seconds = race(
        _writer, (url, name, run_id, per_process), processes, result_timeout=900
    )
    stored = MlflowClient(tracking_uri=url, registry_uri=url).search_model_versions(
        f"name='{name}'", max_results=10_000
    )
    return {
        "registrations_per_s": len(versions) / seconds,
        "registrations": len(versions),
        "errors": len(errors),
        "first_errors": errors[:2],
        "distinct_versions": len({str(m.version) for m in stored}),
        "duplicates": len(versions) - len(set(versions)),
    }


def transfer(url: str, path: str, sha: str) -> dict[str, Any]:
    """log_artifact of a big file through the server's artifact proxy, then download it."""
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench-big")
    size = Path(path).stat().st_size
    with mlflow.start_run() as run:
        t = time.perf_counter()
        mlflow.log_artifact(path)
        up = time.perf_counter() - t
    dest = tempfile.mkdtemp(prefix="mlflow-bench-")
    t = time.perf_counter()
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path=Path(path).name, dst_path=dest
    )
    down = time.perf_counter() - t
    digest = hashlib.sha256()
    with open(local, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    os.unlink(local)
    if digest.hexdigest() != sha:
        raise AssertionError("MLflow's downloaded bytes differ from the uploaded ones")
    return {"upload_mb_s": size / up / 1e6, "download_mb_s": size / down / 1e6}


if __name__ == "__main__":
    workload, url, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    kwargs = json.loads(raw)
    workloads: dict[str, Callable[..., dict[str, Any]]] = {
        "registry": registry, "listing": listing, "writers": writers, "transfer": transfer
    }  # fmt: skip
    result = workloads[workload](url, **kwargs)
    print(json.dumps(result))
