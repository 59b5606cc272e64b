"""Training flow (Scenario 1): data, run, model and pipeline cards, linked and versioned.

Builds a small dataset (scikit-learn's bundled iris data, no network),
registers it as a DataCard, trains and evaluates a scikit-learn pipeline (or,
with ``framework="xgboost"`` / ``"lightgbm"``, a gradient-boosted classifier
saved in that library's native format),
registers a RunCard (parameters, metrics) and a ModelCard linked to both
(``datacard_uid``, ``runcard_uid``, a sample input that records the
signature), then a PipelineCard listing every card of the run. Inside the
flow run each card records the run's lineage and the run gets an artifact per
card (see :mod:`opsml_prefect.plugin`).

Run it against the environment's registry (``OPSML_TRACKING_URI``, else the
embedded one)::

    python flows/training.py
    python flows/training.py --name iris-classifier --repository ds-team --version-type patch
    python flows/training.py --framework lightgbm

Example:
    >>> from flows.training import training
    >>> result = training(name="iris-classifier", repository="ds-team")  # doctest: +SKIP
    >>> result["model"]["version"]  # doctest: +SKIP
    '1.0.0'

"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any, Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from opsml import DataCard, ModelCard, RunCard
from opsml_prefect.blockref import as_credentials
from opsml_prefect.credentials import OpsmlCredentials
from opsml_prefect.lineage import register_pipeline_card
from opsml_prefect.tasks import register_card

if TYPE_CHECKING:
    import pandas as pd

CONTACT = "ds-team@example.com"
Framework = Literal["sklearn", "xgboost", "lightgbm"]
FRAMEWORKS: tuple[str, ...] = ("sklearn", "xgboost", "lightgbm")
ALGORITHM = {
    "sklearn": "StandardScaler+LogisticRegression",
    "xgboost": "XGBClassifier",
    "lightgbm": "LGBMClassifier",
}


@task(cache_policy=NONE, persist_result=False)
def build_dataset(seed: int = 42) -> pd.DataFrame:
    """The iris data as one DataFrame (four features and ``target``), shuffled.

    Example:
        >>> build_dataset.fn().shape  # doctest: +SKIP
        (150, 5)

    """
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@task(cache_policy=NONE, persist_result=False)
def train_model(
    data: pd.DataFrame,
    c: float = 1.0,
    max_iter: int = 500,
    test_size: float = 0.25,
    seed: int = 42,
    framework: Framework = "sklearn",
) -> dict[str, Any]:
    """Fit a model of ``framework``; evaluate it on a held-out split.

    ``sklearn``: a scaler + logistic regression pipeline (``c``, ``max_iter``).
    ``xgboost`` / ``lightgbm``: a gradient-boosted classifier (50 trees of depth 3).

    Returns:
        ``model``, ``X_test`` and ``metrics`` (accuracy, macro F1).

    Example:
        >>> train_model.fn(build_dataset.fn())["metrics"]["accuracy"] > 0.8  # doctest: +SKIP
        True

    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    features = data.drop(columns=["target"])
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        data["target"],
        test_size=test_size,
        random_state=seed,
        stratify=data["target"],
    )
    model = _estimator(framework, c, max_iter, seed)
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    return {"model": model, "X_test": x_test, "metrics": metrics}


def _estimator(framework: str, c: float, max_iter: int, seed: int) -> Any:
    """An unfitted classifier of ``framework``."""
    if framework == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(n_estimators=50, max_depth=3, random_state=seed)
    if framework == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_estimators=50, max_depth=3, random_state=seed, verbose=-1)
    if framework != "sklearn":
        raise ValueError(f"framework {framework!r} is not one of {', '.join(FRAMEWORKS)}")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


@task(cache_policy=NONE, persist_result=False)
def _update_card(card: Any, credentials: OpsmlCredentials | None = None) -> None:
    """Save a registered card's changed metadata (here: the run's model link)."""
    from opsml import CardRegistry

    registry = (
        credentials.get_registry(card.registry_type)
        if credentials
        else CardRegistry(card.registry_type)
    )
    registry.update_card(card)


