"""Kubernetes manifests for the model API: a Deployment and a Service.

Example:
    >>> k8s_name("Iris Classifier API")
    'iris-classifier-api'

"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flows.model_packaging.spec import ModelApiSpec, image_tag

__all__ = ["k8s_name", "render_manifests"]


def k8s_name(value: str) -> str:
    """A valid Kubernetes object name (lowercase, dashes, at most 63 characters).

    Example:
        >>> k8s_name("opsml-package-Iris_Classifier")
        'opsml-package-iris-classifier'

    """
    name = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return name[:63].rstrip("-") or "model-api"


def _container(spec: ModelApiSpec, tag: str) -> dict[str, Any]:
    """The API container: image, port, resources, probes, a locked-down security context."""
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 10}
    return {
        "name": "api",
        "image": f"{spec.api.image}:{tag}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.api.port}],
        "resources": spec.deploy.resources.model_dump(),
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
    }


def render_manifests(spec: ModelApiSpec, card: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``k8s/deployment.yaml`` and ``k8s/service.yaml`` for the model API.

    The image is ``{api.image}:{image_tag(version)}``.

    Example:
        >>> render_manifests(spec, read_card("build/model"), "build")  # doctest: +SKIP
        [PosixPath('build/k8s/deployment.yaml'), PosixPath('build/k8s/service.yaml')]

    """
    import yaml

    tag = image_tag(card["version"])
    name = k8s_name(f"{card['name']}-api")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "opsml-models"}
    meta: dict[str, Any] = {
        "name": name,
        "labels": {
            **labels,
            "app.kubernetes.io/version": tag,
            "opsml.ai/model": k8s_name(card["name"]),
        },
        "annotations": {
            "opsml.ai/model-uid": card["uid"],
            "opsml.ai/model-repository": card["repository"],
            "opsml.ai/model-version": card["version"],
        },
    }
    if spec.deploy.namespace:
        meta["namespace"] = spec.deploy.namespace
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
                    "containers": [_container(spec, tag)],
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
