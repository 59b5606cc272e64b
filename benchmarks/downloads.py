"""The 1 GiB download through the client, beside the bare loopback download of the same run.

One 1 GiB artifact is registered through the server once; then the client downloads it
``n`` times (digest verified, renamed into place), each run interleaved with a bare
loopback download of the same size from the minimal ASGI app, so that both see the same
machine load. Dirty pages of earlier work are flushed (``sync``) before each pair, so that
the kernel's write-back of other gigabytes does not land inside a timed download. Reports the
best and the median of each, and the server's RSS growth.

Example:
    >>> summary([100.0, 300.0, 200.0])
    {'best': 300.0, 'median': 200.0}

"""

from __future__ import annotations

import os
import shutil
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import workloads
from opsml_testing import proc
from opsml_testing.seeding import write_random_file

GIB = 1024**3
MB = 1e6
BUDGET_MB_S = 900.0
BUDGET_OF_BARE = 0.45
"""Budget: over 900 MB/s, or over 45% of the bare loopback download of the same run."""


def summary(values: list[float]) -> dict[str, float]:
    """Best (highest) and median of a list of MB/s."""
    return {"best": max(values), "median": statistics.median(values)}


def gib_download(url: str, server_pid: int, bare_url: str, work: Path, n: int) -> dict[str, Any]:
    """Download one 1 GiB artifact ``n`` times through the client, bare download beside each."""
    from opsml.backends.http import HttpBackend
    from opsml.schemas import ArtifactFile, CardCreate

    src = work / "gib-src"
    src.mkdir(parents=True, exist_ok=True)
    sha = write_random_file(src / "weights.bin", GIB)
    card = CardCreate(
        registry="model", name=f"gib-{uuid.uuid4().hex[:6]}", repository="bench",
        contact="bench", files=[ArtifactFile(path="weights.bin", size=GIB, sha256=sha)],
    )  # fmt: skip
    ours: list[float] = []
    bare: list[float] = []
    rss: list[float] = []
    backend = HttpBackend(url)
    try:
        public = backend.register_card(card, src)
        (src / "weights.bin").unlink()
        for i in range(n):
            # earlier workloads' gigabytes are written back now, not during the timed download
            os.sync()
            bare.append(workloads.machine_http(bare_url, 5, GIB)["http_down_mb_s"])
            dest = work / f"gib-dest-{i}"
            with proc.RssSampler(server_pid) as sampler:
                t = time.perf_counter()
                backend.download_artifacts(public, dest)
                seconds = time.perf_counter() - t
            got = dest / "weights.bin"
            if got.stat().st_size != GIB:
                raise workloads.BenchmarkError("the 1 GiB download has the wrong size")
            shutil.rmtree(dest)
            ours.append(GIB / seconds / MB)
            rss.append(sampler.growth_mib)
    finally:
        backend.close()
    return {"ours_mb_s": ours, "bare_mb_s": bare, "server_rss_mib": rss, "runs": n}


def rows(result: dict[str, Any], row: Any) -> list[Any]:
    """Table rows: the download (best and median) beside the bare download, and the RSS."""
    ours, bare = summary(result["ours_mb_s"]), summary(result["bare_mb_s"])
    budget = min(BUDGET_MB_S, BUDGET_OF_BARE * bare["median"])
    runs = result["runs"]
    note = (
        f"best {ours['best']:,.0f} / median {ours['median']:,.0f} MB/s of {runs} runs; bare "
        f"loopback best {bare['best']:,.0f} / median {bare['median']:,.0f} MB/s, interleaved; "
        f"budget: > {BUDGET_MB_S:,.0f} MB/s or > {BUDGET_OF_BARE:.0%} of the bare median"
    )
    return [
        row(
            "1 GiB download, client, digest verified (median)", "MB/s", ours["median"],
            budget=budget, higher_is_better=True, note=note, limit=bare["median"],
            limit_name="bare download",
        ),
        row(
            "1 GiB download: server RSS growth", "MiB", max(result["server_rss_mib"]), budget=32,
        ),
    ]  # fmt: skip
