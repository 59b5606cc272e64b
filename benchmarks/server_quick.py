"""Quick numbers for the registry server (DESIGN.md §9), on loopback with SQLite.

Run from the repository root: ``.venv/bin/python benchmarks/server_quick.py [--no-big]``.
Prints start-to-ready, keep-alive /healthz p50, register/load/list p50 of a small
scikit-learn ModelCard through the server, and 1 GiB upload/download MB/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests._live_server import start_server


def p50(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-big", action="store_true", help="skip the 1 GiB transfer")
    parser.add_argument("-n", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opsml-bench-"))

    starts = []
    for i in range(3):
        server = start_server(root / f"s{i}")
        starts.append(server.started_in)
        server.stop()
    print(f"server start to ready (p50 of 3): {statistics.median(starts):.2f} s")

    server = start_server(root / "main")
    try:
        with httpx.Client() as client:
            client.get(f"{server.url}/healthz")
            times = []
            for _ in range(1000):
                t = time.perf_counter()
                client.get(f"{server.url}/healthz")
                times.append(time.perf_counter() - t)
        print(f"keep-alive /healthz p50: {p50(times)}")

        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        from opsml import CardRegistry, ModelCard
        from opsml.config import OpsmlSettings

        X, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(max_iter=300).fit(X, y)
        registry = CardRegistry("model", settings=OpsmlSettings(tracking_uri=server.url))
        backend = registry.backend
        count = {"n": 0}
        backend._client.event_hooks["request"].append(  # type: ignore[attr-defined]
            lambda r: count.__setitem__("n", count["n"] + 1)
        )
        reg, per_call = [], []
        for i in range(args.n):
            card = ModelCard(
                name="churn", repository="ds", contact="me", model=model, sample_input=X.head(5)
            )
            before = count["n"]
            t = time.perf_counter()
            registry.register_card(card, version_type="patch")
            reg.append(time.perf_counter() - t)
            per_call.append(count["n"] - before)
            if i == 0:
                uid = card.uid
        print(
            f"register small sklearn ModelCard p50: {p50(reg)} "
            f"({max(per_call)} HTTP request(s) each)"
        )
        for _ in range(100 - args.n):
            registry.register_card(
                ModelCard(
                    name="other", repository="ds", contact="me", model=model, sample_input=X.head(5)
                )
            )
        load, load_model, listing = [], [], []
        for _ in range(args.n):
            t = time.perf_counter()
            registry.load_card(name="churn", repository="ds", version="latest")
            load.append(time.perf_counter() - t)
            t = time.perf_counter()
            registry.load_card(uid=uid).load_model()
            load_model.append(time.perf_counter() - t)
            t = time.perf_counter()
            registry.list_cards(limit=50)
            listing.append(time.perf_counter() - t)
        print(f"load by name (latest) p50: {p50(load)}; with its model p50: {p50(load_model)}")
        print(f"list 50 of 100 cards p50: {p50(listing)}")

        if not args.no_big:
            from opsml.backends.http import HttpBackend
            from opsml.schemas import ArtifactFile, CardCreate
            from opsml.storage.digest import sha256_file
            from tests.integration.test_server_large import RssSampler, write_big_file

            src = root / "big"
            src.mkdir()
            write_big_file(src / "w.bin")
            sha, size = sha256_file(src / "w.bin")
            card = CardCreate(
                registry="model",
                name="huge",
                repository="ds",
                contact="me",
                files=[ArtifactFile(path="w.bin", size=size, sha256=sha)],
            )
            big = HttpBackend(server.url)
            with RssSampler(server.pid) as up:
                t = time.perf_counter()
                public = big.register_card(card, src)
                up_s = time.perf_counter() - t
            (src / "w.bin").unlink()
            with RssSampler(server.pid) as down:
                t = time.perf_counter()
                big.download_artifacts(public, root / "out")
                down_s = time.perf_counter() - t
            print(
                f"1 GiB upload: {size / up_s / 1e6:.0f} MB/s (server RSS +"
                f"{up.growth / 2**20:.1f} MiB); download (digest verified): "
                f"{size / down_s / 1e6:.0f} MB/s (server RSS +{down.growth / 2**20:.1f} MiB)"
            )
            big.close()
    finally:
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
