"""The deploy flow (issue 29, item 4): kubectl apply with the spec's context, or record only;
``deployed`` recorded for the spec's target; rollback by moving ``champion`` back."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from flows.model_packaging import SpecError

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
TARGET = "k8s/models/churn-api"
FAKE_KUBECTL = """#!/bin/sh
echo "$@" >> "{log}"
if [ -n "$FAKE_KUBECTL_FAIL" ]; then echo "error: context \\"$3\\" does not exist" >&2; exit 1; fi
echo "deployment.apps/churn-api configured"
"""


def _versions(count: int) -> list[Any]:
    from sklearn.linear_model import LogisticRegression

    from opsml import CardRegistry, ModelCard

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    registry = CardRegistry("model")
    return [
        registry.register_card(
            ModelCard(
                name="churn",
                repository="ds-team",
                contact="ds@x.com",
                model=model,
                sample_input=x[:2],
            )
        )
        for _ in range(count)
    ]


def _specs(root: Path, deploy: str) -> tuple[str, str]:
    model_spec = root / "model_spec.yaml"
    model_spec.write_text(
        "model: {name: churn, repository: ds-team, alias: champion}\n"
        "api: {image: registry.example.com/ds-team/churn-api}\n"
    )
    deploy_spec = root / "deploy_spec.yaml"
    deploy_spec.write_text(deploy)
    return str(model_spec), str(deploy_spec)


def _kubectl(root: Path) -> tuple[Path, Path]:
    log = root / "kubectl.log"
    script = root / "bin" / "kubectl"
    script.parent.mkdir()
    script.write_text(FAKE_KUBECTL.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_apply_records_deployed_and_rollback_reuses_the_image(
    prefect_api: str, embedded: Path
) -> None:
    from flows.deploy_model import deploy
    from opsml import CardRegistry

    kubectl, log = _kubectl(embedded)
    spec, where = _specs(embedded, f"target: {TARGET}\ncluster:\n  context: kind-ml-test\n"
                                   f"  kubectl: {kubectl}\n")  # fmt: skip
    first, second = _versions(2)
    registry = CardRegistry("model")
    for card, digest in ((first, D1), (second, D2)):  # what the packaging flow records
        image = f"churn-api:{card.version}"
        registry.record_deployment(
            card, target=TARGET, state="packaged", image=image, image_digest=digest
        )
    out = str(embedded / "build")
    results = []
    for card in (first, second, first):  # champion: 1.0.0, then 1.1.0, then back
        registry.set_alias(card, "champion")
        results.append(deploy(spec_path=spec, deploy_spec_path=where, output_dir=out))
    assert [(r["version"], r["image_digest"], r["applied"]) for r in results] == [
        ("1.0.0", D1, True), ("1.1.0", D2, True), ("1.0.0", D1, True),
    ]  # fmt: skip
    current = registry.current_deployment(target=TARGET)
    assert current is not None and current.id == results[-1]["record"]
    assert (current.version, current.image, current.image_digest) == (
        "1.0.0",
        "churn-api:1.0.0",
        D1,
    )
    assert current.manifests_sha256 == results[-1]["manifests_sha256"]
    assert current.flow_run_id and current.detail == {"applied": True}
    folder = Path(results[0]["manifests"])
    assert sorted(p.name for p in folder.glob("*.yaml")) == ["deployment.yaml", "service.yaml"]
    calls = log.read_text().splitlines()
    assert calls == [f"apply --context kind-ml-test -f {r['manifests']}" for r in results]
    states = [(r.version, r.state) for r in registry.list_deployments(state="retired").items]
    assert states == [("1.1.0", "retired"), ("1.0.0", "retired")]


def test_a_failed_apply_records_failed_and_changes_nothing_current(
    prefect_api: str, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.deploy_model import deploy
    from opsml import CardRegistry

    kubectl, _log = _kubectl(embedded)
    spec, where = _specs(embedded, f"target: {TARGET}\ncluster: {{context: nowhere, "
                                   f"kubectl: {kubectl}}}\n")  # fmt: skip
    (card,) = _versions(1)
    registry = CardRegistry("model")
    registry.set_alias(card, "champion")
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "1")
    with pytest.raises(RuntimeError, match='kubectl apply exited 1: error: context "nowhere"'):
        deploy(spec_path=spec, deploy_spec_path=where, output_dir=str(embedded / "build"))
    (failed,) = registry.list_deployments().items
    assert failed.state == "failed" and failed.detail["step"] == "apply"
    assert "does not exist" in failed.detail["reason"]
    assert registry.current_deployment(target=TARGET) is None


def test_record_only_without_a_cluster(prefect_api: str, embedded: Path) -> None:
    from flows.deploy_model import deploy
    from opsml import CardRegistry

    spec, where = _specs(embedded, f"target: {TARGET}\nenvironment: staging\n")
    (card,) = _versions(1)
    CardRegistry("model").set_alias(card, "champion")
    result = deploy(spec_path=spec, deploy_spec_path=where, output_dir=str(embedded / "build"))
    assert (result["applied"], result["environment"], result["image_digest"]) == (
        False, "staging", None,
    )  # fmt: skip
    assert result["image"] == "registry.example.com/ds-team/churn-api:1.0.0"  # nothing packaged
    current = CardRegistry("model").current_deployment(target=TARGET, environment="staging")
    assert current is not None and current.version == "1.0.0"
    assert not os.environ.get("FAKE_KUBECTL_FAIL")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("environment: prod\n", "target: Field required"),
        ("target: '  '\n", "target must not be empty"),
        (f"target: {TARGET}\nmode: apply\n", "mode 'apply' needs a cluster"),
        (f"target: {TARGET}\ncluster: {{kubeconfig: x}}\n", "cluster.context: Field required"),
        (f"target: {TARGET}\nclusters: {{}}\n", "clusters: Extra inputs are not permitted"),
    ],
)
def test_bad_deploy_specs_are_refused_naming_the_field(
    tmp_path: Path, text: str, match: str
) -> None:
    from flows.deploy_model import load_deploy_spec

    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_deploy_spec(path)
