r"""Example model API (Scenario 2): serve a model pulled from the OpsML registry.

The container holds this file, the model's files and ``card.json`` (what
``opsml models pull`` writes) in ``$MODEL_DIR``. The API needs neither opsml
nor a registry at run time.

Routes:
    ``GET /healthz``: alive. ``GET /readyz``: model loaded.
    ``GET /metadata``: name, repository, version, uid and signature of the model.
    ``POST /predict``: ``{"inputs": [...]}`` (records like the card's
    ``signature["sample_input"]``) → ``{"predictions": [...], "version": ...}``.

Loading is safe: skops loads scikit-learn and numpy types only (plus the
names in ``$MODEL_TRUSTED_TYPES``, comma-separated); nothing is unpickled.

Example:
    $ MODEL_DIR=./model uvicorn app:app --port 8000
    $ curl -s localhost:8000/predict -H 'content-type: application/json' \
        -d '{"inputs": [{"sepal length (cm)": 5.1, ...}]}'

"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

_AUTO_TRUSTED = ("sklearn.", "numpy.")


class PredictRequest(BaseModel):
    """Rows to predict: dicts (column to value) for tables, lists for arrays."""

    inputs: list[Any] = Field(min_length=1, max_length=10_000)


class PredictResponse(BaseModel):
    """Predictions, one per input row, and which model made them."""

    predictions: list[Any]
    model: str
    version: str


def _load(model_dir: Path) -> tuple[dict[str, Any], Any]:
    card = json.loads((model_dir / "card.json").read_text())
    info = card["metadata"]["model"]
    if info.get("serializer") != "skops":
        raise RuntimeError(f"this API serves skops models, got {info.get('serializer')!r}")
    import skops.io as sio

    path = model_dir / info["files"][0]
    extra = {t for t in os.environ.get("MODEL_TRUSTED_TYPES", "").split(",") if t}
    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_AUTO_TRUSTED) and t not in extra]
    if refused:
        raise RuntimeError(
            f"untrusted types in {path.name}: {refused}; "
            "list them in MODEL_TRUSTED_TYPES if you trust this model"
        )
    return card, sio.load(path, trusted=list(untrusted))


def _frame(inputs: list[Any], signature: dict[str, Any] | None) -> Any:
    spec = (signature or {}).get("input") or {}
    if spec.get("kind") in ("pandas", "polars", "pyarrow") or isinstance(inputs[0], dict):
        import pandas as pd

        columns = list(spec.get("columns") or {}) or None
        return pd.DataFrame.from_records(inputs, columns=columns)
    import numpy as np

    return np.asarray(inputs, dtype=spec.get("dtype") or None)


def create_app(model_dir: str | Path | None = None) -> FastAPI:
    """Build the API for the model in ``model_dir`` (default ``$MODEL_DIR`` or ``./model``).

    The model is loaded at start-up (lifespan), so importing this module is cheap.

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> with TestClient(create_app("build/context/model")) as client:  # doctest: +SKIP
        ...     client.post("/predict", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]}).json()

    """
    folder = Path(model_dir or os.environ.get("MODEL_DIR") or Path(__file__).parent / "model")
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["card"], state["model"] = _load(folder)
        yield
        state.clear()

    api = FastAPI(title="OpsML model API", lifespan=lifespan)

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz")
    def readyz() -> dict[str, str]:
        if "model" not in state:
            raise HTTPException(503, "model not loaded")
        return {"status": "ready"}

    @api.get("/metadata")
    def metadata() -> dict[str, Any]:
        card = state["card"]
        return {k: card.get(k) for k in ("name", "repository", "version", "uid")} | {
            "signature": card["metadata"]["model"].get("signature")
        }

    @api.post("/predict", response_model=PredictResponse)
    def predict(request: PredictRequest) -> PredictResponse:
        card = state["card"]
        try:
            rows = _frame(request.inputs, card["metadata"]["model"].get("signature"))
            output = state["model"].predict(rows)
        except (ValueError, TypeError, KeyError) as exc:
            raise HTTPException(422, f"cannot predict on these inputs: {exc}") from None
        predictions = output.tolist() if hasattr(output, "tolist") else list(output)
        return PredictResponse(predictions=predictions, model=card["name"], version=card["version"])

    return api


app = create_app()
