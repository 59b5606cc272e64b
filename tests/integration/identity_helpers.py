"""Helpers of the identity tests: a server with a bootstrap admin, users, cards, snapshots."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from opsml.backends.http import HttpBackend
from opsml.schemas import ArtifactFile, CardCreate, CardPublic
from opsml_testing.live_server import LiveServer

ROOT = ("root", "bootstrap-password-1")
PASSWORD = "user-password-123"


def admin(server: LiveServer) -> httpx.Client:
    """An HTTP client of the bootstrap administrator (with the production token, if any)."""
    prod = server.env.get("OPSML_PROD_TOKEN")
    headers = {"X-Opsml-Prod-Token": prod} if prod else {}
    return httpx.Client(base_url=server.url, auth=ROOT, timeout=30, headers=headers)


def add_user(server: LiveServer, name: str, grants: list[dict[str, Any]]) -> None:
    """Add ``name`` (password ``PASSWORD``) with ``grants`` over REST."""
    with admin(server) as client:
        client.post("/api/v1/users", json={"name": name, "password": PASSWORD}).raise_for_status()
        for grant in grants:
            client.post(f"/api/v1/users/{name}/grants", json=grant).raise_for_status()


def card_in(tmp_path: Path, repository: str, name: str) -> tuple[CardCreate, Path]:
    """A run card with one small file, and the folder holding the file."""
    data = os.urandom(200)
    source = tmp_path / f"src-{repository}-{name}"
    source.mkdir(parents=True, exist_ok=True)
    (source / "blob.bin").write_bytes(data)
    card = CardCreate(
        registry="run",
        name=name,
        repository=repository,
        contact="me",
        files=[ArtifactFile(path="blob.bin", size=200, sha256=hashlib.sha256(data).hexdigest())],
    )
    return card, source


def register(backend: HttpBackend, tmp_path: Path, repository: str, name: str) -> CardPublic:
    """Register a fresh card through ``backend``."""
    card, source = card_in(tmp_path, repository, name)
    return backend.register_card(card, source)


def root_backend(server: LiveServer) -> HttpBackend:
    """The bootstrap administrator's client backend."""
    return HttpBackend(server.url, username=ROOT[0], password=ROOT[1])


def snapshot(server: LiveServer) -> tuple[Any, ...]:
    """Cards (with tags and description), audit entries, users, grants, tokens, aliases, files."""
    engine = create_engine(server.db_url)
    queries = (
        "SELECT uid, repository, name, version, status, tags, description FROM opsml_cards "
        "ORDER BY id",
        "SELECT id, action, actor FROM opsml_audit_log ORDER BY id",
        "SELECT name FROM opsml_users ORDER BY name",
        "SELECT user_id, repository, role FROM opsml_grants ORDER BY user_id, repository, role",
        "SELECT name FROM opsml_tokens ORDER BY name",
        "SELECT registry, repository, name, alias, card_uid FROM opsml_card_aliases ORDER BY id",
    )
    try:
        with engine.connect() as conn:
            rows = tuple(tuple(map(tuple, conn.execute(text(query)))) for query in queries)
    finally:
        engine.dispose()
    files = sorted(p.relative_to(server.storage_root).as_posix()
                   for p in server.storage_root.rglob("*") if p.is_file())  # fmt: skip
    return (*rows, tuple(files))
