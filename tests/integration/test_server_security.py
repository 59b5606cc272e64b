"""Basic auth, the production token, and secrets kept out of responses (docs/design.md §6)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opsml_server.settings import ServerSettings
from pydantic import ValidationError

from opsml.auth.models import AuditQuery
from opsml.backends.http import HttpBackend
from opsml.backends.sql import SqlBackend
from opsml.errors import AuthenticationError, BackendUnavailableError, PermissionDeniedError
from opsml.schemas import ArtifactFile, CardCreate, CardQuery, CardUpdate
from opsml_testing.live_server import LiveServer, running_server
from opsml_testing.proc import free_port
from tests._live_server import PROD_TOKEN, server_snapshot

USER, PASSWORD = "ds-team", "correct horse battery staple"


def _upload_sessions(server: LiveServer) -> int:
    """How many upload sessions the server's database holds."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM opsml_upload_sessions")).scalar_one()
            )
    finally:
        engine.dispose()


def _card_with_file(tmp_path: Path, size: int = 1000, name: str = "secured") -> CardCreate:
    data = os.urandom(size)
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "blob.bin").write_bytes(data)
    return CardCreate(
        registry="run",
        name=name,
        repository="ds",
        contact="me",
        files=[ArtifactFile(path="blob.bin", size=size, sha256=hashlib.sha256(data).hexdigest())],
    )


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"OPSML_USERNAME": USER, "OPSML_PASSWORD": PASSWORD}
    with running_server(tmp_path_factory.mktemp("auth"), env=env) as server:
        yield server


# -- basic auth --------------------------------------------------------------------------


def test_missing_or_wrong_password_is_401_with_www_authenticate(auth_server: LiveServer) -> None:
    url = f"{auth_server.url}/api/v1/cards/run"
    for auth in (None, (USER, "wrong"), ("someone", PASSWORD), ("", "")):
        response = httpx.get(url, auth=auth)
        assert response.status_code == 401, auth
        assert response.headers["www-authenticate"] == 'Basic realm="opsml"'
        assert response.json()["error"]["code"] == "authentication_failed"
        assert PASSWORD not in response.text
    assert httpx.get(url, headers={"Authorization": "Basic !!notbase64"}).status_code == 401
    assert httpx.get(url, auth=(USER, PASSWORD)).status_code == 200


def test_client_raises_authentication_error(auth_server: LiveServer) -> None:
    for password in (None, "wrong"):
        backend = HttpBackend(
            auth_server.url, username=USER if password else None, password=password
        )
        with pytest.raises(AuthenticationError, match="OPSML_USERNAME"):
            backend.list_cards("run", CardQuery())
        backend.close()


def test_probes_are_open_metrics_and_openapi_are_not(auth_server: LiveServer) -> None:
    assert httpx.get(f"{auth_server.url}/healthz").status_code == 200
    assert httpx.get(f"{auth_server.url}/readyz").status_code == 200
    assert httpx.get(f"{auth_server.url}/metrics").status_code == 401
    assert httpx.get(f"{auth_server.url}/openapi.json").status_code == 401
    assert httpx.get(f"{auth_server.url}/metrics", auth=(USER, PASSWORD)).status_code == 200


def test_audit_log_records_the_authenticated_user(auth_server: LiveServer, tmp_path: Path) -> None:
    backend = HttpBackend(auth_server.url, username=USER, password=PASSWORD)
    card = _card_with_file(tmp_path).model_copy(update={"created_by": "someone-else"})
    public = backend.register_card(card, tmp_path / "src")
    backend.update_card("run", public.uid, CardUpdate(tags={"a": "b"}))
    backend.close()
    sql = SqlBackend(auth_server.db_url, auth_server.storage_root.as_posix())
    try:
        page = sql.identity().list_audit(AuditQuery(card_uid=public.uid, limit=50))
    finally:
        sql.close()
    entries = [e.model_dump() for e in page.items]
    assert [e["action"] for e in entries] == ["update", "register"]
    assert {e["actor"] for e in entries} == {USER}
    assert public.created_by == USER


# -- production token --------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789"])
@pytest.mark.parametrize("inline", [True, False])
def test_production_write_without_token_is_403_and_writes_nothing(
    prod_server: LiveServer, tmp_path: Path, token: str | None, inline: bool
) -> None:
    before = server_snapshot(prod_server)
    backend = HttpBackend(
        prod_server.url, prod_token=token, inline_limit=8 * 1024 * 1024 if inline else 0
    )
    with pytest.raises(PermissionDeniedError, match="production token"):
        backend.register_card(_card_with_file(tmp_path, 64 * 1024), tmp_path / "src")
    backend.close()
    assert server_snapshot(prod_server) == before  # the store's .uploads/ too
    assert _upload_sessions(prod_server) == 0


