"""A small registry story for the UI tests: data → run → model (two versions) → pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opsml import CardRegistry, DataCard, ModelCard, PipelineCard, RunCard

FLOW_RUN_ID = "0b9a51f6-5d1e-4a3c-9b43-1f0f1d3a2c77"
FLOW_RUN_URL = f"http://127.0.0.1:4200/runs/flow-run/{FLOW_RUN_ID}"
XSS = '<script>alert("x")</script>"onerror=alert(1)'


@dataclass
class Story:
    """The uids and files of the seeded cards."""

    data: Any
    run: Any
    model_v1: Any
    model_v2: Any
    pipeline: Any
    model_file: bytes
    run_v2: Any = None
    sk_model: Any = None


def seed(settings: Any, root: Path) -> Story:
    """Register the story through the public API, in whatever mode ``settings`` select."""
    root.mkdir(parents=True, exist_ok=True)
    lineage = {"flow_run_id": FLOW_RUN_ID, "flow_name": "training", "run_url": FLOW_RUN_URL}
    data = DataCard(
        name="churn-data", repository="ds", contact="ds@example.com", data=np.arange(12.0)
    )
    CardRegistry("data", settings=settings).register_card(data)
    run = RunCard(
        name="churn-train",
        repository="ds",
        contact="ds@example.com",
        lineage=lineage,
        datacard_uids=[str(data.uid)],
    )
    run.log_params(learning_rate=0.1, depth=4)
    for step, value in enumerate([0.9, 0.6, 0.45, 0.41]):
        run.log_metric("loss", value, step=step)
        run.log_metric("accuracy", 0.6 + step * 0.08, step=step)
    notes = root / "notes.txt"
    notes.write_text("trained on churn-data\n")
    run.log_artifact(notes)
    CardRegistry("run", settings=settings).register_card(run)
    models = CardRegistry("model", settings=settings)
    versions = []
    for n in (1, 2):
        (root / f"v{n}").mkdir(exist_ok=True)
        weights = root / f"v{n}" / "weights.bin"
        weights.write_bytes(bytes(range(256)) * (40 * n))
        card = ModelCard(
            name="churn",
            repository="ds",
            contact="ds@example.com",
            model=weights,
            datacard_uid=data.uid,
            runcard_uid=run.uid,
            lineage=lineage,
            tags={"stage": "candidate" if n == 1 else "champion"},
        )
        models.register_card(card)
        versions.append(card)
    pipeline = PipelineCard(
        name="training",
        repository="ds",
        contact="ds@example.com",
        flow_name="training",
        flow_run_id=FLOW_RUN_ID,
        run_url=FLOW_RUN_URL,
        state="COMPLETED",
        card_uids={
            "data": [str(data.uid)],
            "run": [str(run.uid)],
            "model": [str(c.uid) for c in versions],
        },
    )
    CardRegistry("pipeline", settings=settings).register_card(pipeline)
    run_v2 = RunCard(name="churn-train", repository="ds", contact="ds@example.com", lineage=lineage)
    run_v2.log_params(learning_rate=0.05, depth=4)
    for step, value in enumerate([0.8, 0.5, 0.35, 0.3]):
        run_v2.log_metric("loss", value, step=step)
    notes.write_text("trained on churn-data, lower learning rate\n")
    run_v2.log_artifact(notes)
    CardRegistry("run", settings=settings).register_card(run_v2)
    sk_model = _sklearn_model(settings, data.uid, run_v2.uid)
    return Story(
        data,
        run,
        versions[0],
        versions[1],
        pipeline,
        (root / "v2" / "weights.bin").read_bytes(),
        run_v2,
        sk_model,
    )


def seed_xss(settings: Any) -> Any:
    """A run card whose user-written text carries script payloads."""
    card = RunCard(
        name="xss-card",
        repository="ds",
        contact=XSS,
        description=XSS,
        tags={XSS: XSS},
    )
    card.log_params(**{"payload": XSS})
    card.log_metric(XSS, 1.0)
    CardRegistry("run", settings=settings).register_card(card)
    return card


def _sklearn_model(settings: Any, data_uid: Any, run_uid: Any) -> Any:
    """A scikit-learn model with a signature (framework, library versions, columns)."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"tenure": [1.0, 5.0, 9.0, 2.0], "spend": [10.0, 3.0, 8.0, 1.0]})
    fitted = LogisticRegression().fit(frame, [0, 1, 1, 0])
    card = ModelCard(
        name="churn-logreg",
        repository="ds",
        contact="ds@example.com",
        model=fitted,
        sample_input=frame.head(2),
        datacard_uid=data_uid,
        runcard_uid=run_uid,
        description="Logistic regression on tenure and spend.",
        tags={"stage": "candidate"},
    )
    CardRegistry("model", settings=settings).register_card(card)
    return card
