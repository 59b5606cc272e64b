"""``flows/promote.py`` in request mode (issue 33 item 4): staging → a production server where
``champion`` is protected; the flow copies the card, asks for the move as a writer, shows the
request as an artifact, waits; an approver approves; the alias moves and the run finishes.
A rejection fails the run with the approver's comment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry
from opsml.backends.http import HttpBackend
from opsml.errors import ApprovalStateError
from opsml.schemas_approvals import ApprovalDecision, ApprovalQuery
from opsml_testing.live_server import LiveServer, running_server
from tests._live_server import PROD_TOKEN
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user


@pytest.fixture(scope="module")
def protected_prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"APP_ENV": "production", "OPSML_PROD_TOKEN": PROD_TOKEN,
           "OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1],
           "OPSML_PROTECTED_ALIASES": "champion"}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("protected-prod"), env=env) as server:
        add_user(server, "ci-writer", [{"role": "writer", "repository": "ds"}])
        add_user(server, "release-approver", [{"role": "approver", "repository": "ds"}])
        yield server


def _decide_soon(server: LiveServer, verb: str, comment: str) -> threading.Thread:
    def decide() -> None:
        approver = HttpBackend(server.url, username="release-approver", password=PASSWORD,
                               prod_token=PROD_TOKEN)  # fmt: skip
        try:
            for _ in range(600):
                pending = approver.list_approvals(ApprovalQuery(state="pending")).items
                if pending:
                    getattr(approver, verb)(pending[0].id, ApprovalDecision(comment=comment))
                    return
                time.sleep(0.05)
        finally:
            approver.close()

    thread = threading.Thread(target=decide)
    thread.start()
    return thread


def _model_card(version: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    from opsml import ModelCard

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1 * version]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    return ModelCard(name="promo", repository="ds", contact="ds@x.com", model=model,
                     sample_input=x[:2])  # fmt: skip


def test_request_mode_waits_for_the_approver(
    tmp_path: Path, staging_server: LiveServer, protected_prod: LiveServer, prefect_api: str
) -> None:
    from prefect.artifacts import Artifact

    from flows.promote import promote
    from opsml_prefect import OpsmlCredentials

    staging = CardRegistry("model", tracking_uri=staging_server.url)
    source = OpsmlCredentials(tracking_uri=staging_server.url)
    target = OpsmlCredentials(tracking_uri=protected_prod.url, username="ci-writer",
                              password=PASSWORD, prod_token=PROD_TOKEN)  # fmt: skip
    prod = CardRegistry("model", tracking_uri=protected_prod.url, username=ROOT[0],
                        password=ROOT[1])  # fmt: skip

    card = staging.register_card(_model_card(1))
    staging.set_alias(card, "champion")  # staging does not protect it
    approver = _decide_soon(protected_prod, "approve", "release checked")
    out = promote(name="promo", repository="ds", source=source, target=target, request=True,
                  reason="staging champion", poll_interval=0.1, wait_timeout=120)  # fmt: skip
    approver.join()
    assert out["version"] == card.version and out["approved_by"] == "release-approver"
    assert prod.list_aliases(name="promo", repository="ds") == {"champion": card.version}
    done = prod.get_approval(out["approval"])
    assert (done.requested_by, done.reason) == ("ci-writer", "staging champion")
    artifact = Artifact.get("opsml-approval")
    assert artifact is not None and f"#{done.id}" in str(artifact.data)
    assert f"{protected_prod.url}/api/v1/approvals/{done.id}" in str(artifact.data)

    newer = staging.register_card(_model_card(2))
    staging.set_alias(newer, "champion")
    rejecter = _decide_soon(protected_prod, "reject", "holdout too small")
    with pytest.raises(ApprovalStateError, match="rejected by release-approver: holdout too small"):
        promote(name="promo", repository="ds", source=source, target=target, request=True,
                poll_interval=0.1, wait_timeout=120)  # fmt: skip
    rejecter.join()
    assert prod.list_aliases(name="promo", repository="ds") == {"champion": card.version}


def test_the_commented_prefect_yaml_example_is_a_valid_deployment() -> None:
    import inspect

    import yaml
    from prefect.cli.deploy._models import PrefectYamlModel

    from flows.promote import promote

    root = Path(__file__).resolve().parents[2]
    text = (root / "deployments" / "prefect.yaml").read_text()
    block = text[text.index("  # - name: iris-classifier-promote") :]
    lines = [line.replace("  # ", "  ", 1) for line in block.splitlines() if line.startswith("  #")]
    raw = yaml.safe_load(text + "\n" + "\n".join(lines) + "\n")
    by_name = {d.name: d for d in PrefectYamlModel.model_validate(raw).deployments}
    example = by_name["iris-classifier-promote"]
    assert example.entrypoint == "flows/promote.py:promote"
    assert example.parameters["request"] is True
    assert set(example.parameters) <= set(inspect.signature(promote.fn).parameters)
