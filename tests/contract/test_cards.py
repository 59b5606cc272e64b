"""Cards through every backend: register, load, list, update, delete (docs/design.md §3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from opsml import DataCard, ModelCard, PipelineCard, RunCard
from opsml.errors import CardNotFoundError
from tests.conftest import RegistryEnv
from tests.contract._helpers import data_card, iris_model, model_card, pipeline_card, run_card


def test_model_card_round_trip_with_signature_and_links(registry_env: RegistryEnv) -> None:
    data = data_card(pd.DataFrame({"x": [1, 2, 3]}))
    registry_env.registry("data").register_card(data)
    run = run_card()
    run.log_params(C=1.0)
    run.log_metric("accuracy", 0.9)
    registry_env.registry("run").register_card(run)
    card = model_card(
        datacard_uid=data.uid, runcard_uid=run.uid, tags={"team": "ds"}, description="iris"
    )
    reg = registry_env.registry("model")
    reg.register_card(card)
    assert (card.version, len(card.uid or "")) == ("1.0.0", 32)
    assert card.created_at is not None and card.created_at.tzinfo is not None

    loaded = reg.load_card(name="churn", repository="ds-team")
    assert isinstance(loaded, ModelCard)
    assert (loaded.uid, loaded.datacard_uid, loaded.runcard_uid) == (card.uid, data.uid, run.uid)
    assert loaded.tags == {"team": "ds"} and loaded.description == "iris"
    assert loaded.model_info["framework"] == "sklearn"
    assert loaded.model_info["serializer"] == "skops"
    assert "sklearn" in loaded.model_info["library_versions"]
    assert loaded.signature is not None and len(loaded.signature["sample_input"]) == 5
    model, X = iris_model()
    assert (loaded.load_model().predict(X) == model.predict(X)).all()
    assert reg.load_card(uid=card.uid).version == "1.0.0"


@pytest.mark.parametrize("kind", ["pandas", "pyarrow", "polars", "numpy"])
def test_data_card_round_trip_each_kind(registry_env: RegistryEnv, kind: str) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    data = {
        "pandas": frame,
        "pyarrow": pa.Table.from_pandas(frame, preserve_index=False),
        "polars": pl.from_pandas(frame),
        "numpy": np.arange(12, dtype="float64").reshape(4, 3),
    }[kind]
    reg = registry_env.registry("data")
    reg.register_card(data_card(data, splits={"train": data}))
    loaded = reg.load_card(name="churn-data")
    assert isinstance(loaded, DataCard)
    info = loaded.data_info
    assert info["kind"] == kind and len(info["digest"]) == 64
    assert info["row_count"] == (4 if kind == "numpy" else 3)
    out = loaded.load_data()
    if kind == "numpy":
        np.testing.assert_array_equal(out, data)
    elif kind == "pandas":
        pd.testing.assert_frame_equal(out, frame)
    else:
        assert out.equals(data)
    assert type(loaded.load_data(split="train")) is type(data)


def test_data_card_from_folder(registry_env: RegistryEnv, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    reg = registry_env.registry("data")
    reg.register_card(data_card(folder))
    loaded = reg.load_card(name="churn-data")
    path = loaded.load_data()
    assert (path / "sub" / "b.txt").read_text() == "b"
    out = loaded.download_artifacts(tmp_path / "dl")
    assert sorted(p.name for p in out.rglob("*.txt")) == ["a.txt", "b.txt"]


def test_run_card_metrics_params_artifacts(registry_env: RegistryEnv, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("# report")
    run = run_card()
    run.log_params(C=0.5, solver="lbfgs")
    for step in range(3):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    run.log_artifact(report)
    reg = registry_env.registry("run")
    reg.register_card(run)
    loaded = reg.load_card(uid=run.uid)
    assert isinstance(loaded, RunCard)
    assert loaded.params == {"C": 0.5, "solver": "lbfgs"}
    assert [m["step"] for m in loaded.metrics["loss"]] == [0, 1, 2]
    assert loaded.download_artifact("report.md", tmp_path / "out").read_text() == "# report"


def test_pipeline_card(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("pipeline")
    reg.register_card(
        pipeline_card(flow_name="training", flow_run_id="abc", card_uids={"model": ["f" * 32]})
    )
    loaded = reg.load_card(name="training")
    assert isinstance(loaded, PipelineCard)
    assert (loaded.flow_name, loaded.card_uids) == ("training", {"model": ["f" * 32]})


def test_list_filters_newest_first(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    for i in range(3):
        reg.register_card(run_card(tags={"i": str(i), "team": "a"}), version_type="patch")
    reg.register_card(run_card(name="other", repository="team-b", tags={"team": "b"}))
    assert [c.version for c in reg.list_cards(name="train")] == ["1.0.2", "1.0.1", "1.0.0"]
    assert [c.name for c in reg.list_cards(repository="team-b")] == ["other"]
    assert [c.version for c in reg.list_cards(tags={"team": "a", "i": "1"})] == ["1.0.1"]
    assert [c.version for c in reg.list_cards(name="train", version="~1.0.1")] == ["1.0.2", "1.0.1"]
    assert [c.version for c in reg.list_cards(name="train", version="1.0.0")] == ["1.0.0"]
    assert len(reg.list_cards(limit=2)) == 2
    assert reg.list_cards(name="missing") == []
    assert registry_env.registry("model").list_cards() == []


def test_update_changes_metadata_only(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    run = run_card()
    reg.register_card(run)
    loaded = reg.load_card(uid=run.uid)
    loaded.tags = {"stage": "prod"}
    loaded.description = "promoted"
    loaded.log_metric("auc", 0.8)
    reg.update_card(loaded)
    again = reg.load_card(uid=run.uid)
    assert again.tags == {"stage": "prod"} and again.description == "promoted"
    assert isinstance(again, RunCard) and again.metrics["auc"][0]["value"] == 0.8
    assert again.version == run.version
    assert [c.uid for c in reg.list_cards(tags={"stage": "prod"})] == [run.uid]


def test_delete_removes_card_and_files(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("model")
    card = model_card()
    reg.register_card(card)
    assert any(rel.endswith(".skops") for rel in registry_env.list_files())
    reg.delete_card(reg.load_card(uid=card.uid))
    with pytest.raises(CardNotFoundError):
        reg.load_card(uid=card.uid)
    assert not any(rel.endswith(".skops") for rel in registry_env.list_files())
    assert reg.list_cards() == []


def test_storage_layout(registry_env: RegistryEnv) -> None:
    registry_env.registry("model").register_card(model_card())
    stored = registry_env.list_files()
    assert stored == ["model/ds-team/churn/v1.0.0/model/model.skops"]


def test_same_name_in_two_repositories_needs_repository(registry_env: RegistryEnv) -> None:
    from opsml.errors import InvalidInputError

    reg = registry_env.registry("run")
    reg.register_card(run_card(repository="team-a"))
    reg.register_card(run_card(repository="team-b"))
    with pytest.raises(InvalidInputError, match="repository"):
        reg.load_card(name="train")
    assert reg.load_card(name="train", repository="team-b").repository == "team-b"
