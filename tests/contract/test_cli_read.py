"""Issue 11 items 12 and 16: the read commands (`cards list`, `cards show`) on every mode.

Reads never create a registry (no folder, no database, no table); an empty result
names the registry it searched (without credentials); `cards show` prints one card's
metadata, files with sizes and digests, signature, metrics and lineage, or JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsml import configure
from opsml.cli import app
from opsml.config import describe_location
from tests.conftest import RegistryEnv
from tests.contract._helpers import model_card, run_card

runner = CliRunner()


@pytest.fixture
def cli_env(registry_env: RegistryEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryEnv]:
    """The CLI configured for the test's registry, as a user's environment would be."""
    for key in [k for k in os.environ if k.startswith("OPSML_")]:
        monkeypatch.delenv(key)
    settings = registry_env.settings
    configure(tracking_uri=settings.tracking_uri, storage_uri=settings.storage_uri)
    yield registry_env
    configure()


def _invoke(*args: str, columns: int = 200) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def test_item_12_empty_result_names_the_registry(cli_env: RegistryEnv) -> None:
    cli_env.registry("model").register_card(model_card())  # the registry exists, no run card
    before = cli_env.snapshot()
    where = describe_location(cli_env.settings.resolved_tracking_uri())
    code, out, err = _invoke("cards", "list", "--registry", "run")
    assert code == 0, err
    assert where in out and "run cards (0)" in out
    assert f"no run cards found in {where}" in err
    code, out, err = _invoke("cards", "list", "--registry", "data", "--json")
    assert code == 0 and json.loads(out) == []
    assert where in err
    assert cli_env.snapshot() == before


def test_item_16_cards_show_metadata_files_signature_metrics_lineage(cli_env: RegistryEnv) -> None:
    run = run_card()
    run.log_metric("accuracy", 0.91)
    run.log_metric("accuracy", 0.95, step=2)
    run.log_params(c=1.0)
    cli_env.registry("run").register_card(run)
    card = model_card(tags={"team": "ds"}, runcard_uid=run.uid)
    cli_env.registry("model").register_card(card)

    code, out, err = _invoke("cards", "show", "--name", "churn", "--repository", "ds-team")
    assert code == 0, err
    assert f"model card ds-team/churn v{card.version}" in out
    assert card.uid is not None and card.uid in out and "team=ds" in out
    public = cli_env.registry("model").backend.get_card("model", uid=card.uid)
    for file in public.files:
        assert file.path in out and str(file.size) in out and file.sha256 in out
    assert "sepal length (cm)" in out and "sklearn" in out
    assert "runcard_uid" in out and run.uid in out  # lineage

    code, out, err = _invoke("cards", "show", "--registry", "run", run.uid or "", "--json")
    assert code == 0, err
    view = json.loads(out)
    assert view["uid"] == run.uid and view["registry"] == "run"
    assert [p["value"] for p in view["metrics"]["accuracy"]] == [0.91, 0.95]
    assert view["params"] == {"c": 1.0}
    code, out, err = _invoke("cards", "show", card.uid, "--json")
    view = json.loads(out)
    assert view["files"] == [f.model_dump() for f in public.files]
    assert view["signature"]["input"]["kind"] == "pandas"
    assert view["lineage"] == {"runcard_uid": run.uid}


def test_item_16_cards_show_errors_are_one_line(cli_env: RegistryEnv) -> None:
    cli_env.registry("model").register_card(model_card())
    code, _, err = _invoke("cards", "show", "--name", "ghost")
    assert code == 1 and "ghost" in err and "Traceback" not in err
    code, _, err = _invoke("cards", "show")
    assert code == 1 and "uid or --name" in err
    code, _, err = _invoke("cards", "show", "--registry", "nope", "--name", "x")
    assert code == 1 and "unknown registry type" in err


@pytest.mark.parametrize("columns", [140, 100])
def test_item_16_cards_list_keeps_the_uid_whole(cli_env: RegistryEnv, columns: int) -> None:
    card = model_card(tags={"team": "ds", "purpose": "a rather long tag value to squeeze"})
    cli_env.registry("model").register_card(card)
    code, out, err = _invoke("cards", "list", columns=columns)
    assert code == 0, err
    assert card.uid is not None and card.uid in out
    assert max(len(line) for line in out.splitlines()) <= columns


def test_item_12_missing_sqlite_file_is_an_error_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    monkeypatch.setenv("OPSML_TRACKING_URI", f"sqlite:///{target.as_posix()}")
    configure()
    try:
        for args in (["cards", "list"], ["cards", "show", "--name", "churn"]):
            code, _out, err = _invoke(*args)
            assert code == 1
            assert f"no registry at sqlite:///{target.as_posix()}" in err
            assert "Traceback" not in err
        assert list(tmp_path.iterdir()) == []
    finally:
        configure()


def test_item_12_empty_folder_stays_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("OPSML_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    configure()
    try:
        code, out, err = _invoke("cards", "list")
        assert code == 0, err
        where = f"sqlite:///{(tmp_path / 'opsml_registry' / 'registry.db').as_posix()}"
        assert where in out and "no registry there yet" in err
        code, _, err = _invoke("cards", "show", "--name", "churn")
        assert code == 1 and "no registry there yet" in err
        assert list(tmp_path.iterdir()) == []
    finally:
        configure()


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_item_12_database_without_tables_gets_none(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import ExitStack

    from sqlalchemy import create_engine, inspect

    from opsml_testing.databases import scratch_database

    with ExitStack() as stack:
        if kind == "sqlite":
            (tmp_path / "empty.db").touch()
            url = f"sqlite:///{(tmp_path / 'empty.db').as_posix()}"
        else:
            url = stack.enter_context(scratch_database(kind))
        monkeypatch.setenv("OPSML_TRACKING_URI", url)
        monkeypatch.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
        configure()
        stack.callback(configure)
        code, _out, err = _invoke("cards", "list", "--registry", "pipeline")
        assert code == 0, err
        assert "no pipeline cards found" in err and "no registry there yet" in err
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert inspect(conn).get_table_names() == []
        finally:
            engine.dispose()
        assert not (tmp_path / "artifacts").exists()
