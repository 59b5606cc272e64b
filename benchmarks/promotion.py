"""``copy_card`` throughput between two local registry servers (issue 13), in MB/s.

Registers one run card holding a random file of ``--mib`` MiB in the source
server, copies it into the target with :meth:`opsml.CardRegistry.copy_card`
(download with digests verified, upload verified again by the target), and
checks the target's record has the source's digest. Run from the repository
root::

    python -m benchmarks.promotion [--mib 256]

"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.workloads import MB, BenchmarkError, start_server
from opsml_testing.seeding import write_random_file


def copy_throughput(work: Path, size: int) -> dict[str, float]:
    """Seconds and MB/s of one ``copy_card`` of a ``size``-byte card between two servers."""
    from opsml import CardRegistry, RunCard

    blob = work / "blob.bin"
    sha = write_random_file(blob, size)
    servers = [start_server(work / "source"), start_server(work / "target")]
    try:
        source = CardRegistry("run", tracking_uri=servers[0].url)
        target = CardRegistry("run", tracking_uri=servers[1].url)
        card = RunCard(name="bench-copy", repository="bench", contact="b")
        card.log_artifact(blob)
        source.register_card(card)
        start = time.perf_counter()
        copied = source.copy_card(card, to=target)
        seconds = time.perf_counter() - start
    finally:
        for server in servers:
            server.stop()
    digests = [f.sha256 for f in copied._registered()[0].files]
    if digests != [sha]:
        raise BenchmarkError(f"the copy's digests {digests} differ from the source's {sha}")
    return {"bytes": float(size), "seconds": seconds, "copy_mb_s": size / MB / seconds}


def main(argv: list[str] | None = None) -> int:
    """Print the copy throughput as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsml-bench-copy-") as tmp:
        result = copy_throughput(Path(tmp), args.mib * 1024 * 1024)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
