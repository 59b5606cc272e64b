"""Upload/download MB/s of one 256 MiB artifact per storage kind: embedded, proxied, presigned.

Starts its own emulators (moto S3, fake-gcs-server) and registry servers on free
loopback ports; every transfer runs in a fresh client process that verifies the
SHA-256 of what it downloaded and reports its peak RSS growth.

    python benchmarks/storage_quick.py [--size-mib 256]

The numbers measure this machine and the emulators (moto hashes and copies every
part in Python), not S3 or GCS themselves: read them side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from benchmarks import workloads
from opsml_testing.emulators import GcsEmulator, S3Emulator, running, unique_uri
from opsml_testing.live_server import running_server
from opsml_testing.proc import RssSampler
from opsml_testing.transfers import run_transfer, warm_up, write_blob

MIB = 1024 * 1024
Row = tuple[str, str, float, float, float, float | None]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    size = args.size_mib * MIB
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="opsml-bench-") as tmp:
        root = Path(tmp)
        blob = root / "weights.bin"
        digest = write_blob(blob, size)
        s3 = S3Emulator()
        gcs = GcsEmulator(root / "fake-gcs")
        with running(s3), running(gcs):
            kinds: list[tuple[str, dict[str, str]]] = [
                ("folder", {}),
                ("s3", {"OPSML_STORAGE_URI": unique_uri(s3), **s3.server_env()}),
                ("gcs", {"OPSML_STORAGE_URI": unique_uri(gcs), **gcs.server_env()}),
            ]
            for kind, env in kinds:
                work = root / kind
                embedded = {
                    "OPSML_TRACKING_URI": f"sqlite:///{(work / 'embedded.db').as_posix()}",
                    "OPSML_STORAGE_URI": (work / "artifacts").as_posix(),
                    **env,
                }
                work.mkdir(parents=True)
                result = run_transfer(blob, work / "out-embedded", embedded)
                assert result["sha256"] == digest
                rows.append(_row(kind, "embedded", size, result, None))
                with running_server(work / "server", env=env) as server:
                    warm_up(server.url, work)  # first-use imports are not transfer memory
                    for mode in ["proxy", "auto"] if kind == "s3" else ["proxy"]:
                        with RssSampler(server.pid) as sampler:
                            result = run_transfer(
                                blob, work / f"out-{mode}", {"OPSML_TRACKING_URI": server.url},
                                mode,
                            )  # fmt: skip
                        assert result["sha256"] == digest
                        name = "presigned" if result["presigned"] else "proxied"
                        rows.append(_row(kind, name, size, result, sampler.growth))
        limits = _limits(root, blob, size)
    print(f"\n{args.size_mib} MiB, SHA-256 verified on every download\n")
    print(
        "| storage | transfer | upload MB/s | download MB/s | client RSS +MiB | server RSS +MiB |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind, mode, up, down, client, server_growth in rows:
        srv = "–" if server_growth is None else f"{server_growth:.0f}"
        print(f"| {kind} | {mode} | {up:.0f} | {down:.0f} | {client:.0f} | {srv} |")
    print("\nlimits of this machine, same run (bare: the minimal ASGI app on loopback):\n")
    print("| bare upload | bare download | SHA-256, one core | disk copy |")
    print("| ---: | ---: | ---: | ---: |")
    print(
        f"| {limits['http_up_mb_s']:.0f} | {limits['http_down_mb_s']:.0f} "
        f"| {limits['sha256_mb_s']:.0f} | {limits['copy_mb_s']:.0f} |"
    )


def _limits(root: Path, blob: Path, size: int) -> dict[str, float]:
    """The machine's own limits for transfers of ``size`` bytes, in MB/s."""
    out = {**workloads.machine_sha256(size), **workloads.machine_copy(blob, root / "copy.bin")}
    bare = workloads.start_bare_server(root / "bare")
    try:
        out.update(workloads.machine_http(bare.url, 20, size))
    finally:
        bare.stop()
    return out


def _row(kind: str, mode: str, size: int, result: dict[str, float], growth: int | None) -> Row:
    return (
        kind,
        mode,
        size / 1e6 / result["upload_s"],
        size / 1e6 / result["download_s"],
        result["rss_growth"] / MIB,
        None if growth is None else growth / MIB,
    )


if __name__ == "__main__":
    main()
