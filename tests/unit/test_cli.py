"""The ``opsml`` command on an embedded registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsml import CardRegistry
from opsml.backends.sql.migrate import head_revision
from opsml.cli import app
from tests.contract._helpers import model_card

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [[], ["cards"], ["cards", "list"], ["models", "pull"], ["db", "upgrade"], ["server", "start"]],
)
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_db_upgrade_creates_schema(embedded: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    assert (embedded / "reg.db").exists()


def test_list_and_pull(embedded: Path) -> None:
    registry = CardRegistry("model")
    registry.register_card(model_card(tags={"team": "ds"}))
    registry.register_card(model_card(), version_type="patch")

    result = runner.invoke(app, ["cards", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["version"] for r in rows] == ["1.0.1", "1.0.0"]
    assert rows[1]["tags"] == {"team": "ds"}

    table = runner.invoke(app, ["cards", "list", "--version", "1.0.0"])
    assert table.exit_code == 0 and "1.0.0" in table.output and "1.0.1" not in table.output

    out = embedded / "pulled"
    result = runner.invoke(
        app,
        [
            "models",
            "pull",
            "--name",
            "churn",
            "--repository",
            "ds-team",
            "--version",
            "1.0.0",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "digests verified" in result.output
    assert (out / "model" / "model.skops").is_file()
    assert json.loads((out / "card.json").read_text())["version"] == "1.0.0"


def test_errors_are_one_line_and_exit_1(embedded: Path) -> None:
    result = runner.invoke(app, ["models", "pull", "--name", "ghost", "--out", "x"])
    assert result.exit_code == 1
    assert "no model card ghost" in result.output
    result = runner.invoke(app, ["cards", "list", "--registry", "nope"])
    assert result.exit_code == 1 and "unknown registry type" in result.output
    result = runner.invoke(app, ["cards", "list", "--version", "1..2"])
    assert result.exit_code == 1 and "1..2" in result.output
    result = runner.invoke(app, ["cards", "list", "--tag", "novalue"])
    assert result.exit_code == 1 and "key=value" in result.output


def test_item_13_models_pull_refuses_non_empty_out_unless_force(embedded: Path) -> None:
    CardRegistry("model").register_card(model_card())
    out = embedded / "pulled"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = ["models", "pull", "--name", "churn", "--out", str(out), "--quiet"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output
    assert "Traceback" not in refused.output
    assert (out / "notes.txt").read_text() == "keep me"
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert not (out / "notes.txt").exists() and (out / "card.json").is_file()


def test_item_13_models_pull_out_naming_a_file_is_one_line(embedded: Path) -> None:
    CardRegistry("model").register_card(model_card())
    target = embedded / "model.bin"
    target.write_text("x")
    result = runner.invoke(app, ["models", "pull", "--name", "churn", "--out", str(target)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "is a file" in result.output


def test_item_1_models_pull_writes_ordinary_permissions(embedded: Path) -> None:
    import os
    import stat

    CardRegistry("model").register_card(model_card())
    out = embedded / "pulled"
    old = os.umask(0o022)
    try:
        result = runner.invoke(app, ["models", "pull", "--name", "churn", "--out", str(out), "-q"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o644}, modes
