"""Keys and tampering for the signed-card tests (shared by tests and the benchmark)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KeyPair:
    """An elliptic-curve key pair written as PEM files."""

    private: Path
    public: Path

    @property
    def fingerprint(self) -> str:
        """``sha256:`` of the public PEM (what the bundle's key hint holds)."""
        return "sha256:" + hashlib.sha256(self.public.read_bytes()).hexdigest()


def make_keys(folder: Path, name: str = "signer", curve: str = "p256") -> KeyPair:
    """A fresh key pair under ``folder`` (``p256``, ``p384`` or ``rsa`` for a wrong type)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    folder.mkdir(parents=True, exist_ok=True)
    key: Any
    if curve == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP384R1() if curve == "p384" else ec.SECP256R1())
    private = folder / f"{name}.pem"
    public = folder / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return KeyPair(private, public)


def model_folder(root: Path, size: int = 20_000) -> Path:
    """A small model stored as files: ``weights.bin`` and ``config.json``."""
    folder = root / "model-src"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(bytes(range(256)) * (size // 256))
    (folder / "config.json").write_text('{"layers": 2}')
    return folder


def rewrite_row(db_url: str, uid: str, **values: Any) -> None:
    """Overwrite columns of the card row ``uid`` (``files=``, ``metadata=``) as an attacker
    with write access to the database would.
    """
    from sqlalchemy import create_engine

    from opsml.backends.sql.tables import CARDS

    table = CARDS
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            update = {table.c[key]: value for key, value in values.items()}
            conn.execute(table.update().where(table.c.uid == uid).values(update))
    finally:
        engine.dispose()


def tamper_file(env: Any, card: Any, path: str, data: bytes) -> None:
    """Replace a stored file of ``card`` and its recorded digest together (the threat model)."""
    public = card._registered()[0]
    suffix = f"/{card.repository}/{card.name}/v{card.version}/{path}"
    stored = [p for p in env.list_files() if p.endswith(suffix)]
    assert len(stored) == 1, stored
    env.write_file(stored[0], data)
    files = [f.model_dump() for f in public.files]
    for entry in files:
        if entry["path"] == path:
            entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    rewrite_row(env.db_url, card.uid, files=files)
