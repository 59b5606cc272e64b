r"""Model packaging (Scenario 2) as plain functions: the Prefect flow and the CI script share them.

From a model-API spec file and a pulled model (its files plus ``card.json``,
as ``opsml models pull`` writes them) this builds a container build context,
smoke-tests the API in-process on the card's recorded sample input, renders
the Kubernetes manifests and builds the image when a container engine answers.

Nothing here imports Prefect. ``flows/packaging.py`` wraps these steps in a
flow; ``flows/ci_package.sh`` runs them from a CI job::

    python flows/packaging_steps.py env flows/model_spec.yaml      # MODEL_NAME=... lines
    opsml models pull --name "$MODEL_NAME" --repository "$MODEL_REPOSITORY" \
        --version "$MODEL_VERSION" --out build/model
    python flows/packaging_steps.py package flows/model_spec.yaml --model-dir build/model \
        --out build

Example:
    >>> spec = load_spec("flows/model_spec.yaml")  # doctest: +SKIP
    >>> spec.model.name  # doctest: +SKIP
    'iris-classifier'

"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # a script: never let flows/packaging.py shadow the `packaging` library
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]

import argparse
import importlib.metadata
import importlib.util
import json
import math
import re
import shutil
import string
import subprocess
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opsml.errors import InvalidInputError, OpsmlError

HERE = Path(__file__).resolve().parent
DEFAULT_API_CODE = HERE / "model_api"

# The model's own libraries: pinned to the versions recorded on its card.
_CARD_PINNED = {"scikit-learn": "sklearn", "skops": "skops", "numpy": "numpy"}
_IMAGE_RE = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SpecError(InvalidInputError):
    """The model-API spec is malformed or names a model/version the registry does not have."""

    code = "invalid_spec"


class SmokeTestError(OpsmlError):
    """The packaged API did not answer the card's sample input with its sample output."""

    code = "smoke_test_failed"


# ----------------------------------------------------------------------------- spec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRef(_Strict):
    """Which registered model to serve."""

    name: str = Field(min_length=1, description="Model card name.")
    repository: str = Field(min_length=1, description="Repository of the model card.")
    version: str = Field(default="latest", description="Version or spec: 1.2.0, ^1, ~1.2, latest.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_string(cls, value: Any) -> Any:
        # YAML reads `version: 1.0` as a float: take it as the spec "1.0"
        return str(value) if isinstance(value, (int, float)) else value


class ApiSpec(_Strict):
    """The API code and the image it becomes."""

    code: str = Field(default="model_api", description="API code folder, relative to the spec.")
    image: str = Field(description="Image name without tag; the tag is the model version.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")

    @field_validator("image")
    @classmethod
    def _image_without_tag(cls, value: str) -> str:
        if not _IMAGE_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an image name without tag (lowercase, e.g. "
                "registry.example.com/team/iris-api): the tag is set from the model version"
            )
        return value


class Resources(_Strict):
    """Kubernetes resource requests and limits."""

    requests: dict[str, str] = Field(default_factory=lambda: {"cpu": "100m", "memory": "256Mi"})
    limits: dict[str, str] = Field(default_factory=lambda: {"cpu": "500m", "memory": "512Mi"})


class DeploySpec(_Strict):
    """How the API runs on Kubernetes."""

    replicas: int = Field(default=1, ge=1, le=100)
    namespace: str | None = None
    resources: Resources = Field(default_factory=Resources)


class ModelApiSpec(_Strict):
    """A model-API spec file (see ``flows/model_spec.yaml``).

    Example:
        >>> ModelApiSpec.model_validate({"model": {"name": "iris", "repository": "ds"},
        ...                              "api": {"image": "example.com/iris-api"}}).deploy.replicas
        1

    """

    model: ModelRef
    api: ApiSpec
    deploy: DeploySpec = Field(default_factory=DeploySpec)


def load_spec(path: str | Path) -> ModelApiSpec:
    """Read and validate a spec file; every problem is a :class:`SpecError` naming the file.

    Example:
        >>> load_spec("missing.yaml")  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        SpecError: model spec missing.yaml: no such file

    """
    import yaml

    source = Path(path)
    where = f"model spec {source}"
    try:
        text = source.read_text()
    except FileNotFoundError:
        raise SpecError(f"{where}: no such file") from None
    except OSError as exc:
        raise SpecError(f"{where}: cannot read it: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{where} is not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{where} must be a mapping with 'model' and 'api' sections, got {type(data).__name__}"
        )
    try:
        return ModelApiSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"{where} is invalid: {problems}") from None


