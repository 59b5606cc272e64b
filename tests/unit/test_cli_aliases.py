"""``opsml cards alias set|delete|list`` and ``opsml models pull --alias`` (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsml import CardRegistry
from opsml.cli import app
from tests.contract._helpers import model_card

runner = CliRunner()
CARD = ["--name", "churn", "--repository", "ds-team"]


def test_alias_set_list_pull_delete(embedded: Path) -> None:
    registry = CardRegistry("model")
    registry.register_card(model_card())
    registry.register_card(model_card(), version_type="patch")

    result = runner.invoke(app, ["cards", "alias", "set", "champion", *CARD, "--version", "1.0.0"])
    assert result.exit_code == 0, result.output
    assert "-> v1.0.0" in result.output
    listed = runner.invoke(app, ["cards", "alias", "list", *CARD, "--json"])
    assert json.loads(listed.output) == {"champion": "1.0.0"}

    out = embedded / "pulled"
    pulled = runner.invoke(
        app, ["models", "pull", *CARD, "--alias", "champion", "--out", str(out), "--quiet"]
    )
    assert pulled.exit_code == 0, pulled.output
    assert '"version": "1.0.0"' in (out / "card.json").read_text()

    both = runner.invoke(
        app,
        ["models", "pull", *CARD, "--alias", "champion", "--version", "1.0.1", "--out", "x"],
    )
    assert both.exit_code == 1 and "not both" in both.output

    moved = runner.invoke(app, ["cards", "alias", "set", "champion", *CARD])  # latest
    assert moved.exit_code == 0 and "-> v1.0.1" in moved.output

    deleted = runner.invoke(app, ["cards", "alias", "delete", "champion", *CARD])
    assert deleted.exit_code == 0, deleted.output
    empty = runner.invoke(app, ["cards", "alias", "list", *CARD])
    assert empty.exit_code == 0 and "has no aliases" in empty.output


def test_bad_alias_is_one_line_error(embedded: Path) -> None:
    CardRegistry("model").register_card(model_card())
    result = runner.invoke(app, ["cards", "alias", "set", "Champion", *CARD])
    assert result.exit_code == 1
    assert "not a valid alias" in result.output
    assert "Traceback" not in result.output


def test_alias_commands_take_a_name_alone_when_one_repository_holds_it(embedded: Path) -> None:
    registry = CardRegistry("model")
    registry.register_card(model_card())
    name = ["--name", "churn"]
    moved = runner.invoke(app, ["cards", "alias", "set", "champion", *name])
    assert moved.exit_code == 0, moved.output
    assert "model card ds-team/churn -> v1.0.0" in moved.output
    listed = runner.invoke(app, ["cards", "alias", "list", *name, "--json"])
    assert json.loads(listed.output) == {"champion": "1.0.0"}
    out = embedded / "pulled"
    pulled = runner.invoke(
        app, ["models", "pull", *name, "--alias", "champion", "--out", str(out), "--quiet"]
    )
    assert pulled.exit_code == 0, pulled.output
    registry.register_card(model_card(repository="vision"))
    refused = runner.invoke(app, ["cards", "alias", "delete", "champion", *name])
    assert refused.exit_code == 1
    assert "several repositories (ds-team, vision): pass repository=" in refused.output
    deleted = runner.invoke(app, ["cards", "alias", "delete", "champion", *CARD])
    assert deleted.exit_code == 0, deleted.output
