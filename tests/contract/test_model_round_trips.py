"""Every model interface through every backend: registered, loaded, same predictions."""

from __future__ import annotations

import numpy as np
import pytest

from opsml import ModelCard
from opsml.errors import InvalidInputError
from tests._model_zoo import KINDS, SERIALIZER, make_model, predict
from tests.conftest import RegistryEnv


def _card(name: str, model: object, sample: object, **kw: object) -> ModelCard:
    return ModelCard(
        name=name,
        repository="ds-team",
        contact="ds@example.com",
        model=model,
        sample_input=sample,
        **kw,  # type: ignore[arg-type]
    )


def test_each_interface_round_trip_on_every_mode(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("model")
    for kind in KINDS:
        model, sample = make_model(kind)
        reg.register_card(_card(f"m-{kind}", model, sample))
        loaded = reg.load_card(name=f"m-{kind}", repository="ds-team")
        assert isinstance(loaded, ModelCard)
        info = loaded.model_info
        assert info["serializer"] == SERIALIZER[kind], kind
        assert info["library_versions"]["python"]
        assert info["framework"] in info["library_versions"], kind
        assert loaded.signature is not None and loaded.signature["sample_output"]
        got = predict(kind, loaded.load_model(), sample)
        np.testing.assert_array_equal(got, predict(kind, model, sample), err_msg=kind)
        assert not [f for f in loaded.files if f.endswith(".pkl")]


def test_to_onnx_export_registered_with_parity(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("model")
    model, sample = make_model("lightgbm")
    reg.register_card(_card("gbm", model, sample, to_onnx=True))
    loaded = reg.load_card(name="gbm", repository="ds-team")
    assert "model/onnx/model.onnx" in loaded.files
    assert loaded.model_info["onnx"]["max_abs_diff"] == 0.0
    session = loaded.load_onnx()
    out = session.run(None, {"input": sample.to_numpy(dtype="float32")})[0]
    np.testing.assert_array_equal(out, model.predict(sample))


def test_pickle_loads_only_when_the_caller_asks(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("model")
    reg.register_card(_card("pickled", {"weights": [1, 2]}, None, serializer="pickle"))
    loaded = reg.load_card(name="pickled", repository="ds-team")
    with pytest.raises(InvalidInputError, match="allow_pickle=True"):
        loaded.load_model()
    assert loaded.load_model(allow_pickle=True) == {"weights": [1, 2]}
    with pytest.raises(InvalidInputError, match="no ONNX export"):
        loaded.load_onnx()
