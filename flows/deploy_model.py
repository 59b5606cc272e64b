"""Deploy flow (issue 29): apply the packaged model's manifests, then record ``deployed``.

Reads two files: the model-API spec (``flows/model_spec.yaml``, which model) and
the deploy spec (``flows/deploy_spec.yaml``, where it runs)::

    target: k8s/models/iris-classifier-api   # the record's target
    environment: production                  # optional: default the registry's APP_ENV
    cluster:                                 # optional: without it, record only
      context: kind-ml-prod                  # kubectl --context
      kubeconfig: ~/.kube/config             # optional

With a ``cluster``, the manifests the packaging flow rendered
(``build/<name>-<tag>/k8s/``; rendered again from the card when missing) are
applied with ``kubectl apply --context <context> -f <dir>``; a failed apply
records ``failed`` (step ``apply``, kubectl's message) and fails the run.
Without one (``mode: record-only``), nothing is applied. Either way the run
ends by recording ``deployed`` for the spec's target, with the manifests'
SHA-256 and the image the card was packaged into (its latest recorded image in
the environment), which retires what the target served before. A rollback is
the same flow for the older version (move ``champion`` back): it reuses the
image built for that version.

The ``iris-classifier-deploy`` deployment in ``deployments/prefect.yaml`` runs it
when ``opsml.card.deployed`` arrives with state ``packaged`` for the spec's
model, i.e. after the packaging flow recorded its image.

Example:
    >>> from flows.deploy_model import deploy
    >>> deploy(spec_path="flows/model_spec.yaml", version="1.2.0")  # doctest: +SKIP

"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from prefect import flow, get_run_logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows import model_packaging as steps
from opsml.schemas_deployments import check_target
from opsml_prefect.blockref import as_credentials
from opsml_prefect.credentials import OpsmlCredentials
from opsml_prefect.deploy_tasks import record_deployment

APPLY_TIMEOUT = 300
"""Seconds ``kubectl apply`` may take."""


class ClusterSpec(BaseModel):
    """The Kubernetes cluster to apply to."""

    model_config = ConfigDict(extra="forbid")

    context: str = Field(min_length=1, description="kubectl context (kubectl --context).")
    kubeconfig: str | None = Field(default=None, description="kubeconfig file; default kubectl's.")
    kubectl: str = Field(default="kubectl", description="The kubectl executable.")


class DeployTargetSpec(BaseModel):
    """A deploy spec file (see the module docstring).

    Example:
        >>> DeployTargetSpec.model_validate({"target": "k8s/models/iris-api"}).mode
        'record-only'

    """

    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="Where it runs, e.g. k8s/ml-prod/iris-api.")
    environment: str | None = Field(default=None, description="Default: the registry's own.")
    cluster: ClusterSpec | None = None
    mode: Literal["apply", "record-only"] | None = Field(
        default=None, description="Default: apply with a cluster, else record only."
    )

    @model_validator(mode="after")
    def _mode(self) -> DeployTargetSpec:
        check_target(self.target)
        if self.mode is None:
            self.mode = "apply" if self.cluster else "record-only"
        if self.mode == "apply" and self.cluster is None:
            raise ValueError("mode 'apply' needs a cluster (cluster.context)")
        return self


def load_deploy_spec(path: str | Path) -> DeployTargetSpec:
    """Read and validate a deploy spec file.

    Raises:
        SpecError: missing file, bad YAML or invalid fields (each named).

    Example:
        >>> load_deploy_spec("flows/deploy_spec.yaml").target  # doctest: +SKIP
        'k8s/models/iris-classifier-api'

    """
    where = f"deploy spec {path}"
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise steps.SpecError(f"{where}: no such file") from None
    except yaml.YAMLError as exc:
        raise steps.SpecError(f"{where} is not valid YAML: {exc}") from None
    try:
        return DeployTargetSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise steps.SpecError(f"{where} is invalid: {problems}") from None


def manifests_sha256(folder: str | Path) -> str:
    """SHA-256 over the manifests of ``folder``: each ``*.yaml`` name and bytes, sorted by name.

    Example:
        >>> import tempfile
        >>> len(manifests_sha256(tempfile.mkdtemp()))
        64

    """
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def apply_manifests(folder: str | Path, cluster: ClusterSpec) -> str:
    """``kubectl apply --context <context> -f <folder>``; returns kubectl's output.

    Raises:
        RuntimeError: kubectl is missing, timed out or failed (its message included).

    Example:
        >>> apply_manifests("build/k8s", ClusterSpec(context="kind-ml"))  # doctest: +SKIP

    """
    kubectl = shutil.which(cluster.kubectl) or cluster.kubectl
    command = [kubectl, "apply", "--context", cluster.context, "-f", str(folder)]
    if cluster.kubeconfig:
        command[2:2] = ["--kubeconfig", str(Path(cluster.kubeconfig).expanduser())]
    try:
        done = subprocess.run(  # a fixed argument list, no shell
            command, capture_output=True, text=True, timeout=APPLY_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise RuntimeError(f"kubectl not found: {cluster.kubectl!r}") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"kubectl apply took longer than {APPLY_TIMEOUT} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip()[-2000:]
        raise RuntimeError(f"kubectl apply exited {done.returncode}: {message}")
    return done.stdout.strip()


def _manifests(spec: steps.ModelApiSpec, card: Any, output_dir: str) -> Path:
    """The packaging run's manifests folder; rendered from the card when missing."""
    out = Path(output_dir) / f"{spec.model.name}-{steps.image_tag(card.version)}"
    folder = out / "k8s"
    if not any(folder.glob("*.yaml")):
        facts = {"name": card.name, "uid": card.uid, "repository": card.repository,
                 "version": card.version}  # fmt: skip
        steps.render_manifests(spec, facts, out)
    return folder


