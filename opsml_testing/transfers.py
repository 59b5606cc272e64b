"""Large transfers in a fresh client process, timed and RSS-sampled: the worker, its input
blob and the warm-up of a server (tests/integration/test_storage_large.py and
``benchmarks/storage_quick.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TRANSFER_WORKER = r'''
"""Register one artifact and download it again; report timings and peak RSS growth (JSON)."""
import hashlib, json, os, sys, threading, time
from pathlib import Path

import psutil

from opsml import CardRegistry, RunCard
from opsml.config import OpsmlSettings

source, out, transfer = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
cloud = sorted(k for k in os.environ if k.startswith(("AWS_", "GOOGLE_", "STORAGE_EMULATOR")))
reg = CardRegistry("run", settings=OpsmlSettings())
if transfer == "proxy" and hasattr(reg.backend, "presign"):
    reg.backend.presign = False  # through the server even where the store can presign
warm = RunCard(name="warm-up", repository="bench", contact="b@example.com")
small = out.parent / "warm-up.txt"
small.write_text("warm up: imports, connections, clients")
warm.log_artifact(small)
reg.register_card(warm)
reg.load_card(uid=warm.uid).download_artifacts(out.parent / "warm-out")

proc = psutil.Process()
base = peak = proc.memory_info().rss
done = threading.Event()

def sample() -> None:
    global peak
    while not done.is_set():
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.005)

thread = threading.Thread(target=sample, daemon=True)
thread.start()
card = RunCard(name="big", repository="bench", contact="b@example.com")
card.log_artifact(source)
t0 = time.perf_counter()
reg.register_card(card)
t1 = time.perf_counter()
reg.load_card(uid=card.uid).download_artifacts(out)
t2 = time.perf_counter()
done.set()
thread.join()
digest = hashlib.sha256()
with open(out / "artifacts" / source.name, "rb") as handle:
    while chunk := handle.read(8 << 20):
        digest.update(chunk)
print(json.dumps({
    "presigned": getattr(reg.backend, "_presign_ok", None) is True,
    "upload_s": t1 - t0, "download_s": t2 - t1, "rss_growth": peak - base,
    "sha256": digest.hexdigest(), "cloud_vars": cloud,
}))
'''
"""Run with ``python -c TRANSFER_WORKER SOURCE OUT_DIR auto|proxy`` and the registry's env."""


def write_blob(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random-looking bytes to ``path``; return their SHA-256."""
    import hashlib

    digest = hashlib.sha256()
    block = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(256)) * 128  # 1 MiB
    with open(path, "wb") as out:
        for i in range(size // len(block)):
            chunk = block[i % 97 :] + block[: i % 97]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def run_transfer(
    source: Path, out: Path, env: dict[str, str], transfer: str = "auto"
) -> dict[str, Any]:
    """Run :data:`TRANSFER_WORKER` in a fresh process with exactly ``env`` (plus basics)."""
    import json

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
    full = {k: v for k, v in os.environ.items() if k in keep}
    full.update({"PYTHONUNBUFFERED": "1", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false", **env})
    done = subprocess.run(
        [sys.executable, "-c", TRANSFER_WORKER, str(source), str(out), transfer],
        env=full, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"transfer worker failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def warm_up(url: str, tmp_path: Path) -> None:
    """One small round trip through the server at ``url``: first-use imports and pools are then
    not counted as the memory of a transfer.
    """
    from opsml import CardRegistry, RunCard
    from opsml.config import OpsmlSettings

    reg = CardRegistry("run", settings=OpsmlSettings(tracking_uri=url))
    card = RunCard(name="warm-up", repository="ds-team", contact="ds@example.com")
    small = tmp_path / "warm.bin"
    write_blob(small, 12 * 1024 * 1024)  # above the inline limit: the upload-session path
    card.log_artifact(small)
    reg.register_card(card)
    reg.load_card(uid=card.uid).download_artifacts(tmp_path / "warm-out")