def resolve_model(spec: ModelApiSpec, version: str | None = None, registry: Any = None) -> Any:
    """Find the model card the spec names (metadata only, nothing downloaded).

    Args:
        spec: the validated spec.
        version: overrides ``spec.model.version`` (e.g. the version from an event).
        registry: a ``CardRegistry("model")``; default the environment's.

    Returns:
        The :class:`opsml.ModelCard`.

    Raises:
        SpecError: no such model, or no version matching the spec (lists those that exist).

    Example:
        >>> resolve_model(load_spec("flows/model_spec.yaml")).version  # doctest: +SKIP
        '1.0.0'

    """
    from opsml import CardRegistry
    from opsml.errors import CardNotFoundError, VersionError

    registry = registry or CardRegistry("model")
    ref = spec.model
    wanted = version or ref.version
    try:
        return registry.load_card(
            name=ref.name, repository=ref.repository, version=None if wanted == "latest" else wanted
        )
    except VersionError as exc:
        raise SpecError(
            f"model spec version {wanted!r} is not a valid version spec: {exc.message}"
        ) from None
    except CardNotFoundError:
        existing = [
            c.version
            for c in registry.list_cards(name=ref.name, repository=ref.repository, limit=20)
        ]
        if not existing:
            raise SpecError(
                f"model spec names model {ref.repository}/{ref.name}, which is not in the "
                "registry: register it first or fix model.name / model.repository"
            ) from None
        raise SpecError(
            f"model spec asks for {ref.repository}/{ref.name} version {wanted!r}, which no "
            f"registered version matches; registered: {', '.join(existing)}"
        ) from None


# -------------------------------------------------------------------------- context


def image_tag(version: str) -> str:
    """A container image tag for a model version (SemVer ``+`` is not allowed in tags).

    Example:
        >>> image_tag("1.2.0+build.3")
        '1.2.0-build.3'

    """
    tag = version.replace("+", "-")
    if not _TAG_RE.fullmatch(tag):
        raise InvalidInputError(f"version {version!r} does not make a valid image tag")
    return tag


def read_card(model_dir: str | Path) -> dict[str, Any]:
    """The ``card.json`` written beside the pulled model files.

    Example:
        >>> read_card("build/context/model")["version"]  # doctest: +SKIP
        '1.0.0'

    """
    path = Path(model_dir) / "card.json"
    try:
        card: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidInputError(
            f"{path} is missing: pull the model with `opsml models pull` (it writes card.json)"
        ) from None
    return card


def pinned_requirements(template: Path, card: dict[str, Any]) -> str:
    r"""Pin every requirement: the model's libraries to its card, the rest to the tested ones.

    Example:
        >>> pinned_requirements(DEFAULT_API_CODE / "requirements.txt", card)  # doctest: +SKIP
        'fastapi==0.115.0\n...'

    """
    recorded = card.get("metadata", {}).get("model", {}).get("library_versions", {})
    lines = []
    for raw in template.read_text().splitlines():
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if any(op in name for op in "=<>~!@ "):
            lines.append(name)  # already pinned by the author
            continue
        version = recorded.get(_CARD_PINNED.get(name, ""))
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = None
        lines.append(f"{name}=={version}" if version else name)
    return "\n".join(lines) + "\n"


