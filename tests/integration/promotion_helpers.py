"""What the promotion tests share: the production token of their target and a server snapshot."""

from __future__ import annotations

from typing import Any

from tests._live_server import LiveServer
from tests.conftest import RegistryEnv

PROD_TOKEN = "prod-token-promotion-0123456789"
"""The production token of the ``prod_server`` fixture (tests/integration/conftest.py)."""


def server_snapshot(server: LiveServer) -> Any:
    """Every card row and stored file of a live server: to check that nothing changed."""
    from opsml.config import OpsmlSettings

    return RegistryEnv(
        "http", OpsmlSettings(tracking_uri=server.url), server.db_url, server.storage_root
    ).snapshot()
