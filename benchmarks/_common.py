"""Small pieces the latency benchmarks share: p95, their databases and their JSON output."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def p95_ms(samples: list[float]) -> float:
    """95th percentile (nearest rank below) of samples in seconds, as milliseconds.

    Example:
        >>> p95_ms([0.001 * i for i in range(1, 101)])
        95.0

    """
    ordered = sorted(samples)
    return ordered[int(0.95 * (len(ordered) - 1))] * 1000


def databases(work: Path, urls: list[str]) -> dict[str, str]:
    """SQLite under ``work``, then each of ``urls`` named by its scheme (``postgresql``...).

    Example:
        >>> databases(Path("w"), ["postgresql+psycopg://u@h/db"])
        {'sqlite': 'sqlite:///w/embedded.db', 'postgresql': 'postgresql+psycopg://u@h/db'}

    """
    found = {"sqlite": f"sqlite:///{(work / 'embedded.db').as_posix()}"}
    found.update({url.split(":", 1)[0].split("+")[0]: url for url in urls})
    return found


def print_result(result: dict[str, Any], out: Path | None) -> None:
    """Print ``result`` as indented JSON; also write it to ``out`` when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")


def database_main(
    argv: list[str] | None,
    description: str | None,
    count: str,
    prefix: str,
    run: Callable[[Path, int, list[str]], dict[str, dict[str, float]]],
) -> int:
    """The command line of a benchmark over databases; ``run`` works in a temp folder.

    Options: ``--COUNT N`` (default 200), ``--database-url URL`` (repeatable) and
    ``--out FILE``; the result is printed as JSON (and written to ``FILE``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(f"--{count}", type=int, default=200)
    parser.add_argument("--database-url", action="append", default=[])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        result = run(Path(tmp), getattr(args, count), args.database_url)
    print_result(result, args.out)
    return 0
