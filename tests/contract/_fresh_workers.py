"""Worker process for the fresh-database race test (importable under spawn)."""

from __future__ import annotations

from typing import Any


def register_models(
    url: str, storage: str, count: int, name: str, barrier: Any, results: Any
) -> None:
    """Train once, wait for every worker, then register ``count`` patch bumps of ``name``.

    Every outcome goes to ``results`` as ``("ok", version)`` or ``("error", text)``:
    a failure is counted, not fatal, so the test sees how many of the 80 failed.
    """
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings
    from tests.contract._helpers import model_card

    settings = OpsmlSettings(tracking_uri=url, storage_uri=storage)
    registry = CardRegistry("model", settings=settings)
    card = model_card(name=name, repository="race")  # imports and training before the start
    barrier.wait(timeout=240)
    for _ in range(count):
        try:
            card = model_card(name=name, repository="race")
            registry.register_card(card, version_type="patch")
            results.put(("ok", card.version))
        except Exception as exc:  # counted by the test
            results.put(("error", f"{type(exc).__name__}: {exc} (cause: {exc.__cause__!r})"))
