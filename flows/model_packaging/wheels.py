"""The serving dependencies as wheels in the build context, each pinned with its hash.

The image build needs no network: :func:`vendor_wheels` resolves the
requirements for the image's Python and platform (not this machine's), takes
the wheels from a cache folder (downloading only what the cache lacks), copies
them into ``context/wheels/`` and writes ``context/requirements.txt`` with one
``name==version --hash=sha256:…`` line per wheel, the whole dependency closure,
so that the Dockerfile installs them with ``--no-index --require-hashes``.

The cache is ``$OPSML_WHEEL_CACHE`` or ``~/.cache/opsml/wheels``; with a warm
cache nothing is fetched (resolution runs with ``--no-index`` first).

Example:
    >>> target = WheelTarget(python="3.11", machine="x86_64")
    >>> target.platforms[0]
    'manylinux_2_36_x86_64'

"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from opsml.errors import OpsmlError

__all__ = ["WheelError", "WheelTarget", "default_wheel_cache", "vendor_wheels"]

logger = logging.getLogger(__name__)


class WheelError(OpsmlError):
    """A serving dependency has no wheel for the image's Python and platform."""

    code = "wheel_resolution_failed"


@dataclass(frozen=True)
class WheelTarget:
    """The interpreter and platform the wheels must install on (the image's, not ours).

    ``glibc`` is the minor version of the newest ``manylinux_2_*`` level the base
    image's C library runs (Debian 12 has glibc 2.36); every older level is accepted.

    Example:
        >>> WheelTarget(python="3.11", machine="aarch64").platforms[-1]
        'linux_aarch64'

    """

    python: str
    machine: str = platform.machine()
    glibc: int = 36

    @property
    def platforms(self) -> list[str]:
        """Pip ``--platform`` values, newest first (pip does not expand ``manylinux_2_X``)."""
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(self.glibc, 4, -1)]
        legacy = ("manylinux2014", "manylinux2010", "manylinux1")
        return [*tags, *(f"{name}_{self.machine}" for name in legacy), f"linux_{self.machine}"]

    def pip_options(self) -> list[str]:
        """The options that make pip resolve for this target instead of for the running Python."""
        options = ["--only-binary=:all:", "--implementation", "cp"]
        options += ["--python-version", self.python]
        for tag in self.platforms:
            options += ["--platform", tag]
        return options


def default_wheel_cache() -> Path:
    """``$OPSML_WHEEL_CACHE``, else ``~/.cache/opsml/wheels``.

    Example:
        >>> default_wheel_cache().name
        'wheels'

    """
    configured = os.environ.get("OPSML_WHEEL_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "opsml" / "wheels"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    # PIP_FIND_LINKS from the environment would add folders we did not choose
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def _resolve_from_cache(
    requirements: Path, cache: Path, target: WheelTarget
) -> list[dict[str, Any]]:
    """Pip's install report for the requirements, from the cache only (``--no-index``)."""
    with tempfile.TemporaryDirectory(prefix="opsml-wheels-") as scratch:
        report = Path(scratch) / "report.json"
        done = _pip(
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--no-index",
            "--find-links",
            str(cache),
            "--target",
            str(Path(scratch) / "target"),
            "--report",
            str(report),
            *target.pip_options(),
            "-r",
            str(requirements),
        )
        if done.returncode != 0:
            raise WheelError(_tail(done.stderr))
        items: list[dict[str, Any]] = json.loads(report.read_text())["install"]
        return items


def _download(requirements: Path, cache: Path, target: WheelTarget) -> None:
    """Fetch the wheels the cache lacks from the package index."""
    logger.info("downloading serving wheels for Python %s into %s", target.python, cache)
    done = _pip(
        "download", "--quiet", "--dest", str(cache), *target.pip_options(), "-r", str(requirements)
    )
    if done.returncode != 0:
        raise WheelError(
            f"no wheels for Python {target.python} on {target.platforms[0]}: {_tail(done.stderr)}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _place(source: Path, folder: Path) -> Path:
    """Hard-link (or copy) a cached wheel into the context."""
    destination = folder / source.name
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


def vendor_wheels(
    requirements: list[str],
    context: str | Path,
    target: WheelTarget,
    cache: str | Path | None = None,
    *,
    folder: str = "wheels",
    lock: str = "requirements.txt",
) -> dict[str, Any]:
    """Put the wheels of ``requirements`` and of everything they need into ``context/wheels``.

    Args:
        requirements: pinned requirement lines (``fastapi==0.115.0``), or the lines of
            a requirements file with hashes (``uv export``).
        context: the build context; ``wheels/`` and ``requirements.txt`` are written there.
        target: the image's Python and platform.
        cache: wheel cache folder (default :func:`default_wheel_cache`).
        folder: the wheels' folder in the context.
        lock: the hashed requirements file written in the context (``requirements.in``
            beside it, or ``<lock stem>.in``, keeps what was asked for).

    Returns:
        ``wheels`` (count), ``bytes`` (their size), ``downloaded`` (whether the
        index was asked) and ``requirements`` (the hashed lines written).

    Raises:
        WheelError: a requirement has no wheel for the target (the message names it).

    Example:
        >>> target = WheelTarget("3.11")
        >>> vendor_wheels(["fastapi==0.115.0"], "build/context", target)  # doctest: +SKIP
        {'wheels': 12, 'bytes': 4018311, 'downloaded': False, 'requirements': [...]}

    """
    cache_dir = Path(cache) if cache is not None else default_wheel_cache()
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = Path(context) / folder
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    wanted = Path(context) / f"{Path(lock).stem}.in"
    wanted.write_text("\n".join(requirements) + "\n")
    downloaded = False
    try:
        items = _resolve_from_cache(wanted, cache_dir, target)
    except WheelError:
        _download(wanted, cache_dir, target)
        downloaded = True
        items = _resolve_from_cache(wanted, cache_dir, target)
    lines, size = [], 0
    for item in sorted(items, key=lambda i: str(i["metadata"]["name"]).lower()):
        source = Path(unquote(urlparse(item["download_info"]["url"]).path))
        placed = _place(source, wheels)
        size += placed.stat().st_size
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        lines.append(f"{name}=={version} --hash=sha256:{_sha256(placed)}")
    (Path(context) / lock).write_text("\n".join(lines) + "\n")
    return {"wheels": len(lines), "bytes": size, "downloaded": downloaded, "requirements": lines}
