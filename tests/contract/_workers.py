"""Worker process for the concurrent-registration test (importable under spawn)."""

from __future__ import annotations

from typing import Any


def register_many(settings: dict[str, Any], count: int, name: str) -> list[str]:
    from opsml import CardRegistry, RunCard
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(**settings))
    versions = []
    for i in range(count):
        card = RunCard(name=name, repository="load", contact="w@example.com", git_commit=None)
        card.log_metric("i", i)
        registry.register_card(card, version_type="patch")
        assert card.version is not None
        versions.append(card.version)
    return versions


def move_alias_many(settings: dict[str, Any], uid: str, alias: str, count: int) -> int:
    """Move ``alias`` to the run card ``uid`` ``count`` times; returns the moves made."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(**settings))
    card = registry.load_card(uid=uid)
    for _ in range(count):
        registry.set_alias(card, alias)
    return count
