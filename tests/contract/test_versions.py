"""Versioning through every backend (docs/design.md §5)."""

from __future__ import annotations

import pytest

from opsml.errors import CardNotFoundError, VersionConflictError, VersionError
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card


def _register(
    env: RegistryEnv, version: str | None = None, bump: str = "minor", name: str = "train"
) -> str:
    card = run_card(name=name, version=version)
    env.registry("run").register_card(card, version_type=bump)
    assert card.version is not None
    return card.version


def test_new_name_starts_at_1_0_0_and_bumps(registry_env: RegistryEnv) -> None:
    assert _register(registry_env) == "1.0.0"
    assert _register(registry_env, bump="minor") == "1.1.0"
    assert _register(registry_env, bump="patch") == "1.1.1"
    assert _register(registry_env, bump="major") == "2.0.0"
    assert _register(registry_env, bump="pre") == "2.1.0-rc.1"
    assert _register(registry_env, bump="pre") == "2.1.0-rc.2"
    assert _register(registry_env, bump="patch") == "2.1.0"
    assert _register(registry_env, bump="build") == "2.1.0+build.1"
    assert _register(registry_env, bump="build") == "2.1.0+build.2"
    # another name counts on its own
    assert _register(registry_env, name="other") == "1.0.0"


def test_exact_version_is_never_a_prefix_match(registry_env: RegistryEnv) -> None:
    for version in ("1.0.1", "1.0.11"):
        _register(registry_env, version=version)
    reg = registry_env.registry("run")
    assert reg.load_card(name="train", repository="ds-team", version="1.0.1").version == "1.0.1"
    assert reg.load_card(name="train", version="1.0.11").version == "1.0.11"


def test_latest_is_highest_release_by_semver(registry_env: RegistryEnv) -> None:
    for version in ("1.0.9", "1.0.11", "1.1.0-rc.1"):
        _register(registry_env, version=version)
    reg = registry_env.registry("run")
    assert reg.load_card(name="train").version == "1.0.11"
    assert reg.load_card(name="train", version="latest").version == "1.0.11"
    assert _register(registry_env, bump="patch") == "1.1.0"  # the release of the highest rc


def test_patch_after_1_0_11_is_1_0_12(registry_env: RegistryEnv) -> None:
    for version in ("1.0.9", "1.0.11", "1.0.10"):
        _register(registry_env, version=version)
    assert _register(registry_env, bump="patch") == "1.0.12"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.0", "1.0.11"),
        ("1.*", "1.2.0"),
        ("^1.1", "1.2.0"),
        ("~1.0.2", "1.0.11"),
        (">=1.0,<1.2", "1.1.3"),
        ("2", "2.0.0"),
        (">=2.1.0-rc.1", "2.1.0-rc.1"),
    ],
)
def test_spec_resolution_gives_highest_match(
    registry_env: RegistryEnv, spec: str, expected: str
) -> None:
    for version in ("1.0.1", "1.0.11", "1.1.3", "1.2.0", "2.0.0", "2.1.0-rc.1"):
        _register(registry_env, version=version)
    assert registry_env.registry("run").load_card(name="train", version=spec).version == expected


def test_only_prereleases_then_latest_falls_back(registry_env: RegistryEnv) -> None:
    _register(registry_env, bump="pre")
    assert registry_env.registry("run").load_card(name="train").version == "1.0.0-rc.1"


def test_explicit_version_conflict_and_deleted_versions_not_reused(
    registry_env: RegistryEnv,
) -> None:
    _register(registry_env, version="1.0.0")
    with pytest.raises(VersionConflictError, match="1.0.0"):
        _register(registry_env, version="1.0.0")
    reg = registry_env.registry("run")
    reg.delete_card(reg.load_card(name="train"))
    with pytest.raises(CardNotFoundError):
        reg.load_card(name="train", version="1.0.0")
    assert _register(registry_env, bump="patch") == "1.0.1"
    with pytest.raises(VersionConflictError):
        _register(registry_env, version="1.0.0")


@pytest.mark.parametrize("spec", ["abc", "1..2", ">>1", "", "1.0.0.0"])
def test_malformed_spec_is_a_clear_error(registry_env: RegistryEnv, spec: str) -> None:
    _register(registry_env)
    with pytest.raises(VersionError) as info:
        registry_env.registry("run").load_card(name="train", version=spec)
    assert repr(spec) in str(info.value) or spec in str(info.value)


def test_unknown_version_names_card(registry_env: RegistryEnv) -> None:
    _register(registry_env)
    with pytest.raises(CardNotFoundError, match="train"):
        registry_env.registry("run").load_card(name="train", version="9.9.9")


def test_bumps_read_every_version_of_the_highest_triple(registry_env: RegistryEnv) -> None:
    """More versions share the highest triple than the backend reads from the top at once
    (``TOP_ROWS``), the highest of them stored first: the bump still sees them all."""
    from opsml.backends.sql._rows import TOP_ROWS

    highest = TOP_ROWS + 7
    for n in [highest, *range(1, highest)]:  # the highest is the oldest row
        _register(registry_env, version=f"3.0.0-rc.{n}")
    assert _register(registry_env, bump="pre") == f"3.0.0-rc.{TOP_ROWS + 8}"
    assert _register(registry_env, bump="build") == f"3.0.0-rc.{TOP_ROWS + 8}+build.1"
    assert _register(registry_env, bump="patch") == "3.0.0"
