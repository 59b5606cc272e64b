"""A fresh process pays neither for httpx's CLI nor for a CA bundle plain HTTP never uses."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import httpx

from opsml.backends.http._transport import Transport, _tls_for

_PROBE = """
import json, sys
import opsml.backends.http
loaded = [m for m in ("click", "rich", "pygments", "httpx._main") if m in sys.modules]
import httpx
lazy = not hasattr(httpx.main, "commands") and callable(httpx.main)
import httpx._main
print(json.dumps({"loaded": loaded, "lazy": lazy, "cli": type(httpx._main.main).__name__}))
"""


def test_the_http_backend_imports_httpx_without_its_command_line_client() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    assert got["loaded"] == []
    assert got["lazy"] is True  # httpx.main imports the real one when called
    assert got["cli"] == "Command"  # and httpx._main still imports as before


def test_httpx_imported_first_is_left_as_it_is() -> None:
    probe = "import httpx, opsml.backends.http; print(type(httpx.main).__name__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Command"


def test_a_plain_http_server_gets_a_context_that_trusts_nothing() -> None:
    context = _tls_for(httpx.URL("http://registry:8080"))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # any TLS through it would fail


def test_an_https_server_is_verified_with_the_ca_bundle() -> None:
    assert _tls_for(httpx.URL("https://registry.example.com")) is True
    transport = Transport("https://registry.example.com")
    try:
        pool = transport.client._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context.cert_store_stats()["x509_ca"] > 0
    finally:
        transport.close()