def _image(
    registry: Any, card: Any, spec: steps.ModelApiSpec, environment: str | None
) -> dict[str, str | None]:
    """The image the card was packaged into (its latest record naming one), else the spec's."""
    for record in registry.list_deployments(card=card, environment=environment, limit=100).items:
        if record.image_digest:
            return {"image": record.image, "image_digest": record.image_digest}
    return {"image": f"{spec.api.image}:{steps.image_tag(card.version)}", "image_digest": None}


@flow(name="opsml-deploy", log_prints=True)
def deploy(
    spec_path: str = "flows/model_spec.yaml",
    deploy_spec_path: str = "flows/deploy_spec.yaml",
    version: str | None = None,
    output_dir: str = "build",
    credentials: OpsmlCredentials | str | None = None,
) -> dict[str, Any]:
    """Apply the model's manifests where the deploy spec says, and record ``deployed``.

    Args:
        spec_path: the model-API spec (which model; its version or alias).
        deploy_spec_path: the deploy spec (target, environment, cluster).
        version: overrides the spec's version or alias (a triggered run passes the
            version of the ``opsml.card.deployed`` event).
        output_dir: where the packaging flow wrote ``<name>-<tag>/k8s/``.
        credentials: an ``OpsmlCredentials`` block or a saved block's name.

    Returns:
        ``version``, ``uid``, ``target``, ``environment``, ``applied``,
        ``manifests``, ``manifests_sha256``, ``image``, ``image_digest``,
        ``record`` (the record's id) and ``seconds``.

    Example:
        >>> deploy(version="1.2.0")["target"]  # doctest: +SKIP
        'k8s/models/iris-classifier-api'

    """
    logger = get_run_logger()
    started = time.perf_counter()
    credentials = as_credentials(credentials)
    spec = steps.load_spec(spec_path)
    where = load_deploy_spec(deploy_spec_path)
    registry = credentials.get_registry("model") if credentials else None
    card = steps.resolve_model(spec, version=version or None, registry=registry)
    registry = registry or _registry()
    folder = _manifests(spec, card, output_dir)
    digest = manifests_sha256(folder)
    image = _image(registry, card, spec, where.environment)
    applied = where.mode == "apply"
    if applied:
        assert where.cluster is not None
        try:
            logger.info("%s", apply_manifests(folder, where.cluster))
        except RuntimeError as exc:
            detail = {"step": "apply", "reason": str(exc)}
            record_deployment(
                card, where.target, "failed", environment=where.environment,
                image=image["image"], image_digest=image["image_digest"],
                manifests_sha256=digest, detail=detail, credentials=credentials,
            )  # fmt: skip
            raise
    else:
        logger.info("deploy spec %s: record only, nothing applied", deploy_spec_path)
    record = record_deployment(
        card, where.target, "deployed", environment=where.environment, image=image["image"],
        image_digest=image["image_digest"], manifests_sha256=digest,
        detail={"applied": applied}, credentials=credentials,
    )  # fmt: skip
    built = record.image_digest or "no image digest recorded: no image was built for it"
    print(f"{where.target}: {card.repository}/{card.name} v{card.version} ({built})")
    return {
        "version": card.version, "uid": card.uid, "target": where.target,
        "environment": record.environment, "applied": applied, "manifests": str(folder),
        "manifests_sha256": digest, "image": record.image, "image_digest": record.image_digest,
        "record": record.id, "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip


def _registry() -> Any:
    from opsml import CardRegistry

    return CardRegistry("model")


def _main() -> None:
    parser = argparse.ArgumentParser(description="Run the OpsML deploy flow once.")
    parser.add_argument("--spec", default="flows/model_spec.yaml")
    parser.add_argument("--deploy-spec", default="flows/deploy_spec.yaml")
    parser.add_argument("--version", default=None)
    parser.add_argument("--out", default="build")
    args = parser.parse_args()
    print(deploy(args.spec, args.deploy_spec, args.version, args.out))


if __name__ == "__main__":
    _main()
