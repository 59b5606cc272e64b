"""What the serving image installs: the API's own dependencies plus the card's runtime.

The runtime follows the card: the libraries of its model interface (its
``serializer``) at the versions the card recorded, and nothing for the other
interfaces. pandas comes in only when the model takes a table; scikit-learn
with xgboost only when the card names a scikit-learn wrapper class.

Example:
    >>> card = {"metadata": {"model": {"serializer": "lightgbm",
    ...     "library_versions": {"lightgbm": "4.5.0", "numpy": "2.1.3"}}}}
    >>> runtime_requirements(card)
    ['lightgbm==4.5.0', 'numpy==2.1.3']

"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from flows.model_packaging.spec import SpecError

__all__ = ["RUNTIMES", "api_requirements", "runtime_requirements", "serving_requirements"]

RUNTIMES: dict[str, dict[str, str]] = {
    "skops": {"scikit-learn": "sklearn", "skops": "skops", "numpy": "numpy"},
    "xgboost": {"xgboost-cpu": "xgboost", "numpy": "numpy"},
    "lightgbm": {"lightgbm": "lightgbm", "numpy": "numpy"},
    "onnx": {"onnxruntime": "onnxruntime", "numpy": "numpy"},
}
"""Per serializer: distribution to install → the module whose version the card recorded."""


def _installed(distribution: str) -> str:
    """``name==version`` as tested here, or the bare name when it is not installed."""
    try:
        return f"{distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return distribution


def _pin(line: str) -> str:
    name = line.split("#", 1)[0].strip()
    if not name or any(op in name for op in "=<>~!@ ;["):
        return name  # empty, or pinned/marked by the author
    return _installed(name)


def api_requirements(template: Path) -> list[str]:
    """The API code's own requirements file, each line pinned to the version tested here.

    Example:
        >>> from flows.model_packaging.context import DEFAULT_API_CODE
        >>> [r.split("==")[0] for r in api_requirements(DEFAULT_API_CODE / "requirements.txt")]
        ['fastapi', 'uvicorn']

    """
    return [pinned for pinned in map(_pin, template.read_text().splitlines()) if pinned]


def runtime_requirements(card: dict[str, Any]) -> list[str]:
    """The model interface's libraries, pinned to the versions on the card.

    Raises:
        SpecError: the card's serializer is one the API does not serve.

    Example:
        >>> runtime_requirements({"metadata": {"model": {"serializer": "onnx",
        ...     "library_versions": {"onnxruntime": "1.20.1", "numpy": "2.1.3"}}}})
        ['onnxruntime==1.20.1', 'numpy==2.1.3']

    """
    model = card.get("metadata", {}).get("model", {})
    serializer = str(model.get("serializer"))
    if serializer not in RUNTIMES:
        raise SpecError(
            f"model {card.get('repository')}/{card.get('name')} is saved as {serializer!r}; "
            f"the serving image knows {', '.join(RUNTIMES)}"
        )
    recorded = model.get("library_versions", {})
    lines = []
    for distribution, module in RUNTIMES[serializer].items():
        version = recorded.get(module)
        lines.append(f"{distribution}=={version}" if version else _installed(distribution))
    if serializer == "xgboost" and (model.get("details") or {}).get("wrapper"):
        lines.append(_installed("scikit-learn"))  # xgboost's scikit-learn classes need it
    signature = model.get("signature") or {}
    if (signature.get("input") or {}).get("columns"):
        lines.append(_installed("pandas"))  # tables reach the model as a DataFrame
    return lines


def serving_requirements(template: Path, card: dict[str, Any]) -> list[str]:
    """Everything the image installs at top level: the API's and the model's, one line each.

    Example:
        >>> serving_requirements(DEFAULT_API_CODE / "requirements.txt", card)  # doctest: +SKIP
        ['fastapi==0.115.0', 'uvicorn==0.32.0', 'scikit-learn==1.5.2', ...]

    """
    lines = api_requirements(template)
    taken = {line.split("==")[0].lower() for line in lines}
    return lines + [r for r in runtime_requirements(card) if r.split("==")[0].lower() not in taken]
