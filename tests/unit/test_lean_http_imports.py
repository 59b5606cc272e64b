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


_H2_PROBE = """
import json, socket, sys, threading
from opsml.backends.http import HttpBackend
HttpBackend("http://127.0.0.1:9").close()  # its client imports httpcore
deferred = [m for m in ("h2", "httpcore._sync.http2", "httpcore._async.http2") if m in sys.modules]
import h2.config, h2.connection, h2.events
import httpcore, httpx

def serve(listener):
    conn, _ = listener.accept()
    h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    h2c.initiate_connection()
    conn.sendall(h2c.data_to_send())
    done = False
    while not done:
        for event in h2c.receive_data(conn.recv(65536)):
            if isinstance(event, h2.events.RequestReceived):
                h2c.send_headers(event.stream_id, [(":status", "200"), ("content-length", "2")])
                h2c.send_data(event.stream_id, b"h2", end_stream=True)
                done = True
        conn.sendall(h2c.data_to_send())
    conn.close()

listener = socket.create_server(("127.0.0.1", 0))
threading.Thread(target=serve, args=(listener,), daemon=True).start()
url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
with httpx.Client(http1=False, http2=True, trust_env=False, timeout=10) as client:
    answer = client.get(url)
real = [c.__module__ for c in (httpcore.HTTP2Connection, httpcore._sync.HTTP2Connection,
                               httpcore.AsyncHTTP2Connection, httpcore._async.AsyncHTTP2Connection)]
print(json.dumps({"deferred": deferred, "version": answer.http_version, "body": answer.text,
                  "real": real}))
"""


def test_httpcore_is_imported_without_http2_which_still_works_on_demand() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _H2_PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    got = json.loads(out)
    assert got["deferred"] == []  # the backend and its client loaded none of HTTP/2
    assert (got["version"], got["body"]) == ("HTTP/2", "h2")  # a real HTTP/2 exchange
    assert got["real"] == ["httpcore._sync.http2", "httpcore._sync.http2",
                           "httpcore._async.http2", "httpcore._async.http2"]  # fmt: skip


def test_what_a_registration_does_not_need_is_imported_on_first_use() -> None:
    probe = """
import json, sys
from opsml.backends.http import HttpBackend
import opsml.storage.digest
backend = HttpBackend("http://127.0.0.1:9")
before = [m for m in ("opsml.auth.models", "opsml.storage.store") if m in sys.modules]
store = backend.identity()
from opsml.storage import ArtifactStore
print(json.dumps({"before": before, "store": type(store).__name__,
                  "artifacts": ArtifactStore.__module__}))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["before"] == []
    assert (got["store"], got["artifacts"]) == ("HttpIdentityStore", "opsml.storage.store")
