"""Start writer processes together and collect what each registered (stdlib only).

Used by our workloads and by ``mlflow_worker.py``, which runs in MLflow's own
virtual environment and imports this module from its folder.

A writer is ``writer(*args, ready, go, out)``: it sets itself up, puts anything
on ``ready``, waits for ``go``, then puts ``{"versions", "errors", "t0", "t1"}``
on ``out``.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any, TypedDict


class WriterResult(TypedDict):
    """What one writer puts on ``out``: the versions it was given, its errors, its clock."""

    versions: list[str]
    errors: list[str]
    t0: float
    t1: float


def race(
    writer: Callable[..., None],
    args: tuple[Any, ...],
    processes: int,
    *,
    result_timeout: float = 600.0,
) -> tuple[list[str], list[str], float]:
    """Run ``processes`` writers at once; return their versions, errors and wall seconds."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=writer, args=(*args, ready, go, out)) for _ in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    go.set()
    results: list[WriterResult] = [out.get(timeout=result_timeout) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    versions = [v for r in results for v in r["versions"]]
    errors = [e for r in results for e in r["errors"]]
    seconds = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    return versions, errors, seconds
