"""A 1 GiB artifact up and down through the live server, in bounded server memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from opsml.backends.http import HttpBackend
from opsml.schemas import ArtifactFile, CardCreate
from opsml.storage.digest import sha256_file
from opsml_testing.live_server import LiveServer
from opsml_testing.proc import RssSampler
from tests._live_server import http_env

GIB = 1024**3
BLOCK = 4 * 1024 * 1024


def write_big_file(path: Path, size: int = GIB) -> None:
    block = os.urandom(BLOCK)
    with open(path, "wb") as out:
        for _ in range(size // BLOCK):
            out.write(block)


@pytest.mark.slow
def test_one_gib_up_and_down_in_bounded_server_memory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = http_env(request, tmp_path)
    server: LiveServer = env.extra["server"]  # type: ignore[assignment]
    src = tmp_path / "src"
    src.mkdir()
    write_big_file(src / "weights.bin")
    sha, size = sha256_file(src / "weights.bin")
    card = CardCreate(
        registry="model",
        name="huge",
        repository="ds",
        contact="me",
        files=[ArtifactFile(path="weights.bin", size=size, sha256=sha)],
    )
    backend = HttpBackend(server.url)
    moved: list[int] = []
    with RssSampler(server.pid) as upload:
        start = time.perf_counter()
        public = backend.register_card(card, src, progress=moved.append)
        up_seconds = time.perf_counter() - start
    assert sum(moved) == size
    assert upload.growth < 64 * 1024 * 1024, f"upload grew RSS by {upload.growth / 2**20:.1f} MiB"
    (src / "weights.bin").unlink()  # keep the disk footprint down

    with RssSampler(server.pid) as download:
        start = time.perf_counter()
        paths = backend.download_artifacts(public, tmp_path / "out")
        down_seconds = time.perf_counter() - start
    assert paths[0].stat().st_size == size  # digest verified by the base class
    assert download.growth < 64 * 1024 * 1024, (
        f"download grew RSS by {download.growth / 2**20:.1f} MiB"
    )
    backend.close()
    print(
        f"\n1 GiB upload {size / up_seconds / 1e6:.0f} MB/s, download "
        f"{size / down_seconds / 1e6:.0f} MB/s; server RSS growth "
        f"{upload.growth / 2**20:.1f} / {download.growth / 2**20:.1f} MiB"
    )
