"""Server-drawn SVG charts: one line chart per metric over steps (no JavaScript).

Example:
    >>> chart = metric_chart("loss", [{"value": 1.0, "step": 0}, {"value": 0.5, "step": 1}])
    >>> chart.points
    '40.0,8.0 312.0,112.0'

"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 40.0, 8.0, 8.0, 28.0


@dataclass(frozen=True)
class Chart:
    """A metric's polyline in SVG user units, with its axis labels."""

    name: str
    points: str
    markers: list[tuple[float, float]]
    values: list[tuple[float, float]]
    y_min: float
    y_max: float
    x_min: float
    x_max: float
    last: float | None
    width: int = WIDTH
    height: int = HEIGHT


def _series(entries: list[dict[str, Any]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for index, entry in enumerate(entries):
        value = entry.get("value") if isinstance(entry, dict) else entry
        step = entry.get("step") if isinstance(entry, dict) else None
        try:
            y = float(value)  # type: ignore[arg-type]
            x = float(index if step is None else step)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            out.append((x, y))
    return sorted(out, key=lambda p: p[0])


def _scale(value: float, low: float, high: float, start: float, span: float) -> float:
    return round(start + (value - low) / (high - low) * span, 1) if high > low else start


def metric_chart(name: str, entries: list[dict[str, Any]]) -> Chart:
    """The chart of one metric's logged values (value over step; index when no step)."""
    values = _series(entries)
    xs = [x for x, _ in values] or [0.0]
    ys = [y for _, y in values] or [0.0]
    x_min, x_max, y_min, y_max = min(xs), max(xs), min(ys), max(ys)
    span_x = WIDTH - LEFT - RIGHT
    span_y = HEIGHT - TOP - BOTTOM
    markers = [
        (
            _scale(x, x_min, x_max, LEFT, span_x),
            _scale(y, y_min, y_max, TOP + span_y, -span_y) if y_max > y_min else TOP + span_y / 2,
        )
        for x, y in values
    ]
    return Chart(
        name=name,
        points=" ".join(f"{x},{y}" for x, y in markers),
        markers=markers if len(markers) <= 60 else [],
        values=values,
        y_min=y_min,
        y_max=y_max,
        x_min=x_min,
        x_max=x_max,
        last=values[-1][1] if values else None,
    )


def metric_charts(metrics: object) -> list[Chart]:
    """A chart per metric of a run card's ``metrics`` metadata, by name."""
    if not isinstance(metrics, dict):
        return []
    return [
        metric_chart(str(name), entries if isinstance(entries, list) else [])
        for name, entries in sorted(metrics.items(), key=lambda kv: str(kv[0]))
    ]
