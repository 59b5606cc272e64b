"""The S3 and GCS emulators as session fixtures (the emulators: ``opsml_testing/emulators.py``).

Register with ``pytest_plugins = ["tests._emulators"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsml_testing.emulators import Emulator, GcsEmulator, S3Emulator, running


@pytest.fixture(scope="session")
def s3_emulator() -> Iterator[S3Emulator]:
    """moto S3 with the bucket ``opsml-test``, for the whole session."""
    with running(S3Emulator()) as emu:
        assert isinstance(emu, S3Emulator)
        yield emu


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    """fake-gcs-server with the bucket ``opsml-test``, for the whole session."""
    with (
        tempfile.TemporaryDirectory(prefix="fake-gcs-") as root,
        running(GcsEmulator(Path(root))) as emu,
    ):
        assert isinstance(emu, GcsEmulator)
        yield emu


def emulator_for(request: pytest.FixtureRequest, kind: str) -> Emulator:
    """The session emulator of ``kind`` (``s3`` or ``gcs``), started on first use."""
    emu = request.getfixturevalue(f"{kind}_emulator")
    assert isinstance(emu, S3Emulator | GcsEmulator)
    if emu._proc is None or emu._proc.poll() is not None:  # a test killed it
        emu.restart()
        emu.create_bucket()
    return emu