def assemble_context(
    spec: ModelApiSpec, spec_dir: str | Path, model_dir: str | Path, out_dir: str | Path
) -> Path:
    """Write the container build context: API code, model files, ``card.json``, pins, Dockerfile.

    Args:
        spec: the validated spec.
        spec_dir: folder of the spec file (``api.code`` is relative to it).
        model_dir: the pulled model (files and ``card.json``).
        out_dir: where to write; the context goes to ``out_dir/context``.

    Returns:
        The context folder.

    Example:
        >>> assemble_context(spec, "flows", "build/model", "build")  # doctest: +SKIP
        PosixPath('build/context')

    """
    code = (Path(spec_dir) / spec.api.code).resolve()
    if not (code / "app.py").is_file():
        raise SpecError(f"api.code {spec.api.code!r}: no app.py in {code.name}/")
    card = read_card(model_dir)
    context = Path(out_dir) / "context"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(
        code,
        context,
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "model", "Dockerfile.template", "requirements.txt"
        ),
    )
    if Path(model_dir).resolve() != (context / "model").resolve():
        shutil.copytree(model_dir, context / "model")
    template = code / "requirements.txt"
    if not template.is_file():
        template = DEFAULT_API_CODE / "requirements.txt"
    (context / "requirements.txt").write_text(pinned_requirements(template, card))
    dockerfile = code / "Dockerfile.template"
    if not dockerfile.is_file():
        dockerfile = DEFAULT_API_CODE / "Dockerfile.template"
    python = (
        card.get("metadata", {})
        .get("model", {})
        .get("library_versions", {})
        .get("python", f"{sys.version_info.major}.{sys.version_info.minor}")
    )
    (context / "Dockerfile").write_text(
        string.Template(dockerfile.read_text()).substitute(
            python_version=".".join(str(python).split(".")[:2]),
            port=spec.api.port,
            model_name=card["name"],
            model_repository=card["repository"],
            model_version=card["version"],
            model_uid=card["uid"],
        )
    )
    (context / ".dockerignore").write_text("__pycache__/\n*.pyc\n")
    return context


# ------------------------------------------------------------------------ smoke test


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def smoke_test(context: str | Path) -> dict[str, Any]:
    """Start the packaged API in-process and check it on the card's sample input.

    POSTs ``signature["sample_input"]`` to ``/predict`` (FastAPI ``TestClient``)
    and checks the predictions equal ``signature["sample_output"]``.

    Returns:
        ``predictions``, ``expected`` and ``seconds``.

    Raises:
        SmokeTestError: the API failed or answered something else.

    Example:
        >>> smoke_test("build/context")["predictions"]  # doctest: +SKIP
        [0, 0, 1, 2, 2]

    """
    from fastapi.testclient import TestClient

    context = Path(context)
    card = read_card(context / "model")
    signature = card.get("metadata", {}).get("model", {}).get("signature") or {}
    sample, expected = signature.get("sample_input"), signature.get("sample_output")
    if not sample or expected is None:
        raise SmokeTestError(
            f"model {card['repository']}/{card['name']} v{card['version']} has no recorded "
            "sample input/output: register it with sample_input= to make it testable"
        )
    name = f"opsml_model_api_{uuid.uuid4().hex}"
    module_spec = importlib.util.spec_from_file_location(name, context / "app.py")
    if module_spec is None or module_spec.loader is None:
        raise SmokeTestError(f"cannot import {context / 'app.py'}")
    module = importlib.util.module_from_spec(module_spec)
    start = time.perf_counter()
    sys.modules[name] = module  # FastAPI resolves the app's annotations through sys.modules
    try:
        module_spec.loader.exec_module(module)
        with TestClient(module.create_app(context / "model")) as client:
            if client.get("/readyz").status_code != 200:
                raise SmokeTestError("the model API is not ready after start-up")
            response = client.post("/predict", json={"inputs": sample})
    except SmokeTestError:
        raise
    except Exception as exc:
        raise SmokeTestError(f"the model API failed to start or answer: {exc!r}") from exc
    finally:
        sys.modules.pop(name, None)
    if response.status_code != 200:
        raise SmokeTestError(f"POST /predict answered {response.status_code}: {response.text}")
    predictions = response.json()["predictions"]
    if not _same(predictions, expected):
        raise SmokeTestError(f"POST /predict answered {predictions}, the card recorded {expected}")
    return {
        "predictions": predictions,
        "expected": expected,
        "seconds": round(time.perf_counter() - start, 3),
    }


# ------------------------------------------------------------------------ manifests


