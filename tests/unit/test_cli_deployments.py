"""``opsml deployments record|list|current`` (issue 29), on an embedded registry."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsml import CardRegistry
from opsml.cli import app
from tests.contract._helpers import run_card

runner = CliRunner()
CARD = ["--registry", "run", "--name", "train", "--repository", "ds-team"]
TARGET = ["--target", "k8s/ml-prod/train-api"]
DIGEST = "sha256:" + "ab" * 32


def test_record_current_list_and_rollback(embedded: Path) -> None:
    registry = CardRegistry("run")
    first = registry.register_card(run_card())
    registry.register_card(run_card())
    registry.set_alias(first, "champion")
    recorded = runner.invoke(
        app,
        ["deployments", "record", *CARD, *TARGET, "--alias", "champion", "--state", "deployed",
         "--image", "train:1.0.0", "--image-digest", DIGEST, "--detail", '{"replicas": 2}'],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert "deployed ds-team/train v1.0.0 on development/k8s/ml-prod/train-api" in recorded.output
    current = runner.invoke(app, ["deployments", "current", *TARGET, "--registry", "run"])
    assert current.exit_code == 0, current.output
    assert "v1.0.0" in current.output and DIGEST in current.output
    second = runner.invoke(
        app, ["deployments", "record", *CARD, *TARGET, "--version", "1.1.0", "--state", "deployed"]
    )
    assert second.exit_code == 0, second.output
    listed = runner.invoke(app, ["deployments", "list", "--registry", "run", "--json"])
    page = json.loads(listed.output)
    assert [(r["version"], r["state"]) for r in page["items"]] == [
        ("1.1.0", "deployed"),
        ("1.0.0", "retired"),
        ("1.0.0", "deployed"),
    ]
    back = runner.invoke(
        app, ["deployments", "record", *CARD, *TARGET, "--alias", "champion", "--state", "deployed"]
    )  # champion still on 1.0.0: the rollback reuses its image
    assert back.exit_code == 0 and DIGEST in back.output, back.output
    now = runner.invoke(app, ["deployments", "current", *TARGET, "--registry", "run", "--json"])
    assert json.loads(now.output)["version"] == "1.0.0"


def test_bad_input_and_nothing_deployed_exit_1(embedded: Path) -> None:
    CardRegistry("run").register_card(run_card())
    nothing = runner.invoke(app, ["deployments", "current", *TARGET, "--registry", "run"])
    assert nothing.exit_code == 1 and "nothing is deployed on k8s/ml-prod/train-api" in (
        nothing.output
    )
    for args, message in (
        (["--state", "running"], "state"),
        (["--state", "deployed", "--image-digest", "sha256:12"], "image_digest"),
        (["--state", "deployed", "--detail", "[1]"], "--detail must be a JSON object"),
    ):
        bad = runner.invoke(app, ["deployments", "record", *CARD, *TARGET, *args])
        assert bad.exit_code == 1 and message in bad.output, bad.output
    blank = runner.invoke(
        app, ["deployments", "record", *CARD, "--target", "  ", "--state", "deployed"]
    )
    assert blank.exit_code == 1 and "target must not be empty" in blank.output
    assert CardRegistry("run").list_deployments().items == []
