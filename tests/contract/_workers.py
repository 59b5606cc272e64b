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


def record_deployed_many(
    settings: dict[str, Any], uid: str, target: str, count: int, run: str
) -> list[int]:
    """Record ``deployed`` of the run card ``uid`` on ``target`` ``count`` times (a new
    flow run id each time); returns the ids of the records."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(**settings))
    digest = "sha256:" + uid * 2
    return [
        registry.record_deployment(
            uid, target=target, state="deployed", image_digest=digest, flow_run_id=f"{run}-{i}"
        ).id
        for i in range(count)
    ]
