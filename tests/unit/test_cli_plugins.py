"""Issue 10: commands of other packages arrive through the ``opsml.cli`` entry point group."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from typing import get_args

import pytest
import typer
from typer.testing import CliRunner

from opsml._cli import plugins
from opsml.cli import app
from opsml.schemas import REGISTRY_TYPES, RegistryType

runner = CliRunner()


def hello(who: str = typer.Option("world", help="Whom to greet.")) -> None:
    """Say hello (a plugin command given as a plain function)."""
    typer.echo(f"hello {who}")


def test_item_10_opsml_help_lists_server() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for command in ("cards", "models", "db", "server"):
        assert command in result.output
    assert "Run the OpsML registry server" in result.output


def test_item_10_core_imports_nothing_from_server_or_prefect() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from opsml.cli import app\n"
        "for args in (['cards', 'list', '--help'], ['db', 'upgrade', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opsml_server', 'opsml_prefect'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_item_10_every_server_cli_command_is_attached() -> None:
    import opsml_server.cli as server_cli

    registered = {
        ep.attr for ep in plugins.plugin_entry_points().values() if ep.module == "opsml_server.cli"
    }
    typers = {name for name, obj in vars(server_cli).items() if isinstance(obj, typer.Typer)}
    assert typers, "opsml_server.cli defines no Typer app"
    missing = typers - registered
    assert not missing, f"add these to [project.entry-points.'opsml.cli']: {missing}"
    for name in plugins.plugin_entry_points():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_item_10_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        if name in ("fastapi", "uvicorn"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(plugins.importlib.metadata, "version", version)
    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "160"})
    assert listing.exit_code == 0 and "server" in listing.output
    result = runner.invoke(app, ["server", "start", "--port", "1"])
    assert result.exit_code == 1
    assert "pip install 'opsml-prefect[server]'" in result.output
    assert "fastapi" in result.output and "Traceback" not in result.output


def test_item_10_a_function_plugin_is_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = importlib.metadata.EntryPoint(
        "hello", "tests.unit.test_cli_plugins:hello", plugins.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(plugins, "plugin_entry_points", lambda: {"hello": entry})
    assert "hello" in runner.invoke(app, ["--help"], env={"COLUMNS": "120"}).output
    result = runner.invoke(app, ["hello", "--who", "ui"])
    assert result.exit_code == 0 and result.output.strip() == "hello ui"


def test_item_10_card_kinds_are_listed_once() -> None:
    from opsml.cards import CARD_TYPES

    assert REGISTRY_TYPES == get_args(RegistryType) == ("data", "model", "run", "pipeline")
    assert tuple(CARD_TYPES) == REGISTRY_TYPES
    result = runner.invoke(app, ["cards", "list", "--help"], env={"COLUMNS": "200"})
    assert ", ".join(REGISTRY_TYPES) in result.output