@flow(name="opsml-training", log_prints=True)
def training(
    name: str = "iris-classifier",
    repository: str = "ds-team",
    version_type: str = "minor",
    c: float = 1.0,
    credentials: OpsmlCredentials | str | None = None,
    framework: Framework = "sklearn",
) -> dict[str, Any]:
    """Train a model and register its data, run, model and pipeline cards.

    Args:
        name: model card name (the data card is ``{name}-data``, the run ``{name}-training``).
        repository: repository of every card.
        version_type: ``major``, ``minor``, ``patch``, ``pre`` or ``build``.
        c: inverse regularisation strength of the logistic regression.
        credentials: an ``OpsmlCredentials`` block or the name of a saved one
            (what the deployments pass); default the environment.
        framework: ``sklearn``, ``xgboost`` or ``lightgbm`` (saved natively).

    Returns:
        For each card kind its ``uid`` and ``version``; ``metrics``; ``timings``
        (seconds in the opsml tasks and in the whole flow body).

    Example:
        >>> training(name="iris-classifier", repository="ds-team")  # doctest: +SKIP

    """
    logger = get_run_logger()
    credentials = as_credentials(credentials)  # a block name loads the saved block
    started = time.perf_counter()
    timed = _Timer()

    data = build_dataset()
    register = {"version_type": version_type, "credentials": credentials}
    datacard = timed(register_card, _data_card(name, repository, data), **register)
    trained = train_model(data, c=c, framework=framework)
    run = _run_card(name, repository, datacard.uid, trained, c, framework)
    runcard = timed(register_card, run, **register)
    model = _model_card(name, repository, trained, datacard.uid, runcard.uid, framework)
    modelcard = timed(register_card, model, **register)
    run.modelcard_uids = [modelcard.uid]
    timed(_update_card, run, credentials)
    pipeline = timed(register_pipeline_card, repository, CONTACT, f"{name}-pipeline", **register)
    total = time.perf_counter() - started
    logger.info(
        "registered %s v%s (uid %s); opsml tasks took %.3f s of %.3f s",
        *(modelcard.name, modelcard.version, modelcard.uid, timed.seconds, total),
    )
    return {
        "data": _ref(datacard),
        "run": _ref(runcard),
        "model": _ref(modelcard),
        "pipeline": _ref(pipeline),
        "metrics": trained["metrics"],
        "timings": {"opsml_seconds": round(timed.seconds, 4), "flow_seconds": round(total, 4)},
    }


class _Timer:
    """Call a function and add its wall time to ``seconds`` (the time spent in opsml tasks)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


def _ref(card: Any) -> dict[str, str]:
    return {"uid": card.uid, "version": card.version, "name": card.name}


def _data_card(name: str, repository: str, data: pd.DataFrame) -> DataCard:
    return DataCard(
        name=f"{name}-data",
        repository=repository,
        contact=CONTACT,
        data=data,
        description="Iris measurements (scikit-learn's bundled copy), shuffled.",
        tags={"source": "sklearn.datasets.load_iris"},
    )


def _run_card(
    name: str,
    repository: str,
    datacard_uid: str,
    trained: dict[str, Any],
    c: float,
    framework: str = "sklearn",
) -> RunCard:
    run = RunCard(
        name=f"{name}-training",
        repository=repository,
        contact=CONTACT,
        datacard_uids=[datacard_uid],
    )
    run.log_params(
        model=ALGORITHM[framework],
        framework=framework,
        C=c,
        max_iter=500,
        test_size=0.25,
        seed=42,
    )
    for metric, value in trained["metrics"].items():
        run.log_metric(metric, value)
    return run


def _model_card(
    name: str,
    repository: str,
    trained: dict[str, Any],
    datacard_uid: str,
    runcard_uid: str,
    framework: str = "sklearn",
) -> ModelCard:
    return ModelCard(
        name=name,
        repository=repository,
        contact=CONTACT,
        model=trained["model"],
        sample_input=trained["X_test"].head(5),
        datacard_uid=datacard_uid,
        runcard_uid=runcard_uid,
        tags={
            "algorithm": "logistic-regression" if framework == "sklearn" else f"{framework}-gbt",
            "framework": framework,
        },
        description=f"Iris classifier; test accuracy {trained['metrics']['accuracy']:.3f}.",
    )


def _main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpsML training flow once.")
    parser.add_argument("--name", default="iris-classifier")
    parser.add_argument("--repository", default="ds-team")
    parser.add_argument(
        "--version-type", default="minor", choices=["major", "minor", "patch", "pre", "build"]
    )
    parser.add_argument("--framework", default="sklearn", choices=list(FRAMEWORKS))
    args = parser.parse_args()
    result = training(
        name=args.name,
        repository=args.repository,
        version_type=args.version_type,
        framework=args.framework,
    )
    print(result)


if __name__ == "__main__":
    _main()
