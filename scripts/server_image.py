r"""Build the registry server's image offline: its context holds every wheel, hashed.

The context (``build/server-image/`` by default) gets the root ``Dockerfile``,
``requirements.txt`` (what ``uv.lock`` pins for the ``server``, ``s3`` and
``gcs`` extras, one hash per wheel), the wheels themselves in ``wheels/``,
uv's own wheel in ``uv/`` (the version is the Dockerfile's ``UV_VERSION``)
and the project's wheel in ``project/``. Nothing is fetched while the image
builds, so CI runners that reach no package index (or whose image cannot trust
its TLS proxy) build it too; wheels come from the cache of
``flows.model_packaging`` (``$OPSML_WHEEL_CACHE``).

Run from the repository root::

    python scripts/server_image.py                            # python:3.11 slim base
    python scripts/server_image.py --debian-base              # base from Debian's packages
    python scripts/server_image.py --no-build                 # context only
    python scripts/server_image.py --engine buildah --tag opsml-server:dev

It prints one JSON object: the image, its id, digest and size, and the seconds
of each step.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `flows` is importable from the root
    sys.path.insert(0, str(ROOT))

from flows.model_packaging import (  # noqa: E402
    DebianBase,
    WheelTarget,
    build_image,
    find_engine,
    vendor_wheels,
)

EXTRAS = ("server", "s3", "gcs")


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _uv_version() -> str:
    """The ``UV_VERSION`` the Dockerfile asks for."""
    match = re.search(r"^ARG UV_VERSION=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    if match is None:
        raise SystemExit("Dockerfile: no `ARG UV_VERSION=` line")
    return match.group(1)


def _locked_requirements() -> list[str]:
    """What uv.lock pins for the server's extras, with hashes, the project left out."""
    extras = [option for extra in EXTRAS for option in ("--extra", extra)]
    done = subprocess.run(
        [*_uv(), "export", "--frozen", "--no-dev", *extras, "--no-emit-project", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def prepare_context(out: Path, target: WheelTarget, cache: Path | None = None) -> dict[str, Any]:
    """Write the offline build context into ``out``; returns what went in."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy2(ROOT / "Dockerfile", out / "Dockerfile")
    shutil.copy2(ROOT / "deployments" / "server-image.dockerignore", out / ".dockerignore")
    deps = vendor_wheels(_locked_requirements(), out, target, cache)
    uv = vendor_wheels([f"uv=={_uv_version()}"], out, target, cache, folder="uv", lock="uv.txt")
    subprocess.run(
        [*_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out / "project"), str(ROOT)],
        check=True,
    )
    return {"wheels": deps["wheels"] + uv["wheels"], "bytes": deps["bytes"] + uv["bytes"]}


def main(argv: list[str] | None = None) -> int:
    """Prepare the context, build the image, print a JSON summary; the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "server-image")
    parser.add_argument("--tag", default="localhost/opsml-server:dev")
    parser.add_argument("--engine", default=None, help="docker, podman or buildah")
    parser.add_argument("--base-image", default=None, help="default: the Dockerfile's")
    parser.add_argument(
        "--debian-base", action="store_true", help="build on a base made by mmdebstrap"
    )
    parser.add_argument("--no-build", action="store_true", help="prepare the context only")
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    context = prepare_context(args.out, WheelTarget(python="3.11"))
    timings["context"] = round(time.perf_counter() - started, 2)
    summary: dict[str, Any] = {"context": str(args.out), **context, "built": False}
    if not args.no_build:
        engine = find_engine(args.engine)
        if engine is None:
            print("no container engine answers (apt-get install podman)", file=sys.stderr)
            return 1
        base = DebianBase().ensure(engine) if args.debian_base else args.base_image
        build_args = {"UV_VERSION": _uv_version(), **({"PYTHON_IMAGE": base} if base else {})}
        began = time.perf_counter()
        info = build_image(engine, args.out, args.tag, args.out.parent, build_args)
        timings["build"] = round(time.perf_counter() - began, 2)
        summary.update(
            built=True, engine=engine.name, base=base or "Dockerfile's", **info.as_dict()
        )
    summary["timings"] = timings
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
