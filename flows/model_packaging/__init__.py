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
- :mod:`~flows.model_packaging.image`: the image build;
- :mod:`~flows.model_packaging.cli`: every step after the pull, for CI
  (``python -m flows.model_packaging``, run by ``flows/ci_package.sh``).

Nothing here imports Prefect; ``flows/package_model.py`` wraps the steps in a flow.

Example:
    >>> from flows.model_packaging import load_spec
    >>> load_spec("flows/model_spec.yaml").model.name  # doctest: +SKIP
    'iris-classifier'

"""

from __future__ import annotations

from flows.model_packaging.context import DEFAULT_API_CODE, assemble_context, not_readable_by_all
from flows.model_packaging.image import build_command, build_image, container_engine
from flows.model_packaging.manifests import k8s_name, render_manifests
from flows.model_packaging.smoke import SmokeTestError, smoke_test
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

__all__ = [
    "DEFAULT_API_CODE",
    "ApiSpec",
    "DeploySpec",
    "ModelApiSpec",
    "ModelRef",
    "Resources",
    "SmokeTestError",
    "SpecError",
    "assemble_context",
    "build_command",
    "build_image",
    "container_engine",
    "image_tag",
    "k8s_name",
    "load_spec",
    "not_readable_by_all",
    "read_card",
    "render_manifests",
    "resolve_model",
    "smoke_test",
]
