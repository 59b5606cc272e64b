r"""Every packaging step after the pull, for CI: ``python -m flows.model_packaging``.

Run from the repository root (``flows/ci_package.sh`` does)::

    python -m flows.model_packaging env flows/model_spec.yaml      # MODEL_NAME=... lines
    opsml models pull --name "$MODEL_NAME" --repository "$MODEL_REPOSITORY" \\
        --version "$MODEL_VERSION" --out build/model
    python -m flows.model_packaging package flows/model_spec.yaml --model-dir build/model \\
        --out build

"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from flows.model_packaging.context import assemble_context
from flows.model_packaging.debian_base import DebianBase
from flows.model_packaging.engine import find_engine
from flows.model_packaging.image_check import image_step
from flows.model_packaging.manifests import render_manifests
from flows.model_packaging.signature import require_signed_folder
from flows.model_packaging.smoke import smoke_test
from flows.model_packaging.spec import SpecError, image_tag, load_spec, read_card
from opsml.errors import OpsmlError

__all__ = ["main", "package"]


def package(
    spec_path: str | Path,
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    build: bool = True,
    base_image: str | None = None,
) -> dict[str, Any]:
    """Every step after the pull, for a model already pulled into ``model_dir``.

    Example:
        >>> package("flows/model_spec.yaml", "build/model", "build")  # doctest: +SKIP

    """
    spec = load_spec(spec_path)
    card = read_card(model_dir)
    if (card["name"], card["repository"]) != (spec.model.name, spec.model.repository):
        raise SpecError(
            f"{model_dir} holds {card['repository']}/{card['name']}, the spec names "
            f"{spec.model.repository}/{spec.model.name}"
        )
    require_signed_folder(spec, model_dir, Path(spec_path).parent)  # require_signature:, §18
    context = assemble_context(
        spec, Path(spec_path).parent, model_dir, out_dir, base_image=base_image, card=card
    )
    smoke = smoke_test(context)
    manifests = render_manifests(spec, card, out_dir)
    image = f"{spec.api.image}:{image_tag(card['version'])}"
    result = image_step(context, image, out_dir, build=build, engine=spec.api.engine)
    return {
        "context": str(context),
        "manifests": [str(p) for p in manifests],
        "smoke_test": smoke,
        "version": card["version"],
        "uid": card["uid"],
        **result,
    }


def main(argv: list[str] | None = None) -> int:
    """The ``env`` and ``package`` commands; returns the exit code.

    Example:
        >>> main(["env", "flows/model_spec.yaml"])  # doctest: +SKIP
        MODEL_NAME=iris-classifier
        ...

    """
    parser = argparse.ArgumentParser(
        prog="python -m flows.model_packaging", description=(__doc__ or "").split("\n", 1)[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser(
        "env", help="print MODEL_NAME, MODEL_REPOSITORY, MODEL_VERSION, MODEL_ALIAS"
    )
    env.add_argument("spec")
    pkg = sub.add_parser(
        "package", help="assemble, smoke-test, render; build, start and check the image"
    )
    pkg.add_argument("spec")
    pkg.add_argument("--model-dir", required=True)
    pkg.add_argument("--out", default="build")
    pkg.add_argument("--no-build", action="store_true", help="never run the container engine")
    pkg.add_argument("--base-image", default=None, help="overrides the spec's api.base_image")
    base = sub.add_parser(
        "base", help="make the Debian base image (mmdebstrap) and print its reference"
    )
    base.add_argument("--engine", default=None, help="docker, podman or buildah")
    args = parser.parse_args(argv)
    try:
        if args.command == "base":
            engine = find_engine(args.engine)
            if engine is None:
                print(
                    "error: no container engine answers (docker, podman, buildah)", file=sys.stderr
                )
                return 1
            print(DebianBase().ensure(engine))
            return 0
        if args.command == "env":
            spec = load_spec(args.spec)
            version = "" if spec.model.version == "latest" else spec.model.version
            for key, value in (
                ("MODEL_NAME", spec.model.name),
                ("MODEL_REPOSITORY", spec.model.repository),
                ("MODEL_VERSION", "" if spec.model.alias else version),
                ("MODEL_ALIAS", spec.model.alias or ""),
            ):
                print(f"{key}={shlex.quote(value)}")
            return 0
        result = package(
            args.spec,
            args.model_dir,
            args.out,
            build=not args.no_build,
            base_image=args.base_image,
        )
    except OpsmlError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if not result["built"]:
        why = "--no-build" if args.no_build else "no container engine answered"
        print(
            f"{why} (apt-get install podman, or docker); build the image with:\n"
            f"  {result['command']}",
            file=sys.stderr,
        )
    return 0
