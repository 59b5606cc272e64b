"""Small builders shared by the contract tests."""

from __future__ import annotations

from typing import Any

from opsml import DataCard, ModelCard, PipelineCard, RunCard


def run_card(name: str = "train", repository: str = "ds-team", **kw: Any) -> RunCard:
    return RunCard(name=name, repository=repository, contact="ds@example.com", **kw)


def iris_model() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=300).fit(X, y), X


def model_card(name: str = "churn", repository: str = "ds-team", **kw: Any) -> ModelCard:
    model, X = iris_model()
    return ModelCard(
        name=name,
        repository=repository,
        contact="ds@example.com",
        model=model,
        sample_input=X.head(5),
        **kw,
    )


def data_card(data: Any, name: str = "churn-data", **kw: Any) -> DataCard:
    return DataCard(name=name, repository="ds-team", contact="ds@example.com", data=data, **kw)


def pipeline_card(**kw: Any) -> PipelineCard:
    return PipelineCard(name="training", repository="ds-team", contact="ds@example.com", **kw)


def worker_settings(env: Any) -> dict[str, Any]:
    """The settings of ``env`` as plain values, to hand to a spawned worker process."""
    settings: dict[str, Any] = env.settings.model_dump(exclude_none=True)
    for key in ("password", "prod_token"):
        if key in settings:
            settings[key] = settings[key].get_secret_value()
    return settings
