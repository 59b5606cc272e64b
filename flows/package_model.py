"""Packaging flow (Scenario 2): turn a registered model into a built, started, checked image.

Reads a model-API spec (``flows/model_spec.yaml``), checks it against the
registry before doing anything (malformed YAML, a missing field, an unknown
model or version: the run fails at once with a message naming the problem),
pulls the model with digest checks, assembles an offline build context (the
FastAPI app of ``flows/model_api/``, the model files, ``card.json``, the
serving dependencies as hashed wheels, a Dockerfile), smoke-tests the API
in-process on the card's recorded sample input (the fast first check), renders
the Kubernetes Deployment and Service with the image tagged by the model
version, and, when a container engine answers (docker, podman or buildah),
builds the image, starts it as its own user, and checks its answers over HTTP
(else it prints the build command). The return value and the run's artifact
give the image id, digest and size, and the seconds of each step.

The ``opsml-packaging`` deployment in ``deployments/prefect.yaml`` runs it when
``opsml.card.alias_set`` arrives for the alias ``champion`` of the spec's model,
with the event's version (the version the alias was moved to).
Without Prefect, the same steps run in CI: ``flows/ci_package.sh``. Run it once
from the repository root with ``python -m flows.package_model`` (the module is
named so that nothing shadows the ``packaging`` library; no ``sys.path`` edits).

Example:
    >>> from flows.package_model import packaging
    >>> packaging(spec_path="flows/model_spec.yaml", output_dir="build")  # doctest: +SKIP

"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows import model_packaging as steps
from flows.deploy_model import load_deploy_spec
from flows.model_packaging.signature import require_signed_card
from flows.packaging_report import how_built, publish
from opsml import CardRegistry
from opsml_prefect.blockref import as_credentials
from opsml_prefect.credentials import OpsmlCredentials
from opsml_prefect.deploy_tasks import record_packaging
from opsml_prefect.tasks import pull_model

_PLAIN: dict[str, Any] = {"cache_policy": NONE, "persist_result": False}


@task(**_PLAIN)
def check_spec(
    spec_path: str, version: str | None = None, credentials: OpsmlCredentials | None = None
) -> dict[str, Any]:
    """Validate the spec and resolve its model in the registry; nothing is downloaded.

    Returns:
        ``spec`` (the validated model) and the resolved ``version`` and ``uid``.

    Raises:
        SpecError: malformed YAML, invalid fields, unknown model or version.

    Example:
        >>> check_spec.fn("flows/model_spec.yaml")["version"]  # doctest: +SKIP
        '1.0.0'

    """
    spec = steps.load_spec(spec_path)
    registry = credentials.get_registry("model") if credentials else None
    card = steps.resolve_model(spec, version=version or None, registry=registry)
    require_signed_card(spec, card, Path(spec_path).parent)  # spec's require_signature:, §18
    return {"spec": spec, "version": card.version, "uid": card.uid}


@task(**_PLAIN)
def assemble_context(
    spec: steps.ModelApiSpec,
    spec_dir: str,
    model_dir: str,
    out_dir: str,
    base_image: str | None = None,
    card: dict[str, Any] | None = None,
) -> str:
    """Task form of `flows.model_packaging.assemble_context` (wheels included)."""
    return str(
        steps.assemble_context(spec, spec_dir, model_dir, out_dir, base_image=base_image, card=card)
    )


@task(**_PLAIN)
def smoke_test(context: str) -> dict[str, Any]:
    """Task form of `flows.model_packaging.smoke_test`."""
    return steps.smoke_test(context)


@task(**_PLAIN)
def render_manifests(spec: steps.ModelApiSpec, card: dict[str, Any], out_dir: str) -> list[str]:
    """Task form of `flows.model_packaging.render_manifests` (``card``: the pulled card.json)."""
    return [str(p) for p in steps.render_manifests(spec, card, out_dir)]


@task(**_PLAIN)
def build_image(
    context: str,
    image: str,
    out_dir: str,
    build: bool = True,
    engine: str | None = None,
    reuse_digest: str | None = None,
) -> dict[str, Any]:
    """Build, start and check the image when an engine answers and ``build``; else the command.

    See `flows.model_packaging.image_step` (``reuse_digest``: check that image, built
    before for this version, instead of building it again).
    """
    return steps.image_step(
        context, image, out_dir, build=build, engine=engine, reuse_digest=reuse_digest
    )


def _recorded_digest(
    checked: dict[str, Any], image: str, credentials: OpsmlCredentials | None
) -> str | None:
    """The digest this version's image was last recorded ``packaged`` with, if any.

    Asks for this card's ``packaged`` records only, a few at a time: packagings of
    other versions, however many, never hide it.
    """
    spec: steps.ModelApiSpec = checked["spec"]
    registry = credentials.get_registry("model") if credentials else CardRegistry("model")
    cursor: int | None = None
    while True:
        page = registry.list_deployments(
            card=checked["uid"], repository=spec.model.repository, state="packaged",
            cursor=cursor, limit=10,
        )  # fmt: skip
        for record in page.items:
            if record.image == image and record.image_digest:
                return str(record.image_digest)
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor


def _model_folder(
    pulled: str | None,
    spec: steps.ModelApiSpec,
    checked: dict[str, Any],
    out: Path,
    credentials: OpsmlCredentials | None,
) -> tuple[str, dict[str, Any]]:
    """The model folder and its ``card.json``, read once here for every later step.

    The deployment pull step's folder when its ``card.json`` is the resolved card
    (``checked["uid"]``), else a fresh pull of the resolved version.
    """
    if pulled and (Path(pulled) / "card.json").is_file():
        card = steps.read_card(pulled)
        if card.get("uid") == checked["uid"]:
            get_run_logger().info("using the model the deployment's pull step put in %s", pulled)
            return str(Path(pulled).resolve()), card
    folder = str(
        pull_model(
            spec.model.name,
            spec.model.repository,
            checked["version"],
            str(out / "model"),
            credentials,
        )
    )
    return folder, steps.read_card(folder)


@flow(name="opsml-packaging", log_prints=True)
def packaging(
    spec_path: str = "flows/model_spec.yaml",
    version: str | None = None,
    output_dir: str = "build",
    build: bool = True,
    model_dir: str | None = None,
    credentials: OpsmlCredentials | str | None = None,
    base_image: str | None = None,
    deploy_spec_path: str | None = "flows/deploy_spec.yaml",
) -> dict[str, Any]:
    """Package the model a spec names: pull, assemble, smoke-test, render, build, start, check.

    Args:
        spec_path: the model-API spec file.
        version: overrides the spec's version or alias (the triggered deployment
            passes the version of the ``opsml.card.alias_set`` event).
        output_dir: where ``model/``, ``context/`` and ``k8s/`` are written
            (one sub-folder per model version).
        build: build the image when a container engine answers (the spec's
            ``api.engine``, ``$OPSML_CONTAINER_ENGINE``, else docker, podman, buildah),
            then start it as its user and check its answers over HTTP.
        model_dir: a folder where the deployment's ``pull_model`` step already put a
            model; used when its ``card.json`` is the resolved version, else ignored.
        credentials: an ``OpsmlCredentials`` block or the name of a saved one
            (what the deployments pass); default the environment.
        base_image: overrides the spec's ``api.base_image`` (default
            ``python:<card's x.y>-slim``).
        deploy_spec_path: the deploy spec (``flows/deploy_spec.yaml``) whose ``target``
            the run records ``packaged`` (with the image and digest) or ``failed`` (with
            the step and reason) for; no file, or ``None``: nothing is recorded.

    Returns:
        ``version``, ``uid``, ``context``, ``manifests``, ``image``, ``built``,
        ``command``, ``smoke_test`` and ``timings`` (seconds per step); when built,
        also ``image_id``, ``digest``, ``size_mb``, ``engine`` and ``check``.

    Example:
        >>> packaging(spec_path="flows/model_spec.yaml", version="1.0.0")  # doctest: +SKIP

    """
    logger = get_run_logger()
    credentials = as_credentials(credentials)  # a block name loads the saved block
    clock = _Clock()
    with clock.step("check_spec"):
        checked = check_spec(spec_path, version, credentials)
        target = _deploy_target(deploy_spec_path)
    spec: steps.ModelApiSpec = checked["spec"]
    try:
        where = (spec_path, output_dir, model_dir, base_image)
        result = _steps(spec, checked, where, build, credentials, clock)
    except Exception as exc:
        if target:
            record_packaging(
                checked["uid"], target, error=exc, step=clock.current, credentials=credentials
            )
        raise
    if target:
        recorded = record_packaging(
            checked["uid"],
            target,
            image=result["image"],
            image_digest=result.get("digest") or result.get("image_id"),
            credentials=credentials,
        )
        if recorded is not None:
            logger.info("recorded %s for %s (%s)", recorded.state, target, recorded.id)
    seconds = clock.total()
    logger.info(
        "packaged %s v%s in %.3f s: %s",
        spec.model.name,
        checked["version"],
        seconds,
        result["context"],
    )
    return {**result, "timings": {**clock.timings, "flow_seconds": seconds}}


def _deploy_target(deploy_spec_path: str | None) -> str | None:
    """The deploy spec's target, or ``None`` (nothing recorded) when there is no such file."""
    if not deploy_spec_path:
        return None
    if not Path(deploy_spec_path).is_file():
        get_run_logger().info("no deploy spec %s: the packaging is not recorded", deploy_spec_path)
        return None
    return load_deploy_spec(deploy_spec_path).target


