"""Model interfaces: register + load p50 per interface on a ~1 MB model; ONNX vs native predict.

Each interface registers the same kind of model (a tree ensemble on 2,000 rows
of 20 features, sized to about 1 MB on disk) through a registry server, then
loads it back (card + model download + load). The ONNX rows compare the
``to_onnx`` export's onnxruntime session with the native model on 100 rows.

    python benchmarks/model_interfaces.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._timing import p50_ms, timed
from benchmarks.workloads import BenchmarkError

if TYPE_CHECKING:
    from opsml import CardRegistry, ModelCard

INTERFACES = ("skops", "xgboost", "lightgbm", "onnx")


def build_models(scale: float = 1.0) -> dict[str, tuple[Any, Any]]:
    """One fitted model per interface (about 1 MB at ``scale=1``) and 100 rows to predict on."""
    import lightgbm
    import xgboost
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    x, y = make_classification(
        n_samples=2000, n_features=20, n_informative=10, flip_y=0.2, random_state=0
    )
    x = x.astype("float32")

    def trees(n: int) -> int:  # about 1 MB of model file at scale 1 (measured)
        return max(2, int(n * scale))

    models = {
        "skops": RandomForestClassifier(n_estimators=trees(32), max_depth=8, random_state=0),
        "xgboost": xgboost.XGBClassifier(n_estimators=trees(540), max_depth=8, random_state=0),
        "lightgbm": lightgbm.LGBMClassifier(n_estimators=trees(300), verbose=-1),
        "onnx": RandomForestClassifier(n_estimators=trees(160), max_depth=8, random_state=0),
    }
    fitted = {name: model.fit(x, y) for name, model in models.items()}
    graph = to_onnx(fitted["onnx"], x[:1], options={"zipmap": False})
    return {name: (m, x[:100]) for name, m in {**fitted, "onnx": graph}.items()}


def _predict(model: Any, rows: Any) -> Any:
    if hasattr(model, "get_inputs"):
        return model.run(None, {model.get_inputs()[0].name: rows})[0]
    return model.predict(rows)


def _one(registry: CardRegistry, interface: str, model: Any, rows: Any, n: int) -> dict[str, float]:
    from opsml import ModelCard

    name = f"bench-{interface}-{uuid.uuid4().hex[:6]}"

    def register(to_onnx: bool = False) -> None:
        card = ModelCard(
            name=name,
            repository="bench",
            contact="bench",
            model=model,
            sample_input=rows[:5],
            to_onnx=to_onnx,
        )
        registry.register_card(card, version_type="patch")

    def load() -> tuple[ModelCard, Any]:
        card = registry.load_card(name=name, repository="bench", version="latest")
        if not isinstance(card, ModelCard):
            raise BenchmarkError(f"load_card gave a {type(card).__name__}, not a ModelCard")
        return card, card.load_model()

    register_s = timed(register, n, warmup=1)
    load_s = timed(load, n, warmup=1)
    if interface != "onnx":
        register(to_onnx=True)  # the latest version carries the ONNX export
    card, loaded = load()
    expected = _predict(_session(model) if interface == "onnx" else model, rows)
    if (_predict(loaded, rows) != expected).any():
        raise BenchmarkError(f"the loaded {interface} model predicts differently")
    result = {
        "model_mb": _native_bytes(card) / 1e6,
        "register_p50_ms": p50_ms(register_s),
        "load_p50_ms": p50_ms(load_s),
    }
    if interface != "onnx":
        session = card.load_onnx()
        result |= {
            "onnx_max_abs_diff": card.model_info["onnx"]["max_abs_diff"],
            "native_predict_p50_ms": p50_ms(timed(lambda: _predict(loaded, rows), n)),
            "onnx_predict_p50_ms": p50_ms(timed(lambda: _predict(session, rows), n)),
        }
    return result


def interface_latency(url: str, n: int, scale: float = 1.0) -> dict[str, dict[str, float]]:
    """Per interface: stored MB, register p50 and load (card + model) p50 in ms, via ``url``.

    Registrations are timed without ``to_onnx``; for the three native
    interfaces one more version is registered with it, and its parity and the
    predict p50 (100 rows) of the native model and of its ONNX session are measured.
    """
    from opsml import CardRegistry
    from opsml.backends.http import HttpBackend

    backend = HttpBackend(url)
    registry = CardRegistry("model", backend=backend)
    try:
        return {
            interface: _one(registry, interface, model, rows, n)
            for interface, (model, rows) in build_models(scale).items()
        }
    finally:
        backend.close()


def _native_bytes(card: ModelCard) -> int:
    """Size of the native model file (without the ONNX export)."""
    native = card.model_info["files"][0]
    return next(f.size for f in card._registered()[0].files if f.path == native)


def _session(graph: Any) -> Any:
    from opsml.cards.model_interfaces.onnx import onnx_session

    return onnx_session(graph.SerializeToString())


def rows(result: dict[str, dict[str, float]], row: Any) -> list[Any]:
    """The table rows of :func:`interface_latency` (``row`` is ``run.Row``)."""
    out = []
    for interface, r in result.items():
        size = f"{r['model_mb']:.2f} MB model file"
        out += [
            row(f"register {interface} model p50", "ms", r["register_p50_ms"], note=size),
            row(f"load {interface} model p50", "ms", r["load_p50_ms"], note=size),
        ]
        if "onnx_predict_p50_ms" in r:
            out += [
                row(f"{interface} native predict 100 rows p50", "ms", r["native_predict_p50_ms"]),
                row(
                    f"{interface} ONNX predict 100 rows p50",
                    "ms",
                    r["onnx_predict_p50_ms"],
                    note=f"parity {r['onnx_max_abs_diff']:.1e}",
                ),
            ]
    return out


def main() -> None:
    from benchmarks import workloads

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsml-bench-") as tmp:
        server = workloads.start_server(Path(tmp))
        try:
            result = interface_latency(server.url, args.repeats, args.scale)
        finally:
            server.stop()
    for interface, r in result.items():
        print(interface, {k: round(v, 4) for k, v in r.items()})


if __name__ == "__main__":
    main()
