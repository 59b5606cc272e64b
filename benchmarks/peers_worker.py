"""One workload of ``benchmarks/peers.py`` in a fresh process: this project's client, or
OpsML 2.2.4's (run with ``benchmarks/.venvs/opsml224/bin/python``).

    python benchmarks/peers_worker.py WORKLOAD URL '{"kwarg": ...}'

Prints one JSON line. The same script serves both sides, so each row does the same
work: ``upload`` registers a run card with one large file ``n`` times in this fresh
process (the first is the cold one) and then downloads the first and hashes it;
``register`` registers small scikit-learn model cards; ``listing`` registers
``versions`` of one name and lists 50 of them. Nothing here imports ``benchmarks``:
OpsML 2.2.4's interpreter runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

START = time.perf_counter()
MB = 1e6


def _is_peer() -> bool:
    """True under OpsML 2.x (its ``opsml.version`` module), False under this project."""
    import importlib.util

    spec = importlib.util.find_spec("opsml")  # not importing it: 2.2.4 reads settings then
    places = spec.submodule_search_locations if spec else None
    return any((Path(p) / "version.py").exists() for p in places or [])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def upload(url: str, path: str, sha: str, n: int) -> dict[str, Any]:
    """Seconds of each of ``n`` registrations (RunCard + one file) and of one verified download."""
    from opsml import CardRegistry, RunCard

    peer = _is_peer()
    blob = Path(path)
    times, first, first_done = [], None, 0.0
    for i in range(n):
        t = time.perf_counter()
        name = f"big-{i}-{uuid.uuid4().hex[:6]}"
        if peer:
            registry = CardRegistry("run")
            card = RunCard(name=name, repository="bench", contact="bench@example.com")
            card.log_artifact_from_file(name="weights", local_path=blob)
        else:
            registry = CardRegistry("run", tracking_uri=url)
            card = RunCard(name=name, repository="bench", contact="bench@example.com")
            card.log_artifact(blob)
        registry.register_card(card)
        times.append(time.perf_counter() - t)
        first = first or card
        first_done = first_done or time.perf_counter()
    size = blob.stat().st_size
    dest = Path(tempfile.mkdtemp(prefix="peers-down-"))
    t = time.perf_counter()
    if peer:
        from opsml.storage import client

        artifact = first.artifact_uris["weights"]  # type: ignore[union-attr]
        got = dest / blob.name
        client.storage_client.get(Path(artifact.remote_path), got)
        ok = _sha256(got) == sha  # OpsML 2.2.4 does not verify: hashed here, on the clock
    else:
        got = first.download_artifact(blob.name, dest)  # type: ignore[union-attr]
        ok = True  # verified by the client against the registered digest
    down = time.perf_counter() - t
    if not ok or got.stat().st_size != size:
        raise AssertionError("the downloaded file differs from the uploaded one")
    got.unlink()
    return {
        "upload_s": times,
        "cold_mb_s": size / times[0] / MB,
        "cold_with_import_mb_s": size / (first_done - START) / MB,
        "warm_mb_s": size / statistics.median(times[1:] or times) / MB,
        "download_mb_s": size / down / MB,
    }


def _small_model() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=300).fit(x, y), x


def _model_card(name: str, model: Any, x: Any) -> Any:
    from opsml import ModelCard

    if _is_peer():
        from opsml import SklearnModel

        interface = SklearnModel(model=model, sample_data=x.head(5))
        return ModelCard(interface=interface, name=name, repository="bench", contact="bench")
    return ModelCard(
        name=name, repository="bench", contact="bench", model=model, sample_input=x.head(5)
    )


def _registry(kind: str, url: str) -> Any:
    from opsml import CardRegistry

    return CardRegistry(kind) if _is_peer() else CardRegistry(kind, tracking_uri=url)


def register(url: str, n: int) -> dict[str, Any]:
    """Register ``n`` small sklearn model cards of one name: first (cold) and p50 of the rest."""
    model, x = _small_model()
    registry = _registry("model", url)
    name = f"churn-{uuid.uuid4().hex[:6]}"
    times: list[float] = []
    first_done = 0.0
    for _ in range(n):
        card = _model_card(name, model, x)
        t = time.perf_counter()
        registry.register_card(card, version_type="patch")
        times.append(time.perf_counter() - t)
        first_done = first_done or time.perf_counter()
    return {
        "cold_ms": times[0] * 1000,
        "cold_with_import_ms": (first_done - START) * 1000,
        "warm_p50_ms": statistics.median(times[1:]) * 1000,
    }


def listing(url: str, n: int, versions: int) -> dict[str, Any]:
    """Register ``versions`` small model cards of one name; time ``list_cards(limit=50)``."""
    model, x = _small_model()
    registry = _registry("model", url)
    name = f"churn-{uuid.uuid4().hex[:6]}"
    for _ in range(versions):
        registry.register_card(_model_card(name, model, x), version_type="patch")
    times = []
    for _ in range(n + 1):
        t = time.perf_counter()
        got = registry.list_cards(name=name, repository="bench", limit=50)
        times.append(time.perf_counter() - t)
        if len(got) != min(50, versions):
            raise AssertionError(f"list_cards gave {len(got)} cards")
    return {"cold_ms": times[0] * 1000, "warm_p50_ms": statistics.median(times[1:]) * 1000}


if __name__ == "__main__":
    workload, target, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    if _is_peer():
        os.environ["OPSML_TRACKING_URI"] = target
    fn = {"upload": upload, "register": register, "listing": listing}[workload]
    print(json.dumps(fn(target, **json.loads(raw))))
