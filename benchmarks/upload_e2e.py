"""Register a run card with one 256 MiB file through the server, end to end, digest verified,
beside the bare loopback upload measured in the same run (budget: at least 80% of it).

    python benchmarks/upload_e2e.py [--size-mib 256] [--repeats 5] [--out DIR]

The registry server runs on a free loopback port over SQLite and a folder store;
the client is this process (``CardRegistry`` over HTTP: the card's files are
written to its staging folder, described and sent). Each registration's stored
file is hashed again afterwards (outside the clock) and must match. The bare
upload is one streamed ``PUT`` of the same size to the smallest ASGI app
(``benchmarks/_bare_app.py``) under the same uvicorn. The machine is shared:
read the two numbers side by side, not alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import workloads
from opsml_testing.live_server import running_server
from opsml_testing.transfers import write_blob

MIB = 1024 * 1024
MB = 1e6


def _bare_upload(url: str, size: int) -> float:
    """Seconds of one streamed ``PUT`` of ``size`` bytes (4 MiB blocks) to the bare app."""
    import httpx

    body = workloads.repeated_body(size)
    with httpx.Client(trust_env=False, timeout=120) as client:
        start = time.perf_counter()
        answer = client.put(f"{url}/sink", content=body, headers={"Content-Length": str(size)})
        elapsed = time.perf_counter() - start
    if int(answer.text) != size:
        raise workloads.BenchmarkError(f"the bare app received {answer.text} bytes, not {size}")
    return elapsed


READ: list[int] = []
"""Bytes this process read (``rchar``) during each registration."""


def _bytes_read() -> int:
    """``rchar`` of this process: bytes read by every ``read`` call, files and sockets."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def _register(url: str, blob: Path, digest: str, storage: Path, n: int) -> float:
    """Seconds to register a run card holding ``blob`` through the server at ``url``."""
    from opsml import CardRegistry, RunCard
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=url))
    card = RunCard(name=f"big-{n}", repository="bench", contact="bench@example.com")
    read_before = _bytes_read()
    start = time.perf_counter()
    card.log_artifact(blob)
    registry.register_card(card)
    elapsed = time.perf_counter() - start
    READ.append(_bytes_read() - read_before)
    public = card._registered()[0]
    if [f.sha256 for f in public.files] != [digest]:
        raise workloads.BenchmarkError("the registered record does not carry the file's digest")
    stored = storage / "run" / "bench" / f"big-{n}" / f"v{public.version}" / public.files[0].path
    check = hashlib.sha256()
    with open(stored, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            check.update(chunk)
    if check.hexdigest() != digest:
        raise workloads.BenchmarkError("the stored file differs from the one sent")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="opsml-upload-e2e-") as tmp:
        root = Path(tmp)
        blob = root / "weights.bin"
        digest = write_blob(blob, size)
        bare_server = workloads.start_bare_server(root / "bare")
        try:
            with running_server(root / "server") as server:
                _bare_upload(bare_server.url, size)  # warm-ups
                _register(server.url, blob, digest, server.storage_root, -1)
                bare_times, times = [], []
                for n in range(args.repeats):  # interleaved: both see the same machine load
                    bare_times.append(_bare_upload(bare_server.url, size))
                    times.append(_register(server.url, blob, digest, server.storage_root, n))
        finally:
            bare_server.stop()
    bare = size / statistics.median(bare_times) / MB
    ours = size / statistics.median(times) / MB
    ratio = statistics.median(b / t for b, t in zip(bare_times, times, strict=True))
    result = {
        "size_mib": args.size_mib,
        "bare_upload_mb_s": round(bare, 1),
        "register_e2e_mb_s": round(ours, 1),
        "bare_upload_s": [round(t, 3) for t in bare_times],
        "register_e2e_s": [round(t, 3) for t in times],
        "ratio_median_of_pairs": round(ratio, 3),
        "client_read_mib_per_registration": round(statistics.median(READ[1:]) / MIB, 1),
    }
    print(f"bare loopback upload          {bare:8,.0f} MB/s")
    share = f"{ratio:.0%} of bare, median of pairs; budget 80%"
    read = result["client_read_mib_per_registration"]
    print(f"register 1 file end to end    {ours:8,.0f} MB/s  ({share})")
    print(f"client read per registration  {read:8,.0f} MiB  (file: {args.size_mib} MiB)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "upload_e2e.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
