"""Issue 10: one settings family for the client, the server and the Prefect block."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import SecretStr

from opsml import configure
from opsml.backends import _SCHEMES, HTTP, SQL, backend_for, get_backend
from opsml.config import (
    CONNECTION_FIELDS,
    OpsmlSettings,
    RegistryConnection,
    RegistrySettings,
    default_storage_uri,
    redact_uri,
)
from opsml.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
ENV_VARS = ("OPSML_TRACKING_URI", "OPSML_STORAGE_URI", "OPSML_USERNAME", "OPSML_PASSWORD")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (*ENV_VARS, "OPSML_PROD_TOKEN", "APP_ENV", "OPSML_APP_ENV", "OPSML_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)


def _server_settings(**kwargs: object) -> RegistrySettings:
    from opsml_server.settings import ServerSettings

    return ServerSettings(**kwargs)  # type: ignore[arg-type]


def test_item_10_connection_fields_are_defined_once() -> None:
    from opsml_server.settings import ServerSettings

    from opsml_prefect.credentials import OpsmlCredentials

    assert CONNECTION_FIELDS == ("tracking_uri", "username", "password", "token", "prod_token")
    for cls in (OpsmlSettings, ServerSettings, OpsmlCredentials):
        assert issubclass(cls, RegistryConnection)
        for name in CONNECTION_FIELDS:
            assert cls.model_fields[name].description == (
                RegistryConnection.model_fields[name].description
            )
    assert issubclass(ServerSettings, RegistrySettings)


@pytest.mark.parametrize(
    ("tracking_uri", "expected"),
    [
        (None, "opsml_registry/artifacts"),
        ("sqlite:////data/reg/registry.db", "/data/reg/artifacts"),
        ("sqlite:///rel/registry.db", "rel/artifacts"),
        ("sqlite:///:memory:", "opsml_registry/artifacts"),
        ("postgresql+psycopg://u:p@db/opsml", "opsml_registry/artifacts"),
    ],
)
def test_item_10_one_rule_for_the_default_storage(
    clean_env: None, tracking_uri: str | None, expected: str
) -> None:
    assert default_storage_uri(tracking_uri) == expected
    client = OpsmlSettings(tracking_uri=tracking_uri)
    server = _server_settings(tracking_uri=tracking_uri)
    assert client.storage_uri == server.storage_uri == expected
    assert client.resolved_storage_uri() == expected


def test_item_10_every_design_variable_reaches_client_server_and_block(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsml_prefect.credentials import OpsmlCredentials

    token = "p" * 20
    env = {
        "OPSML_TRACKING_URI": "sqlite:////srv/opsml/registry.db",
        "OPSML_STORAGE_URI": "s3://bucket/prefix",
        "OPSML_USERNAME": "ds",
        "OPSML_PASSWORD": "pw",
        "APP_ENV": "production",
        "OPSML_PROD_TOKEN": token,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    server = _server_settings()
    for settings in (OpsmlSettings(), server, OpsmlCredentials().get_settings()):
        assert settings.tracking_uri == env["OPSML_TRACKING_URI"]
        assert settings.storage_uri == env["OPSML_STORAGE_URI"]
        assert settings.username == "ds"
        assert settings.password == SecretStr("pw")
        assert settings.app_env == "production"
        assert settings.prod_token == SecretStr(token)
    assert server.database_url == env["OPSML_TRACKING_URI"]  # type: ignore[attr-defined]
    assert server.auth_enabled and server.write_token_required  # type: ignore[attr-defined]


def test_item_10_server_database_aliases_still_work(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _server_settings().database_url == "sqlite:///opsml_registry/registry.db"  # type: ignore[attr-defined]
    monkeypatch.setenv("OPSML_DATABASE_URL", "sqlite:////a/x.db")
    assert _server_settings().database_url == "sqlite:////a/x.db"  # type: ignore[attr-defined]
    monkeypatch.setenv("OPSML_TRACKING_URI", "sqlite:////b/y.db")
    server = _server_settings()
    assert server.database_url == "sqlite:////b/y.db"  # type: ignore[attr-defined]
    assert server.storage_uri == "/b/artifacts"
    argument = _server_settings(database_url="sqlite:////c/z.db")
    assert argument.database_url == "sqlite:////c/z.db"  # type: ignore[attr-defined]


def test_item_10_block_with_empty_fields_lets_the_environment_decide(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsml_prefect.credentials import OpsmlCredentials

    monkeypatch.setenv("OPSML_TRACKING_URI", "http://env-registry:8080")
    assert OpsmlCredentials().get_settings().tracking_uri == "http://env-registry:8080"
    block = OpsmlCredentials(tracking_uri="https://block:8443", username="u", password="p")
    settings = block.get_settings()
    assert settings.tracking_uri == "https://block:8443"
    assert backend_for(settings.resolved_tracking_uri()) is HTTP


def test_item_10_scheme_table_maps_each_scheme_to_its_builder() -> None:
    assert {kind.name for kind in _SCHEMES.values()} == {"http", "sql"}
    assert backend_for("https://r") is HTTP and backend_for("mysql+pymysql://u@h/d") is SQL
    assert backend_for("SQLITE:///x.db") is SQL
    with pytest.raises(ConfigurationError) as info:
        backend_for("ftp://host/x")
    for scheme in _SCHEMES:
        assert scheme in info.value.message
    assert "'ftp'" in info.value.message


def test_item_10_configure_closes_the_shared_backends(clean_env: None, tmp_path: Path) -> None:
    configure(tracking_uri=f"sqlite:///{tmp_path / 'a.db'}")
    try:
        first = get_backend()
        closed: list[bool] = []
        first.close = lambda: closed.append(True)  # type: ignore[method-assign]
        configure(tracking_uri=f"sqlite:///{tmp_path / 'b.db'}")
        assert closed == [True]
        assert get_backend() is not first
    finally:
        configure()


def test_item_10_config_imports_no_backend() -> None:
    tree = ast.parse((ROOT / "opsml" / "config.py").read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("opsml.backends")]
    assert "backend_kind" not in (ROOT / "opsml" / "config.py").read_text()


def test_item_10_settings_never_show_credentials(clean_env: None) -> None:
    url = "postgresql+psycopg://opsml:hunter22@db:5432/opsml?password=hunter22"
    for settings in (
        OpsmlSettings(tracking_uri=url, password="hunter22"),
        _server_settings(tracking_uri=url, username="u", password="hunter22"),
    ):
        assert "hunter22" not in repr(settings)
    assert redact_uri(url) == "postgresql+psycopg://opsml:***@db:5432/opsml?password=***"
    with pytest.raises(ValueError) as info:
        _server_settings(tracking_uri=url, username="u")
    assert "hunter22" not in str(info.value)
