"""256 MiB round trips through every store, in bounded memory, digest verified.

Each transfer runs in a fresh client process (``TRANSFER_WORKER``) that samples
its own RSS with psutil; through a server, the test also samples the server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsml_testing.emulators import unique_uri
from opsml_testing.proc import RssSampler
from opsml_testing.transfers import run_transfer, warm_up, write_blob
from tests._emulators import emulator_for

MIB = 1024 * 1024
SIZE = 256 * MIB
RSS_BUDGET = 96 * MIB
KINDS = ["folder", "s3", "gcs"]


@pytest.fixture(scope="module")
def blob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    path = tmp_path_factory.mktemp("blob") / "weights.bin"
    digest = write_blob(path, SIZE)
    yield path, digest
    path.unlink(missing_ok=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", KINDS)
def test_embedded_round_trip(
    kind: str, blob: tuple[Path, str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source, digest = blob
    env = {"OPSML_TRACKING_URI": f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"}
    if kind == "folder":
        env["OPSML_STORAGE_URI"] = (tmp_path / "artifacts").as_posix()
    else:
        emulator = emulator_for(request, kind)
        env.update({"OPSML_STORAGE_URI": unique_uri(emulator), **emulator.server_env()})
    result = run_transfer(source, tmp_path / "out", env)
    assert result["sha256"] == digest
    growth = result["rss_growth"]
    assert growth < RSS_BUDGET, f"client RSS grew {growth / MIB:.0f} MiB"


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("kind", "transfer"),
    [("folder", "proxy"), ("s3", "proxy"), ("s3", "presigned"), ("gcs", "proxy")],
)
def test_round_trip_through_the_server(
    kind: str, transfer: str, blob: tuple[Path, str], request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:  # fmt: skip
    source, digest = blob
    if kind == "folder":
        server = request.getfixturevalue("live_server")
        server.reset()
    else:
        emulator_for(request, kind)
        server = request.getfixturevalue(f"live_server_{kind}")[0]
        assert {"OPSML_STORAGE_URI", *emulator_for(request, kind).server_env()} <= set(server.env)
    warm_up(server.url, tmp_path)  # first-use imports and pools are not per-transfer memory
    with RssSampler(server.pid) as sampler:
        result = run_transfer(
            source, tmp_path / "out", {"OPSML_TRACKING_URI": server.url},
            "auto" if transfer == "presigned" else "proxy",
        )  # fmt: skip
    assert result["presigned"] is (transfer == "presigned")
    assert result["cloud_vars"] == [], "the HTTP client must not need cloud variables"
    assert result["sha256"] == digest
    growth = result["rss_growth"]
    assert growth < RSS_BUDGET, f"client RSS grew {growth / MIB:.0f} MiB"
    assert sampler.growth < RSS_BUDGET, f"server RSS grew {sampler.growth / MIB:.0f} MiB"