def test_production_reads_need_no_token_writes_need_it(
    prod_server: LiveServer, tmp_path: Path
) -> None:
    writer = HttpBackend(prod_server.url, prod_token=PROD_TOKEN)
    public = writer.register_card(_card_with_file(tmp_path, name="prod-model"), tmp_path / "src")
    assert "prod_token='***'" in repr(writer) and PROD_TOKEN not in repr(writer)

    reader = HttpBackend(prod_server.url)
    assert reader.get_card("run", uid=public.uid).version == public.version
    assert [c.uid for c in reader.list_cards("run", CardQuery(name="prod-model"))] == [public.uid]
    paths = reader.download_artifacts(public, tmp_path / "out")
    assert paths[0].read_bytes() == (tmp_path / "src" / "blob.bin").read_bytes()

    before = server_snapshot(prod_server)
    with pytest.raises(PermissionDeniedError):
        reader.update_card("run", public.uid, CardUpdate(description="changed"))
    with pytest.raises(PermissionDeniedError):
        reader.delete_card("run", public.uid)
    raw = httpx.put(f"{prod_server.url}/api/v1/uploads/{'0' * 32}/files/x.bin", content=b"x")
    assert raw.status_code == 403
    assert server_snapshot(prod_server) == before
    assert reader.get_card("run", uid=public.uid).description is None

    writer.delete_card("run", public.uid)
    writer.close()
    reader.close()


# -- configuration and secrets -----------------------------------------------------------


def test_unsafe_server_settings_are_refused() -> None:
    base = {"database_url": "sqlite:///:memory:", "storage_uri": "/tmp/x"}
    with pytest.raises(ValidationError, match="OPSML_PROD_TOKEN"):
        ServerSettings(**base, app_env="production")
    with pytest.raises(ValidationError, match="OPSML_PROD_TOKEN"):
        ServerSettings(**base, app_env="production", prod_token="short")
    with pytest.raises(ValidationError, match="both OPSML_USERNAME and OPSML_PASSWORD"):
        ServerSettings(**base, username="admin")
    with pytest.raises(ValidationError, match="database URL"):
        ServerSettings(database_url="http://other-registry:8080", storage_uri="/tmp/x")
    settings = ServerSettings(
        database_url="postgresql+psycopg://u:hunter22@db/opsml",
        storage_uri="/tmp/x",
        username="u",
        password="hunter22",
    )
    assert "hunter22" not in repr(settings)


def test_server_refuses_to_start_in_production_without_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    env.update(
        {
            "APP_ENV": "production",
            "OPSML_TRACKING_URI": f"sqlite:///{tmp_path.as_posix()}/r.db",
            "OPSML_STORAGE_URI": str(tmp_path / "s"),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "opsml_server", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "OPSML_PROD_TOKEN" in proc.stderr


def test_no_dsn_or_password_in_any_response(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from opsml_server.app import create_app

    secret = "s3cr3t-db-password"
    settings = ServerSettings(
        database_url=f"postgresql+psycopg://opsml:{secret}@127.0.0.1:{free_port()}/opsml",
        storage_uri=(tmp_path / "s").as_posix(),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        responses = [
            client.get("/readyz"),
            client.get("/api/v1/cards/model"),
            client.get(f"/api/v1/cards/model/{'a' * 32}"),
            client.post(
                "/api/v1/cards/run",
                data={
                    "card": json.dumps(
                        {"registry": "run", "name": "n", "repository": "r", "contact": "c"}
                    )
                },
            ),
        ]
    for response in responses:
        assert response.status_code == 503, response.text
        assert secret not in response.text
        assert "opsml:" not in response.text and "127.0.0.1" not in response.text
        assert "Traceback" not in response.text


def test_connection_refused_names_the_url_without_credentials() -> None:
    port = free_port()
    backend = HttpBackend(f"http://alice:pa55word@127.0.0.1:{port}", retries=1)
    assert "pa55word" not in repr(backend)
    with pytest.raises(BackendUnavailableError) as info:
        backend.list_cards("run", CardQuery())
    assert f"http://127.0.0.1:{port}" in str(info.value)
    assert "pa55word" not in str(info.value) and "alice" not in str(info.value)
    backend.close()