def _k8s_name(value: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return name[:63].rstrip("-") or "model-api"


def render_manifests(spec: ModelApiSpec, card: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``k8s/deployment.yaml`` and ``k8s/service.yaml`` for the model API.

    The image is ``{api.image}:{image_tag(version)}``.

    Example:
        >>> render_manifests(spec, read_card("build/model"), "build")  # doctest: +SKIP
        [PosixPath('build/k8s/deployment.yaml'), PosixPath('build/k8s/service.yaml')]

    """
    import yaml

    tag = image_tag(card["version"])
    name = _k8s_name(f"{card['name']}-api")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "opsml-models"}
    meta: dict[str, Any] = {
        "name": name,
        "labels": {
            **labels,
            "app.kubernetes.io/version": tag,
            "opsml.ai/model": _k8s_name(card["name"]),
        },
        "annotations": {
            "opsml.ai/model-uid": card["uid"],
            "opsml.ai/model-repository": card["repository"],
            "opsml.ai/model-version": card["version"],
        },
    }
    if spec.deploy.namespace:
        meta["namespace"] = spec.deploy.namespace
    port = spec.api.port
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 10}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.deploy.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, "app.kubernetes.io/version": tag}},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": "api",
                            "image": f"{spec.api.image}:{tag}",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": port}],
                            "resources": spec.deploy.resources.model_dump(),
                            "readinessProbe": probe,
                            "livenessProbe": {
                                **probe,
                                "httpGet": {"path": "/healthz", "port": "http"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                            },
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {k: v for k, v in meta.items() if k != "annotations"},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    folder = Path(out_dir) / "k8s"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, doc in (("deployment.yaml", deployment), ("service.yaml", service)):
        path = folder / filename
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- image


def container_engine() -> str | None:
    """``docker`` or ``podman`` when its daemon answers ``info``, else ``None``.

    Example:
        >>> container_engine() in (None, "docker", "podman")
        True

    """
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        try:
            done = subprocess.run([engine, "info"], capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return engine
    return None


def build_command(context: str | Path, image: str, engine: str = "docker") -> list[str]:
    """The command that builds the image from the context.

    Example:
        >>> build_command("build/context", "example.com/iris-api:1.0.0")
        ['docker', 'build', '-t', 'example.com/iris-api:1.0.0', 'build/context']

    """
    return [engine, "build", "-t", image, str(context)]


def build_image(context: str | Path, image: str) -> dict[str, Any]:
    """Build the image when a container engine answers; else return the command to run.

    Returns:
        ``built`` (bool), ``image``, ``command`` (the build command as a string).

    Example:
        >>> build_image("build/context", "example.com/iris-api:1.0.0")  # doctest: +SKIP
        {'built': False, 'image': ..., 'command': 'docker build -t ...'}

    """
    engine = container_engine()
    command = build_command(context, image, engine or "docker")
    if engine is None:
        return {"built": False, "image": image, "command": " ".join(command)}
    subprocess.run(command, check=True)
    return {"built": True, "image": image, "command": " ".join(command)}


def package(
    spec_path: str | Path, model_dir: str | Path, out_dir: str | Path, *, build: bool = True
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
    context = assemble_context(spec, Path(spec_path).parent, model_dir, out_dir)
    smoke = smoke_test(context)
    manifests = render_manifests(spec, card, out_dir)
    image = f"{spec.api.image}:{image_tag(card['version'])}"
    result = (
        build_image(context, image)
        if build
        else {"built": False, "image": image, "command": " ".join(build_command(context, image))}
    )
    return {
        "context": str(context),
        "manifests": [str(p) for p in manifests],
        "smoke_test": smoke,
        "version": card["version"],
        "uid": card["uid"],
        **result,
    }


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="print MODEL_NAME, MODEL_REPOSITORY, MODEL_VERSION")
    env.add_argument("spec")
    pkg = sub.add_parser("package", help="assemble, smoke-test, render, build")
    pkg.add_argument("spec")
    pkg.add_argument("--model-dir", required=True)
    pkg.add_argument("--out", default="build")
    pkg.add_argument("--no-build", action="store_true", help="never run the container engine")
    args = parser.parse_args(argv)
    try:
        if args.command == "env":
            import shlex

            spec = load_spec(args.spec)
            version = "" if spec.model.version == "latest" else spec.model.version
            for key, value in (
                ("MODEL_NAME", spec.model.name),
                ("MODEL_REPOSITORY", spec.model.repository),
                ("MODEL_VERSION", version),
            ):
                print(f"{key}={shlex.quote(value)}")
            return 0
        result = package(args.spec, args.model_dir, args.out, build=not args.no_build)
    except OpsmlError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if not result["built"]:
        print(
            f"no container engine answered; build the image with:\n  {result['command']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
