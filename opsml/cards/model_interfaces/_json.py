"""Turn values from tables, arrays and estimators' parameters into plain JSON types."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """A JSON-able copy of ``value`` (non-finite floats become ``None``).

    Example:
        >>> jsonable({"a": (1, float("nan"))})
        {'a': [1, None]}

    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return jsonable(value.tolist())
    if hasattr(value, "isoformat"):  # datetime, date, time, pandas Timestamp
        return str(value.isoformat())
    return str(value)
