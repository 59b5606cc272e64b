"""A soak of the registry server: mixed load as fast as the machine allows, RSS sampled.

Shared by ``tests/integration/test_soak.py`` (2 minutes, in CI) and ``benchmarks/soak.py``
(30 minutes, the curve in ``docs/reliability.md``). The server runs as its own process on
PostgreSQL with a folder store; ``WORKERS`` client threads send a mix of registrations
(multipart, one small file), light pages, counts, loads by uid and by name, downloads and
alias moves; past ``LIVE_CARDS`` cards each registration deletes the oldest. The server's
RSS (with its children) is sampled every ``interval`` seconds beside the number of
requests answered; the slope after the warm-up, by least squares, is the growth per
10,000 requests.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import LiveServer

WORKERS = 4
MIX = {
    "register": 15,
    "page": 20,
    "count": 10,
    "get": 20,
    "resolve": 15,
    "download": 15,
    "alias": 5,
}
"""Weights of the operations of the mixed load."""
MIB = 1024 * 1024
LIVE_CARDS = 500
"""Cards kept live: past it, each registration deletes the oldest, so that the registry's
size (and each request's working set) stays level and RSS growth means a leak."""


@dataclass
class Soak:
    """Samples (seconds, requests answered, server RSS in bytes) and what was answered."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    warmup: float = 0.0

    def slope_mib_per_10k(self) -> float:
        """RSS growth after the warm-up, MiB per 10,000 requests (least squares)."""
        after = [(n, rss) for t, n, rss in self.samples if t >= self.warmup]
        if len(after) < 3 or after[-1][0] == after[0][0]:
            raise ValueError("too few samples after the warm-up to fit a slope")
        fit = statistics.linear_regression([n for n, _ in after], [rss for _, rss in after])
        return fit.slope * 10_000 / MIB

    def steady_slope_mib_per_10k(self) -> float:
        """The smaller of the slopes of the two halves after the warm-up (MiB per 10,000).

        A leak grows in both halves; a one-off step (the allocator taking a new arena, a
        cache filling) sits in one of them. A 2-minute soak has about nine samples after
        its warm-up, so one such step moves the whole fit by more than a steady leak would.

        Example:
            >>> r = Soak(samples=[(t, t * 100, 0) for t in range(10)], warmup=0.0)
            >>> r.samples[6:] = [(t, t * 100, 4 * MIB) for t in range(6, 10)]  # one step
            >>> round(r.steady_slope_mib_per_10k(), 3)
            0.0

        """
        after = [(t, n, rss) for t, n, rss in self.samples if t >= self.warmup]
        if len(after) < 6:
            raise ValueError("too few samples after the warm-up to fit two halves")
        half = len(after) // 2
        halves = (after[: half + 1], after[half:])  # the middle sample in both
        return min(Soak(samples=part, warmup=self.warmup).slope_mib_per_10k() for part in halves)

    def to_json(self) -> str:
        """The samples and counts as JSON."""
        return json.dumps(
            {
                "samples": self.samples,
                "warmup": self.warmup,
                "statuses": dict(self.statuses),
                "operations": dict(self.operations),
                "slope_mib_per_10k": self.slope_mib_per_10k(),
                "steady_slope_mib_per_10k": (
                    self.steady_slope_mib_per_10k() if len(self.samples) >= 6 else None
                ),
            }
        )


def _rss(proc: psutil.Process) -> int:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        total += child.memory_info().rss
    return int(total)


class _Load:
    """The client side: worker threads sending the mix until told to stop."""

    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.rng = random.Random(seed)
        self.cards: list[tuple[str, str]] = []  # (uid, name) of the registry's live cards
        self.aliased: dict[str, str] = {}  # name -> the uid its alias points to
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.answered = 0
        self.statuses: Counter[int] = Counter()
        self.operations: Counter[str] = Counter()
        self.data = b"soak\n" * 200
        self.sha = hashlib.sha256(self.data).hexdigest()

    def _register(self, client: httpx.Client, index: int) -> httpx.Response:
        card = CardCreate(
            registry="run", name=f"soak-{index % 50}", repository="soak", contact="me",
            tags={"n": str(index)},
            files=[ArtifactFile(path="blob.txt", size=len(self.data), sha256=self.sha)],
        )  # fmt: skip
        response = client.post(
            "/api/v1/cards/run",
            data={"card": card.model_dump_json()},
            files=[("files", ("blob.txt", self.data, "application/octet-stream"))],
        )
        if response.status_code == 201:
            with self.lock:
                self.cards.append((response.json()["uid"], card.name))
        return response

    def _retire(self, client: httpx.Client) -> httpx.Response | None:
        """Delete the oldest card once there are ``LIVE_CARDS`` (not one an alias holds)."""
        with self.lock:
            if len(self.cards) <= LIVE_CARDS:
                return None
            held = set(self.aliased.values())
            oldest = next(((u, n) for u, n in self.cards if u not in held), None)
            if oldest is None:
                return None
            self.cards.remove(oldest)
        return client.delete(f"/api/v1/cards/run/{oldest[0]}")

    def _one(self, client: httpx.Client, operation: str, index: int) -> httpx.Response:
        with self.lock:
            uid, name = self.rng.choice(self.cards) if self.cards else (None, "")
        if operation == "register" or uid is None:
            return self._register(client, index)
        if operation == "page":
            return client.get("/api/v1/cards/run/page", params={"repository": "soak"})
        if operation == "count":
            return client.get("/api/v1/cards/run/count", params={"search": "soak"})
        if operation == "get":
            return client.get(f"/api/v1/cards/run/{uid}")
        if operation == "resolve":
            return client.get("/api/v1/cards/run/resolve", params={"name": name, "version": "^1"})
        if operation == "download":
            return client.get(f"/api/v1/cards/run/{uid}/files/blob.txt")
        response = client.put("/api/v1/aliases/run/current", json={"uid": uid})
        if response.status_code == 200:
            with self.lock:
                self.aliased[name] = uid
        return response

    def work(self, worker: int) -> None:
        """Send the mix until :attr:`stop` is set."""
        names, weights = list(MIX), list(MIX.values())
        rng = random.Random(worker)
        index = worker
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self.stop.is_set():
                operation = rng.choices(names, weights)[0]
                response = self._one(client, operation, index)
                index += WORKERS
                retired = self._retire(client) if operation == "register" else None
                with self.lock:
                    self.answered += 1
                    self.statuses[response.status_code] += 1
                    self.operations[operation] += 1
                    if retired is not None:
                        self.answered += 1
                        self.statuses[retired.status_code] += 1
                        self.operations["delete"] += 1


def soak(server: LiveServer, seconds: float, interval: float, warmup: float) -> Soak:
    """Mixed load on ``server`` for ``seconds``, RSS sampled every ``interval`` seconds."""
    load = _Load(server.url, seed=30)
    proc = psutil.Process(server.pid)
    result = Soak(warmup=warmup)
    threads = [threading.Thread(target=load.work, args=(w,), daemon=True) for w in range(WORKERS)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            result.samples.append((round(elapsed, 1), load.answered, _rss(proc)))
            time.sleep(min(interval, max(0.0, seconds - elapsed)))
        result.samples.append((round(time.monotonic() - start, 1), load.answered, _rss(proc)))
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(60)
    result.statuses, result.operations = load.statuses, load.operations
    return result


def plot(result: Soak, out: Path, title: str) -> None:
    """The RSS curve against requests answered (a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(8, 4))
    axis.plot([n for _, n, _ in result.samples], [rss / MIB for *_, rss in result.samples], "o-")
    warm = [n for t, n, _ in result.samples if t >= result.warmup]
    if warm:
        axis.axvline(warm[0], color="grey", linestyle=":", label="end of warm-up")
    axis.set_xlabel("requests answered")
    axis.set_ylabel("server RSS (MiB)")
    axis.set_title(f"{title}: {result.slope_mib_per_10k():+.3f} MiB per 10,000 requests")
    axis.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
