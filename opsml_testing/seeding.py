"""Data that tests and benchmarks start from: a large file of varied bytes, a registry
seeded with many cards by plain SQL inserts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes (4 MiB random blocks, varied) and return the SHA-256."""
    digest = hashlib.sha256()
    block = bytearray(os.urandom(min(4 * 1024 * 1024, size)))
    with open(path, "wb") as out:
        written = 0
        i = 0
        while written < size:
            block[:8] = i.to_bytes(8, "little")  # no two blocks alike
            piece = memoryview(block)[: min(len(block), size - written)]
            digest.update(piece)
            out.write(piece)
            written += len(piece)
            i += 1
    return digest.hexdigest()


def seed_cards(db_url: str, total: int, names: int = 1000) -> None:
    """Insert ``total`` active card rows (``names`` names, patch versions) with SQL inserts."""
    from sqlalchemy import create_engine, func, select

    from opsml.backends.sql.migrate import upgrade_database
    from opsml.backends.sql.tables import CARDS, NAMES

    upgrade_database(db_url)
    engine = create_engine(db_url)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per_name = max(1, total // names)
    rows = []
    for i in range(total):
        n, v = divmod(i, per_name)
        rows.append(
            {
                "uid": uuid.UUID(int=i + 1).hex,
                "registry": "model",
                "repository": "seed",
                "name": f"model-{n:05d}",
                "version": f"1.0.{v}",
                "major": 1,
                "minor": 0,
                "patch": v,
                "prerelease": "",
                "build": "",
                "status": "active",
                "contact": "bench",
                "description": None,
                "tags": {"team": "seed"},
                "metadata": {"i": i},
                "files": [],
                "created_at": start + timedelta(seconds=i),
                "created_by": "bench",
                "updated_at": None,
            }
        )
    with engine.begin() as conn:
        for lo in range(0, total, 20_000):
            conn.execute(CARDS.insert(), rows[lo : lo + 20_000])
        per_card_name = Counter((r["repository"], r["name"]) for r in rows)  # the names index
        conn.execute(
            NAMES.insert(),
            [
                {"registry": "model", "repository": r, "name": n, "active_cards": k}
                for (r, n), k in sorted(per_card_name.items())
            ],
        )
        count = conn.execute(select(func.count()).select_from(CARDS)).scalar_one()
    engine.dispose()
    if count < total:
        raise AssertionError(f"seeded {count} rows, wanted {total}")
