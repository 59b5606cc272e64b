"""What signing a card costs (issue 32, docs/design.md §18): registration and pull, signed or not.

For a small model (a 20 kB file) and a ``--mib`` MiB model, embedded (SQLite and a
folder) and through a local registry server, the median of ``--repeat`` runs of:

- ``register``: ``register_card`` unsigned; ``register_signed``: with ``sign_with=``;
- ``sign``: signing the manifest alone (the digests the registration holds: no file read);
- ``verify``: ``verify_signature`` alone (digests the registry holds: no file read);
- ``pull``: ``ModelCard.pull`` without and with ``verify=``.

Signed and unsigned runs alternate, and what a run stored is deleted off the
clock, so that the machine's drift (page-cache writeback) hits both alike.

Run from the repository root::

    python -m benchmarks.signing [--mib 256] [--repeat 5]

"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmarks.workloads import BenchmarkError, start_server
from opsml_testing.seeding import write_random_file
from opsml_testing.signing import make_keys

if TYPE_CHECKING:
    from opsml import CardRegistry

T = TypeVar("T")


def _median(fn: Callable[[], object], repeat: int) -> float:
    return _medians([fn], repeat)[0]


def _medians(
    fns: list[Callable[[], T]], repeat: int, after: Callable[[T], object] = lambda _: None
) -> list[float]:
    """Median seconds of each of ``fns``, run in turn ``repeat`` times (interleaved, so that
    the machine's drift over the run, e.g. page cache writeback, hits each alike);
    ``after(result)`` runs off the clock (it deletes what a run stored)."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
            after(result)
    return [statistics.median(times) for times in samples]


def measure(registry: CardRegistry, work: Path, size: int, repeat: int) -> dict[str, float]:
    """Median seconds of each step for a model of ``size`` bytes in ``registry``."""
    from opsml import ModelCard
    from opsml._model_signing import sign_files
    from opsml.signatures import card_identity

    keys = make_keys(work / "keys")
    folder = work / f"model-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    write_random_file(folder / "weights.bin", size)
    name = f"bench-{size}"

    def card() -> ModelCard:
        return ModelCard(name=name, repository="bench", contact="b", model=folder)

    register, signed = _medians(
        [
            lambda: registry.register_card(card()),
            lambda: registry.register_card(card(), sign_with=keys.private),
        ],
        repeat,
        after=registry.delete_card,  # bounded disk use; versions are never reused
    )
    registry.register_card(card(), sign_with=keys.private)
    loaded = registry.load_card(name=name, repository="bench")
    if not isinstance(loaded, ModelCard):
        raise BenchmarkError(f"load_card gave a {type(loaded).__name__}, not a ModelCard")
    public = loaded._registered()[0]
    subject = card_identity("model", "bench", name, public.version, public.uid)
    sign = _median(lambda: sign_files(keys.private, subject, public.files), repeat)
    verify = _median(lambda: loaded.verify_signature([keys.public]), repeat)

    def pull(verify: list[Path] | None) -> Path:
        return loaded.pull(work / "pulled", verify=verify)

    pulled, pulled_verified = _medians(
        [lambda: pull(None), lambda: pull([keys.public])], repeat, after=shutil.rmtree
    )
    return {
        "bytes": float(size),
        "register_s": register,
        "register_signed_s": signed,
        "register_overhead_pct": 100 * (signed - register) / register,
        "sign_s": sign,
        "verify_s": verify,
        "pull_s": pulled,
        "pull_verified_s": pulled_verified,
        "pull_overhead_pct": 100 * (pulled_verified - pulled) / pulled,
    }


def run(work: Path, mib: int, repeat: int) -> dict[str, Any]:
    """Every mode and size."""
    from opsml import CardRegistry

    results: dict[str, Any] = {}
    sizes = {"small": 20_000, f"{mib}MiB": mib * 1024 * 1024}
    embedded = CardRegistry(
        "model",
        tracking_uri=f"sqlite:///{(work / 'embedded.db').as_posix()}",
        storage_uri=(work / "embedded").as_posix(),
    )
    server = start_server(work / "server")
    try:
        remote = CardRegistry("model", tracking_uri=server.url)
        for mode, registry in (("embedded", embedded), ("http", remote)):
            for label, size in sizes.items():
                times = repeat if size < 1_000_000 else max(5, repeat // 2)
                bench = work / f"{mode}-work"
                results[f"{mode}/{label}"] = measure(registry, bench, size, times)
    finally:
        server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    """Print the medians as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--dir", default=None, help="Work folder's parent (e.g. /dev/shm).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsml-bench-sign-", dir=args.dir) as tmp:
        result = run(Path(tmp), args.mib, args.repeat)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
