"""The Kubernetes shape for several replicas (docs/design.md §15, docs/replicas.md).

Rendered with ``kubectl kustomize`` and validated strictly like the other
deployment tests (tests/integration/test_deploy_files.py, whose helpers are
reused): one migration Job per overlay and replicas that never migrate; in
production an autoscaler, a disruption budget, topology spread, resources from
the measured RSS and a grace period longer than the longest upload request.
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_deploy_files import (
    CREDENTIALS_SECRET,
    SECRET_NAME,
    _container,
    _docs,
    _env,
    _one,
    overlay,
    rendered,
)

__all__ = ["overlay", "rendered"]  # the fixtures, shared with test_deploy_files

MIB = 1024 * 1024
LARGEST_UPLOAD_FILE = 5 * 1024 * MIB
"""The largest single file we size the grace period for (one PUT per file)."""
SLOWEST_UPLOAD = 50 * 1_000_000
"""Bytes/s a client in the cluster's network sends at least."""
MEASURED_RSS_MIB = {"start": 145, "end": 152}
"""One worker's RSS at start and after the load test (benchmarks/replicas.py, docs/replicas.md)."""


def _quantity_mib(value: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value) / MIB


def _job(docs: list[dict[str, Any]]) -> dict[str, Any]:
    job = _one(docs, "Job")
    assert job["metadata"]["name"] == "opsml-db-upgrade"
    return job


def test_one_migration_job_and_replicas_that_never_migrate(
    rendered: dict[str, str], overlay: str
) -> None:
    docs = _docs(rendered[overlay])
    config = _one(docs, "ConfigMap")["data"]
    assert config["OPSML_AUTO_MIGRATE"] == "false", "only the Job migrates"
    deployment = _one(docs, "Deployment")
    assert not deployment["spec"]["template"]["spec"].get("initContainers")
    assert _container(docs)["readinessProbe"]["httpGet"]["path"] == "/readyz"

    pod = _job(docs)["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("OnFailure", "Never")
    [container] = pod["containers"]
    assert container["command"] == ["opsml", "db", "upgrade"]
    assert container["image"] == _container(docs)["image"], "same release as the replicas"
    ref = _env(container)["OPSML_TRACKING_URI"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == CREDENTIALS_SECRET
    for name, item in _env(container).items():
        if SECRET_NAME.search(name):
            assert "secretKeyRef" in item["valueFrom"], f"{name} must come from a Secret"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_graceful_termination_outlasts_the_longest_upload(
    rendered: dict[str, str], overlay: str
) -> None:
    docs = _docs(rendered[overlay])
    pod = _one(docs, "Deployment")["spec"]["template"]["spec"]
    graceful = float(_one(docs, "ConfigMap")["data"]["OPSML_SERVER_GRACEFUL_TIMEOUT"])
    assert graceful >= LARGEST_UPLOAD_FILE / SLOWEST_UPLOAD
    command = _container(docs)["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pause = float(command[1])
    assert 5 <= pause <= 30, "long enough for the endpoints to drop the pod"
    assert pod["terminationGracePeriodSeconds"] > pause + graceful


def test_prod_autoscales_from_three_replicas(rendered: dict[str, str]) -> None:
    docs = _docs(rendered["prod"])
    deployment = _one(docs, "Deployment")
    hpa = _one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"] == 3
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    pdb = _one(docs, "PodDisruptionBudget")
    assert 0 < pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    strategy = deployment["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0, "a rolling update never drops below the replicas"
    for name in ("dev", "staging"):
        assert not [d for d in _docs(rendered[name]) if d["kind"] == "HorizontalPodAutoscaler"]


def test_prod_spreads_replicas_over_nodes_and_zones(rendered: dict[str, str]) -> None:
    docs = _docs(rendered["prod"])
    template = _one(docs, "Deployment")["spec"]["template"]
    spread = {c["topologyKey"]: c for c in template["spec"]["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        selector = constraint["labelSelector"]["matchLabels"]
        assert selector.items() <= template["metadata"]["labels"].items()


def test_prod_resources_follow_the_measured_rss(rendered: dict[str, str]) -> None:
    docs = _docs(rendered["prod"])
    config = _one(docs, "ConfigMap")["data"]
    workers = int(config["OPSML_SERVER_WORKERS"])
    assert workers >= 2 and config["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    resources = _container(docs)["resources"]
    request = _quantity_mib(resources["requests"]["memory"])
    limit = _quantity_mib(resources["limits"]["memory"])
    # each worker: its measured RSS after load, plus the upload buffers in flight
    assert request >= workers * MEASURED_RSS_MIB["end"]
    assert limit >= 2 * request
    assert float(resources["limits"]["cpu"]) >= workers
