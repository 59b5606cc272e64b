"""Moving or deleting an alias is a write: the production token in production (design §12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsml.backends.http import HttpBackend
from opsml.errors import PermissionDeniedError
from opsml.schemas import CardCreate
from opsml_testing.live_server import LiveServer
from tests._live_server import PROD_TOKEN


def test_alias_moves_need_the_production_token(prod_server: LiveServer, tmp_path: Path) -> None:
    writer = HttpBackend(prod_server.url, prod_token=PROD_TOKEN)
    reader = HttpBackend(prod_server.url)
    wrong = HttpBackend(prod_server.url, prod_token="wrong-token-0123456789")
    try:
        card = CardCreate(registry="model", name="gate", repository="ds", contact="me")
        first = writer.register_card(card, tmp_path)
        second = writer.register_card(card, tmp_path)
        writer.set_alias("model", first.uid, "champion")
        for backend in (reader, wrong):
            with pytest.raises(PermissionDeniedError, match="production token"):
                backend.set_alias("model", second.uid, "champion")
            with pytest.raises(PermissionDeniedError, match="production token"):
                backend.delete_alias("model", "gate", "ds", "champion")
        # reads need no token, and nothing moved
        assert [a.version for a in reader.list_aliases("model", "gate", "ds")] == [first.version]
        found = reader.get_card("model", name="gate", repository="ds", alias="champion")
        assert found.uid == first.uid
        writer.set_alias("model", second.uid, "champion")
        found = reader.get_card("model", name="gate", repository="ds", alias="champion")
        assert found.uid == second.uid
        writer.delete_alias("model", "gate", "ds", "champion")
        assert reader.list_aliases("model", "gate", "ds") == []
    finally:
        for backend in (writer, reader, wrong):
            backend.close()
