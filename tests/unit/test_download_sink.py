"""The download sink: every byte written once, and the digest of exactly what was written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from opsml.backends._sink import SINK_BATCH, DigestSink


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("total", "chunk"),
    [
        (0, 1),
        (1, 1),
        (SINK_BATCH - 1, 65_536),
        (SINK_BATCH, 65_536),
        (3 * SINK_BATCH + 5, 65_536),
        (2 * SINK_BATCH + 3, SINK_BATCH + 1),  # chunks larger than a batch
        (SINK_BATCH + 17, 1_000),  # batches end inside chunks
    ],
)
def test_file_and_digest_match_what_was_added(tmp_path: Path, total: int, chunk: int) -> None:
    data = os.urandom(total)
    target = tmp_path / "out.bin"
    digest = hashlib.sha256()
    fd = os.open(target, os.O_RDWR | os.O_CREAT)
    try:
        with DigestSink(digest, fd) as sink:
            for piece in _pieces(data, chunk):
                sink.add(piece)
    finally:
        os.close(fd)
    assert target.read_bytes() == data
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_failed_receive_joins_the_helper_thread(tmp_path: Path) -> None:
    """An error while receiving propagates; the helper thread is joined, not left running."""
    digest = hashlib.sha256()
    fd = os.open(tmp_path / "out.bin", os.O_RDWR | os.O_CREAT)
    try:
        with pytest.raises(ConnectionError), DigestSink(digest, fd) as sink:
            sink.add(b"x" * (2 * SINK_BATCH))
            raise ConnectionError("cut")
    finally:
        os.close(fd)
    assert sink._thread is not None and not sink._thread.is_alive()


def test_a_file_truncated_behind_the_writer_is_an_error(tmp_path: Path) -> None:
    """Bytes that vanish from the file before they are hashed are never taken as hashed."""
    digest = hashlib.sha256()
    target = tmp_path / "out.bin"
    fd = os.open(target, os.O_RDWR | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="ended at byte"), DigestSink(digest, fd) as sink:
            sink.add(b"y" * 10)
            os.truncate(target, 4)
    finally:
        os.close(fd)
