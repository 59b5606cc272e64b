"""Where worker processes keep their Prometheus counts (prometheus_client multiprocess mode).

With ``--workers N`` each uvicorn worker counts its own requests; for
``/metrics`` to report the pod's totals, every worker writes its values to
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and the worker that
answers a scrape sums them. The variable must be set before any worker imports
prometheus_client, so :func:`prepare` runs in the parent, before the workers
start; this module itself imports nothing of prometheus_client.

Example:
    >>> prepare(1, environ={}) is None  # one process: its own counts are the pod's
    True

"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(workers: int, environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Make the multiprocess folder ready before the workers start; returns it (or ``None``).

    A folder given in ``PROMETHEUS_MULTIPROC_DIR`` is emptied of the files of
    an earlier run (a restarted container keeps its ``emptyDir``), as
    prometheus_client requires. Without one and with more than one worker, a
    fresh temporary folder is made, named in the environment the workers
    inherit, and removed at exit.
    """
    env = os.environ if environ is None else environ
    given = env.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder
    if workers <= 1:
        return None
    folder = Path(tempfile.mkdtemp(prefix="opsml-metrics-"))
    env[MULTIPROC_ENV] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
