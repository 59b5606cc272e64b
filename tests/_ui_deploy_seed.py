"""The deployment walk of the UI tests (issue 29 item 7), over the story of ``tests/_ui_seed.py``.

churn v1.0.0 is packaged and deployed on production's ``k8s/ml-prod/churn-api``
while ``champion`` points at it; ``champion`` moves to v1.1.0, which is packaged
and deployed there (retiring v1.0.0) and also deployed on staging; then
``champion`` moves back and v1.0.0 is deployed again with the image built for it
(the rollback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsml import CardRegistry

PROD, STAGING = "k8s/ml-prod/churn-api", "k8s/ml-staging/churn-api"
D1, D2 = "sha256:" + "1a" * 32, "sha256:" + "2b" * 32
PREFECT = "http://127.0.0.1:4200/runs/flow-run/"
XSS_TARGET = '<script>alert("t")</script>'
XSS_IMAGE = '<img src=x onerror=alert("i")>:1'


@dataclass
class Walk:
    """The records the walk ended with."""

    rollback: Any
    first_deploy: Any
    staging: Any


def deploy_walk(settings: Any, story: Any) -> Walk:
    """Record the walk through the public API (``record_deployment``, ``set_alias``)."""
    models = CardRegistry("model", settings=settings)
    v1, v2 = story.model_v1, story.model_v2

    def deploy(card: Any, run: str, target: str = PROD, env: str = "production") -> Any:
        return models.record_deployment(
            card, target=target, environment=env, state="deployed", flow_run_id=run,
            flow_run_url=PREFECT + run,
        )  # fmt: skip

    models.set_alias(v1, "champion")
    models.record_deployment(
        v1, target=PROD, environment="production", state="packaged", image="churn-api:1.0.0",
        image_digest=D1, flow_run_id="pack-1", flow_run_url=PREFECT + "pack-1",
    )  # fmt: skip
    first = deploy(v1, "deploy-1")
    models.set_alias(v2, "champion")
    models.record_deployment(
        v2, target=PROD, environment="production", state="packaged", image="churn-api:1.1.0",
        image_digest=D2, flow_run_id="pack-2", flow_run_url=PREFECT + "pack-2",
    )  # fmt: skip
    deploy(v2, "deploy-2")
    staging = deploy(v2, "deploy-s1", STAGING, "staging")
    models.set_alias(v1, "champion")  # the rollback
    back = deploy(v1, "deploy-3")
    return Walk(rollback=back, first_deploy=first, staging=staging)


def deploy_xss(settings: Any, card: Any) -> Any:
    """A record whose target, image, flow-run URL and detail carry script payloads."""
    return CardRegistry(card.registry_type, settings=settings).record_deployment(
        card, target=XSS_TARGET, environment="production", state="deployed", image=XSS_IMAGE,
        flow_run_id="<b>run</b>", flow_run_url="javascript:alert(1)",
        detail={"<script>": "<script>alert(2)</script>"},
    )  # fmt: skip
