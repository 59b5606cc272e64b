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
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

START = time.perf_counter()
MB = 1e6


def _is_peer() -> bool:
    """True under OpsML 2.x (its ``opsml.version`` module), False under this project."""
    import importlib.util

    spec = importlib.util.find_spec("opsml")  # not importing it: 2.2.4 reads settings then
    places = spec.submodule_search_locations if spec else None
    return any((Path(p) / "version.py").exists() for p in places or [])


def _opsml224(module: str = "opsml") -> Any:
    """``module`` of OpsML 2.2.4, under the peer's interpreter. Untyped (``Any``): 2.2.4 ships
    no types, and a checker takes the name ``opsml`` for this project's package, whose API
    differs (no ``interface=``, no ``log_artifact_from_file``, no ``opsml.storage.client``).
    """
    return importlib.import_module(module)


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
    opsml224: Any = _opsml224() if peer else None
    blob = Path(path)
    times: list[float] = []
    first: RunCard | None = None
    first_peer: Any = None  # OpsML 2.2.4's first RunCard
    first_done = 0.0
    for i in range(n):
        t = time.perf_counter()
        name = f"big-{i}-{uuid.uuid4().hex[:6]}"
        if peer:
            peer_registry = opsml224.CardRegistry("run")
            peer_card = opsml224.RunCard(name=name, repository="bench", contact="bench@example.com")
            peer_card.log_artifact_from_file(name="weights", local_path=blob)
            peer_registry.register_card(peer_card)
        else:
            registry = CardRegistry("run", tracking_uri=url)
            card = RunCard(name=name, repository="bench", contact="bench@example.com")
            card.log_artifact(blob)
            registry.register_card(card)
        times.append(time.perf_counter() - t)
        if peer:
            first_peer = first_peer or peer_card
        else:
            first = first or card
        first_done = first_done or time.perf_counter()
    size = blob.stat().st_size
    dest = Path(tempfile.mkdtemp(prefix="peers-down-"))
    t = time.perf_counter()
    if peer:
        client = _opsml224("opsml.storage.client")
        artifact = first_peer.artifact_uris["weights"]
        got = dest / blob.name
        client.storage_client.get(Path(artifact.remote_path), got)
        ok = _sha256(got) == sha  # OpsML 2.2.4 does not verify: hashed here, on the clock
    else:
        if first is None:
            raise ValueError("upload needs n >= 1")
        got = first.download_artifact(blob.name, dest)
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
    """A model card of this project's or (under the peer's interpreter) of OpsML 2.2.4."""
    from opsml import ModelCard

    if _is_peer():
        opsml224 = _opsml224()
        interface = opsml224.SklearnModel(model=model, sample_data=x.head(5))
        return opsml224.ModelCard(
            interface=interface, name=name, repository="bench", contact="bench"
        )
    return ModelCard(
        name=name, repository="bench", contact="bench", model=model, sample_input=x.head(5)
    )


def _registry(kind: Literal["data", "model", "run", "pipeline"], url: str) -> Any:
    """A registry of this project's or (under the peer's interpreter) of OpsML 2.2.4."""
    from opsml import CardRegistry

    if _is_peer():
        return _opsml224().CardRegistry(kind)
    return CardRegistry(kind, tracking_uri=url)


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
    workloads: dict[str, Callable[..., dict[str, Any]]] = {
        "upload": upload, "register": register, "listing": listing
    }  # fmt: skip
    fn = workloads[workload]
    print(json.dumps(fn(target, **json.loads(raw))))
