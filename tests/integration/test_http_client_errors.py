"""The HTTP client's errors name the real problem with OPSML_TRACKING_URI (issue 11, item 14)."""

from __future__ import annotations

import pytest

from opsml import CardRegistry, OpsmlError
from opsml.config import OpsmlSettings
from opsml.errors import BackendUnavailableError
from opsml_testing.live_server import LiveServer


def _list(uri: str) -> None:
    settings = OpsmlSettings(tracking_uri=uri)
    CardRegistry("run", settings=settings).list_cards()


def test_item_14_api_path_in_the_tracking_uri_says_use_the_server_root(
    live_server: LiveServer,
) -> None:
    for suffix in ("/api/v1", "/api/v1/", "/registry"):
        with pytest.raises(OpsmlError) as info:
            _list(live_server.url + suffix)
        message = str(info.value)
        assert "root" in message and "OPSML_TRACKING_URI" in message, message
        assert message != "Not Found"


def test_item_14_https_against_plain_http_says_tls_handshake_failed(
    live_server: LiveServer,
) -> None:
    uri = live_server.url.replace("http://", "https://")
    with pytest.raises(BackendUnavailableError) as info:
        _list(uri)
    message = str(info.value)
    assert "TLS handshake failed" in message, message
    assert "connection refused" not in message


def test_item_14_unknown_host_says_name_not_resolved() -> None:
    with pytest.raises(BackendUnavailableError) as info:
        _list("http://no-such-registry.invalid:8080")
    message = str(info.value)
    assert "no-such-registry.invalid" in message and "could not be resolved" in message, message
    assert "connection refused" not in message
