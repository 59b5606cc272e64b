"""Model packaging (Scenario 2) as plain functions: the Prefect flow and the CI script share them.

From a model-API spec file and a pulled model (its files plus ``card.json``, as
``opsml models pull`` writes them) the steps build a container build context,
smoke-test the API in-process on the card's recorded sample input, render the
Kubernetes manifests and build the image when a container engine answers. One
module per job:

- :mod:`~flows.model_packaging.spec`: the spec file, the model it names, ``card.json``;
- :mod:`~flows.model_packaging.context`: the build context;
- :mod:`~flows.model_packaging.smoke`: the smoke test;
- :mod:`~flows.model_packaging.manifests`: the Kubernetes manifests;
- :mod:`~flows.model_packaging.requirements`: what the image installs (follows the card);
- :mod:`~flows.model_packaging.wheels`: those dependencies as hashed wheels in the context;
- :mod:`~flows.model_packaging.engine`: docker, podman or buildah, and their commands;
- :mod:`~flows.model_packaging.debian_base`: a base image from Debian's packages (mmdebstrap);
- :mod:`~flows.model_packaging.image`: the image build and what the engine says of it;
- :mod:`~flows.model_packaging.container`: the image started as its user, and stopped;
- :mod:`~flows.model_packaging.image_check`: build, labels, start, check over HTTP;
- :mod:`~flows.model_packaging.cli`: every step after the pull, for CI
  (``python -m flows.model_packaging``, run by ``flows/ci_package.sh``).

Nothing here imports Prefect; ``flows/package_model.py`` wraps the steps in a flow.

Example:
    >>> from flows.model_packaging import load_spec
    >>> load_spec("flows/model_spec.yaml").model.name  # doctest: +SKIP
    'iris-classifier'

"""

from __future__ import annotations

from flows.model_packaging.container import run_once, running
from flows.model_packaging.context import (
    DEFAULT_API_CODE,
    assemble_context,
    base_image_for,
    not_readable_by_all,
)
from flows.model_packaging.debian_base import BaseImageError, DebianBase
from flows.model_packaging.engine import ENGINES, Engine, find_engine
from flows.model_packaging.image import (
    ImageInfo,
    PackagingError,
    build_command,
    build_image,
    inspect_image,
    repository_of,
    tag_image,
)
from flows.model_packaging.image_check import (
    build_and_check,
    check_image,
    check_labels,
    image_step,
    reuse_image,
    stored_image,
)
from flows.model_packaging.manifests import k8s_name, render_manifests
from flows.model_packaging.smoke import SmokeTestError, check_answers, smoke_test
from flows.model_packaging.spec import (
    ApiSpec,
    DeploySpec,
    ModelApiSpec,
    ModelRef,
    Resources,
    SpecError,
    image_tag,
    load_spec,
    read_card,
    resolve_model,
)
from flows.model_packaging.wheels import WheelError, WheelTarget, vendor_wheels

__all__ = [
    "DEFAULT_API_CODE",
    "ENGINES",
    "ApiSpec",
    "BaseImageError",
    "DebianBase",
    "DeploySpec",
    "Engine",
    "ImageInfo",
    "ModelApiSpec",
    "ModelRef",
    "PackagingError",
    "Resources",
    "SmokeTestError",
    "SpecError",
    "WheelError",
    "WheelTarget",
    "assemble_context",
    "base_image_for",
    "build_and_check",
    "build_command",
    "build_image",
    "check_answers",
    "check_image",
    "check_labels",
    "find_engine",
    "image_step",
    "image_tag",
    "inspect_image",
    "k8s_name",
    "load_spec",
    "not_readable_by_all",
    "read_card",
    "render_manifests",
    "repository_of",
    "resolve_model",
    "reuse_image",
    "run_once",
    "running",
    "smoke_test",
    "stored_image",
    "tag_image",
    "vendor_wheels",
]
