"""Versions the database columns cannot hold are refused by the version rules (issue 11).

Every version number is stored in a signed 64-bit column and every version
string in a 128-character column (``opsml/backends/sql/tables.py``). A version
outside those bounds must get the same clear ``VersionError`` on every mode
(400 through the server), and leave the registry exactly as it was.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from opsml import versioning
from opsml.errors import VersionError
from opsml.schemas import CardCreate
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card

TOO_BIG = "9223372036854775808.0.0"  # 2**63: one above the largest BIGINT
WAY_TOO_BIG = "1.99999999999999999999.0"
LARGEST = "9223372036854775807.0.0"  # 2**63 - 1 fits
TOO_LONG_PRE = "1.0.0-" + "a" * 123  # 129 characters
TOO_LONG_BUILD = "1.0.0+" + "b" * 200


def _expected_message(version: str) -> str:
    with pytest.raises(VersionError) as info:
        versioning.parse_version(version)
    return str(info.value)


def _register_unchecked(env: RegistryEnv, version: str) -> None:
    """Register a run card whose version skipped the card's own validation."""
    card = run_card().model_copy(update={"version": version})
    env.registry("run").register_card(card)


def _post_to_server(env: RegistryEnv, version: str) -> httpx.Response:
    """The raw registration request a client of the server would send."""
    server: Any = env.extra["server"]
    card = CardCreate(
        registry="run", name="train", repository="ds-team", contact="ds@example.com"
    ).model_copy(update={"version": version})
    return httpx.post(
        f"{server.url}/api/v1/cards/run", data={"card": card.model_dump_json()}, timeout=30
    )


def _check_refused_everywhere(env: RegistryEnv, version: str, needle: str) -> None:
    env.registry("run").register_card(run_card())
    before = env.snapshot()
    expected = _expected_message(version)
    assert needle in expected
    with pytest.raises(VersionError) as info:
        _register_unchecked(env, version)
    assert str(info.value) == expected
    with pytest.raises(VersionError) as info:
        env.registry("run").load_card(name="train", version=version)
    assert str(info.value) == expected
    if "server" in env.extra:
        response = _post_to_server(env, version)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == {"code": "invalid_version", "message": expected}
    assert env.snapshot() == before


@pytest.mark.parametrize("version", [TOO_BIG, WAY_TOO_BIG])
def test_item_3_version_component_overflow(registry_env: RegistryEnv, version: str) -> None:
    _check_refused_everywhere(registry_env, version, "9223372036854775807")


def test_item_3_largest_version_number_fits(registry_env: RegistryEnv) -> None:
    card = run_card(version=LARGEST)
    registry_env.registry("run").register_card(card)
    loaded = registry_env.registry("run").load_card(name="train")
    assert loaded.version == LARGEST


def test_item_3_bump_overflow_is_a_clear_error(registry_env: RegistryEnv) -> None:
    runs = registry_env.registry("run")
    runs.register_card(run_card(version=LARGEST))
    before = registry_env.snapshot()
    with pytest.raises(VersionError) as info:
        runs.register_card(run_card(), version_type="major")
    message = str(info.value)
    assert "'major'" in message and LARGEST in message and "9223372036854775807" in message
    assert registry_env.snapshot() == before
    # the other bumps still have room
    minor = run_card()
    runs.register_card(minor, version_type="minor")
    assert minor.version == "9223372036854775807.1.0"


@pytest.mark.parametrize("version", [TOO_LONG_PRE, TOO_LONG_BUILD])
def test_item_4_version_longer_than_column(registry_env: RegistryEnv, version: str) -> None:
    _check_refused_everywhere(registry_env, version, "128 characters")


def test_item_4_longest_version_fits(registry_env: RegistryEnv) -> None:
    longest = "1.0.0-" + "a" * 122
    assert len(longest) == versioning.MAX_VERSION_LENGTH
    card = run_card(version=longest)
    registry_env.registry("run").register_card(card)
    assert registry_env.registry("run").load_card(name="train", version=longest).uid == card.uid
