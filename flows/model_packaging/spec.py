"""The model-API spec: its schema, loading it, and finding the model it names.

Also what the other steps read from a pulled model: ``card.json`` and the image tag.

Example:
    >>> image_tag("1.2.0+build.3")
    '1.2.0-build.3'

"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from opsml.errors import InvalidInputError
from opsml.schemas import check_alias

__all__ = [
    "ApiSpec",
    "DeploySpec",
    "ModelApiSpec",
    "ModelRef",
    "RequireSignature",
    "Resources",
    "SpecError",
    "image_tag",
    "load_spec",
    "read_card",
    "resolve_model",
]

_IMAGE_RE = re.compile(r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_REFERENCE_RE = re.compile(
    r"^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SpecError(InvalidInputError):
    """The model-API spec is malformed or names a model/version the registry does not have."""

    code = "invalid_spec"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRef(_Strict):
    """Which registered model to serve."""

    name: str = Field(min_length=1, description="Model card name.")
    repository: str = Field(min_length=1, description="Repository of the model card.")
    version: str = Field(default="latest", description="Version or spec: 1.2.0, ^1, ~1.2, latest.")
    alias: str | None = Field(
        default=None, description="An alias (champion) in place of version; never both."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_string(cls, value: Any) -> Any:
        # YAML reads `version: 1.0` as a float: take it as the spec "1.0"
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _alias_or_version(self) -> ModelRef:
        if self.alias is not None:
            if "version" in self.model_fields_set:
                raise ValueError("give model.version or model.alias, not both")
            check_alias(self.alias)
        return self


class ApiSpec(_Strict):
    """The API code and the image it becomes."""

    code: str = Field(default="model_api", description="API code folder, relative to the spec.")
    image: str = Field(description="Image name without tag; the tag is the model version.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    base_image: str | None = Field(
        default=None,
        description="Image to build FROM (a digest pin allowed); default "
        "python:<the card's Python major.minor>-slim.",
    )
    engine: Literal["docker", "podman", "buildah"] | None = Field(
        default=None,
        description="Container engine; default $OPSML_CONTAINER_ENGINE, else the first of "
        "docker, podman, buildah that answers.",
    )

    @field_validator("base_image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        if value is not None and not _REFERENCE_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an image reference (name[:tag][@sha256:<64 hex>], "
                "e.g. python:3.11-slim)"
            )
        return value

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


class RequireSignature(_Strict):
    """``require_signature:``: package only a model signed by one of these keys (design §18)."""

    public_keys: list[str] = Field(
        min_length=1,
        description="Trusted public keys: PEM files (relative to the spec file) or PEM text.",
    )


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
    require_signature: RequireSignature | None = None


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
        version: overrides ``spec.model.version`` or ``spec.model.alias`` (e.g. the
            version from an event).
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
    alias = None if version else ref.alias
    try:
        return registry.load_card(
            name=ref.name,
            repository=ref.repository,
            version=None if wanted == "latest" or alias else wanted,
            alias=alias,
        )
    except VersionError as exc:
        raise SpecError(
            f"model spec version {wanted!r} is not a valid version spec: {exc.message}"
        ) from None
    except CardNotFoundError:
        if alias:
            raise SpecError(
                f"model spec asks for {ref.repository}/{ref.name} alias {alias!r}, which is "
                "not set: set it with `opsml cards alias set` or fix model.alias"
            ) from None
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