def _steps(
    spec: steps.ModelApiSpec,
    checked: dict[str, Any],
    where: tuple[str, str, str | None, str | None],
    build: bool,
    credentials: OpsmlCredentials | None,
    clock: _Clock,
) -> dict[str, Any]:
    """Pull, context, smoke test, manifests, image; each timed by ``clock``.

    ``where``: the spec path, the output folder, the pull step's model folder and the
    base image override.
    """
    logger = get_run_logger()
    spec_path, output_dir, model_dir, base_image = where
    out = Path(output_dir) / f"{spec.model.name}-{steps.image_tag(checked['version'])}"
    with clock.step("pull"):
        model_dir, card = _model_folder(model_dir, spec, checked, out, credentials)
    with clock.step("context"):
        spec_dir = str(Path(spec_path).resolve().parent)
        context = assemble_context(spec, spec_dir, model_dir, str(out), base_image, card)
    with clock.step("smoke_test"):
        smoke = smoke_test(context)
    with clock.step("manifests"):
        manifests = render_manifests(spec, card, str(out))
    image = f"{spec.api.image}:{steps.image_tag(checked['version'])}"
    with clock.step("image"):
        previous = _recorded_digest(checked, image, credentials) if build else None
        built = build_image(context, image, str(out), build, spec.api.engine, previous)
    if built["built"]:
        del clock.timings["image"]
        clock.timings.update(built.pop("timings"))
        logger.info(
            "image %s (%s, %s MB, %s) answered over HTTP when started with %s",
            image,
            how_built(built),
            built["size_mb"],
            built["digest"],
            built["check"]["started_with"],
        )
    else:
        print(
            "No container engine answered (docker, podman or buildah): no image was built. "
            "Install one (apt-get install podman buildah) or build the image elsewhere with:"
            f"\n  {built['command']}"
        )
    publish(spec, checked, context, manifests, image, built, smoke, clock.timings)
    return {
        "version": checked["version"],
        "uid": checked["uid"],
        "context": context,
        "model_dir": model_dir,
        "manifests": manifests,
        "smoke_test": smoke,
        **built,
    }


class _Clock:
    """Seconds per step, in order, and the step running now (named in a failure record)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.current = ""

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current = name
        began = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - began, 3)

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def _main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpsML packaging flow once.")
    parser.add_argument("--spec", default="flows/model_spec.yaml")
    parser.add_argument("--version", default=None)
    parser.add_argument("--out", default="build")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--base-image", default=None)
    args = parser.parse_args()
    print(
        packaging(
            spec_path=args.spec,
            version=args.version,
            output_dir=args.out,
            build=not args.no_build,
            base_image=args.base_image,
        )
    )


if __name__ == "__main__":
    _main()
