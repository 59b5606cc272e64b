"""The smoke test: the packaged API, started in-process, answers the card's sample input.

Example:
    >>> smoke_test("build/context")["predictions"]  # doctest: +SKIP
    [0, 0, 1, 2, 2]

"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from flows.model_packaging.context import not_readable_by_all
from flows.model_packaging.spec import read_card
from opsml.errors import OpsmlError

__all__ = ["SmokeTestError", "bad_requests", "check_answers", "smoke_test"]


class SmokeTestError(OpsmlError):
    """The packaged API did not answer the card's sample input with its sample output."""

    code = "smoke_test_failed"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _check_readable(context: Path) -> None:
    """The image runs as ``USER 10001``: every file must be readable by others."""
    unreadable = not_readable_by_all(context)
    if unreadable:
        raise SmokeTestError(
            "the build context has files other users cannot read (the image's user could "
            f"not load them): {', '.join(unreadable[:5])}"
        )


def bad_requests(sample: list[Any], signature: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """Requests the API must refuse with 422: a missing column and a wrong dtype.

    Each is ``(field, inputs)``: the field the 422 must name, and the request's
    inputs (the sample's first row, spoilt). Arrays get a short row and a text value.

    Example:
        >>> sig = {"input": {"kind": "pandas", "columns": {"a": "float64"}}}
        >>> bad_requests([{"a": 1.0}], sig)
        [('a', [{}]), ('a', [{'a': 'not a number'}])]

    """
    spec = signature.get("input") or {}
    first = sample[0]
    if spec.get("columns") and isinstance(first, dict):
        column = next(iter(spec["columns"]))
        missing = {k: v for k, v in first.items() if k != column}
        return [(column, [missing]), (column, [{**first, column: "not a number"}])]
    if spec.get("kind") == "numpy" and isinstance(first, list) and first:
        return [("0", [first[:-1]]), ("0", [["not a number", *first[1:]]])]
    return []


def _check_refusals(client: Any, sample: list[Any], signature: dict[str, Any]) -> int:
    """POST each bad request; every one must be a 422 naming its field."""
    for field, inputs in bad_requests(sample, signature):
        response = client.post("/predict", json={"inputs": inputs})
        detail = response.json().get("detail")
        errors = detail if isinstance(detail, list) else []
        named = [str(part) for e in errors if isinstance(e, dict) for part in e.get("loc", [])]
        if response.status_code != 422 or field not in named:
            raise SmokeTestError(
                f"POST /predict with a bad {field!r} answered {response.status_code} "
                f"{response.text}; expected 422 naming the field"
            )
    return len(bad_requests(sample, signature))


def _signature(card: dict[str, Any]) -> dict[str, Any]:
    signature: dict[str, Any] = card.get("metadata", {}).get("model", {}).get("signature") or {}
    if not signature.get("sample_input") or signature.get("sample_output") is None:
        raise SmokeTestError(
            f"model {card['repository']}/{card['name']} v{card['version']} has no recorded "
            "sample input/output: register it with sample_input= to make it testable"
        )
    return signature


def smoke_test(context: str | Path) -> dict[str, Any]:
    """Start the packaged API in-process and check it on the card's sample input.

    First checks every file of the context is readable by others, as the
    image's unprivileged user needs. Then POSTs ``signature["sample_input"]`` to
    ``/predict`` (FastAPI ``TestClient``), checks the predictions equal
    ``signature["sample_output"]`` and that :func:`bad_requests` get a 422.

    Returns:
        ``predictions``, ``expected``, ``refused`` (bad requests checked) and ``seconds``.

    Raises:
        SmokeTestError: the API failed or answered something else.

    Example:
        >>> smoke_test("build/context")["predictions"]  # doctest: +SKIP
        [0, 0, 1, 2, 2]

    """
    from fastapi.testclient import TestClient

    context = Path(context)
    _check_readable(context)
    card = read_card(context / "model")
    name = f"opsml_model_api_{uuid.uuid4().hex}"
    module_spec = importlib.util.spec_from_file_location(name, context / "app.py")
    if module_spec is None or module_spec.loader is None:
        raise SmokeTestError(f"cannot import {context / 'app.py'}")
    module = importlib.util.module_from_spec(module_spec)
    start = time.perf_counter()
    sys.modules[name] = module  # FastAPI resolves the app's annotations through sys.modules
    try:
        module_spec.loader.exec_module(module)
        with TestClient(module.create_app(context / "model")) as client:
            answers = check_answers(client, card)
    except SmokeTestError:
        raise
    except Exception as exc:
        raise SmokeTestError(f"the model API failed to start or answer: {exc!r}") from exc
    finally:
        sys.modules.pop(name, None)
    return {**answers, "seconds": round(time.perf_counter() - start, 3)}


def check_answers(client: Any, card: dict[str, Any]) -> dict[str, Any]:
    """The model API behind ``client`` answers the card's sample and refuses bad requests.

    ``client`` is an ``httpx.Client`` on the API (FastAPI's ``TestClient`` in
    process, or a client on a started image's URL): ``/readyz`` must be 200,
    ``POST /predict`` of the sample input must return the sample output, and
    each of :func:`bad_requests` must get a 422 naming its field.

    Returns:
        ``predictions``, ``expected`` and ``refused`` (bad requests checked).

    Raises:
        SmokeTestError: naming what the API answered instead.

    Example:
        >>> with httpx.Client(base_url="http://127.0.0.1:8000") as client:  # doctest: +SKIP
        ...     check_answers(client, read_card("build/context/model"))["refused"]
        2

    """
    signature = _signature(card)
    sample, expected = signature["sample_input"], signature["sample_output"]
    ready = client.get("/readyz")
    if ready.status_code != 200:
        raise SmokeTestError(f"the model API is not ready after start-up: {ready.text}")
    response = client.post("/predict", json={"inputs": sample})
    if response.status_code != 200:
        raise SmokeTestError(f"POST /predict answered {response.status_code}: {response.text}")
    predictions = response.json()["predictions"]
    if not _same(predictions, expected):
        raise SmokeTestError(f"POST /predict answered {predictions}, the card recorded {expected}")
    refused = _check_refusals(client, sample, signature)
    return {"predictions": predictions, "expected": expected, "refused": refused}
