"""One small fitted model per model interface, with a sample input, shared by the tests."""

from __future__ import annotations

from typing import Any

KINDS = (
    "sklearn",
    "xgboost",
    "xgboost-booster",
    "lightgbm",
    "lightgbm-regressor",
    "lightgbm-booster",
    "onnx",
)
"""Every kind :func:`make_model` builds."""

SERIALIZER = {
    "sklearn": "skops",
    "xgboost": "xgboost",
    "xgboost-booster": "xgboost",
    "lightgbm": "lightgbm",
    "lightgbm-regressor": "lightgbm",
    "lightgbm-booster": "lightgbm",
    "onnx": "onnx",
}


def iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
    return X, y


def make_model(kind: str, n_estimators: int = 5) -> tuple[Any, Any]:
    """A fitted model of ``kind`` and a sample input it predicts on."""
    X, y = iris()
    if kind == "sklearn":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=300).fit(X, y), X.head(5)
    if kind == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=n_estimators, max_depth=3).fit(X, y), X.head(5)
    if kind == "xgboost-booster":
        import xgboost

        booster = xgboost.train({"max_depth": 3}, xgboost.DMatrix(X, label=y), n_estimators)
        return booster, X.head(5)
    if kind.startswith("lightgbm"):
        import lightgbm

        if kind == "lightgbm-booster":
            data = lightgbm.Dataset(X, label=y)
            params = {"objective": "regression", "verbose": -1}
            return lightgbm.train(params, data, num_boost_round=n_estimators), X.head(5)
        cls = lightgbm.LGBMRegressor if kind == "lightgbm-regressor" else lightgbm.LGBMClassifier
        model = cls(n_estimators=n_estimators, verbose=-1)
        return model.fit(X, y.astype(float) if kind == "lightgbm-regressor" else y), X.head(5)
    if kind == "onnx":
        from skl2onnx import to_onnx
        from sklearn.linear_model import LinearRegression

        values = X.to_numpy(dtype="float32")
        proto = to_onnx(LinearRegression().fit(values, y), values[:1], target_opset=15)
        return proto, values[:5]
    raise ValueError(kind)


def predict(kind: str, model: Any, rows: Any) -> Any:
    """Predictions of a model of ``kind`` (original or loaded) as a numpy array."""
    import numpy as np

    if kind == "xgboost-booster":
        import xgboost

        return model.predict(xgboost.DMatrix(rows))
    if kind == "onnx":
        if hasattr(model, "SerializeToString"):
            from opsml.cards.model_interfaces.onnx import onnx_session

            model = onnx_session(model.SerializeToString())
        name = model.get_inputs()[0].name
        return model.run(None, {name: np.asarray(rows, dtype="float32")})[0]
    return np.asarray(model.predict(rows))
