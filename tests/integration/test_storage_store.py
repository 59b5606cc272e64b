"""The artifact store on a folder, S3 (moto) and GCS (fake-gcs-server), the same way."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsml.errors import ArtifactIntegrityError, MissingDependencyError, StorageError
from opsml.schemas import ArtifactFile
from opsml.storage import ArtifactStore
from opsml_testing.emulators import S3_KEY, S3_SECRET, S3Emulator, unique_uri
from tests._emulators import emulator_for

KINDS = ["folder", "s3", "gcs"]
PREFIX = "model/ds/churn/v1.0.0"


@pytest.fixture(params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ArtifactStore]:
    if request.param == "folder":
        yield ArtifactStore((tmp_path / "store").as_posix())
        return
    emulator = emulator_for(request, request.param)
    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    yield ArtifactStore(unique_uri(emulator))


def _file(tmp_path: Path, data: bytes, name: str = "f.bin") -> tuple[Path, ArtifactFile]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, ArtifactFile(path=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def test_put_list_read_delete(store: ArtifactStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    source, item = _file(tmp_path, data)
    store.check()
    assert store.list_files() == []
    store.put_file(source, f"{PREFIX}/f.bin", item)
    store.put_file(source, f"{PREFIX}/sub/g.bin", item)
    store.put_file(source, "model/ds/churn/v1.0.1/f.bin", item)
    assert store.list_files(PREFIX) == [f"{PREFIX}/f.bin", f"{PREFIX}/sub/g.bin"]
    assert store.exists(f"{PREFIX}/f.bin") and not store.exists(f"{PREFIX}/nope.bin")
    assert b"".join(store.iter_file(f"{PREFIX}/f.bin")) == data
    assert b"".join(store.iter_file(f"{PREFIX}/f.bin", start=5, end=1000)) == data[5:1000]
    assert b"".join(store.iter_file(f"{PREFIX}/f.bin", start=len(data) - 3)) == data[-3:]
    assert store.hash_file(f"{PREFIX}/f.bin") == (item.sha256, item.size)
    assert store.size(f"{PREFIX}/f.bin") == len(data)
    store.delete_prefix(PREFIX)
    assert store.list_files() == ["model/ds/churn/v1.0.1/f.bin"]
    store.delete_prefix(PREFIX)  # missing is fine
    with pytest.raises(StorageError, match="whole store"):
        store.delete_prefix("")


def test_wrong_digest_leaves_nothing(store: ArtifactStore, tmp_path: Path) -> None:
    for size in (10, 40 * 1024 * 1024):  # one-shot and multipart uploads
        source, item = _file(tmp_path, b"\x07" * size)
        bad = item.model_copy(update={"sha256": "0" * 64})
        with pytest.raises(ArtifactIntegrityError, match="f.bin"):
            store.put_file(source, f"{PREFIX}/f.bin", bad)
        assert store.list_files() == []
    _assert_no_pending_uploads(store)


class Boom(Exception):
    pass


def test_failure_mid_upload_leaves_nothing(store: ArtifactStore, tmp_path: Path) -> None:
    source, item = _file(tmp_path, b"\x01" * (72 * 1024 * 1024))
    moved = 0

    def fail(n: int) -> None:
        nonlocal moved
        moved += n
        if moved > 40 * 1024 * 1024:  # after the first multipart part went up
            raise Boom("caller gave up")

    with pytest.raises(Boom):
        store.put_file(source, f"{PREFIX}/f.bin", item, progress=fail)
    assert store.list_files() == []
    _assert_no_pending_uploads(store)


def _assert_no_pending_uploads(store: ArtifactStore) -> None:
    """An aborted S3 multipart upload leaves no parts billed in the bucket."""
    if store.cloud != "s3":
        return
    fs = store.fs
    uploads = fs.call_s3("list_multipart_uploads", Bucket=store.bucket)  # type: ignore[attr-defined]
    assert uploads.get("Uploads", []) == []


def test_missing_file_is_artifact_not_found(store: ArtifactStore) -> None:
    from opsml.errors import ArtifactNotFoundError

    with pytest.raises(ArtifactNotFoundError, match="nope.bin"):
        store.iter_file(f"{PREFIX}/nope.bin")


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_missing_bucket_is_a_clear_storage_error(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_for(request, kind)
    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    scheme = "s3" if kind == "s3" else "gs"
    store = ArtifactStore(f"{scheme}://no-such-bucket/registry")
    source, item = _file(tmp_path, b"abc")
    for action in (store.check, lambda: store.put_file(source, f"{PREFIX}/f.bin", item)):
        with pytest.raises(StorageError) as info:
            action()
        assert "no-such-bucket" in str(info.value) and "does not exist" in str(info.value)


def test_missing_s3_credentials(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_for(request, "s3")
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", emulator.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    store = ArtifactStore("s3://opsml-test/registry")
    with pytest.raises(StorageError, match="no credentials for s3://opsml-test/registry"):
        store.check()


def test_wrong_s3_credentials_name_the_bucket_not_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = S3Emulator(enforce_auth=True)  # moto checks every signature against IAM
    emulator.start()
    try:
        for key, value in emulator.server_env().items():
            monkeypatch.setenv(key, value)
        store = ArtifactStore("s3://opsml-test/registry")
        source, item = _file(tmp_path, b"abc")
        for action in (store.check, lambda: store.put_file(source, f"{PREFIX}/f.bin", item)):
            with pytest.raises(StorageError) as info:
                action()
            message = str(info.value)
            assert "opsml-test" in message and "denied" in message, message
            assert S3_KEY not in message and S3_SECRET not in message
    finally:
        emulator.stop()


def test_bad_gcs_credentials_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_for(request, "gcs")
    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    secret = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-0123456789\n-----END PRIVATE KEY-----\n"
    creds = tmp_path / "sa.json"
    creds.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "abc",
                "private_key": secret,
                "client_email": "x@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    store = ArtifactStore("gs://opsml-test/registry")
    with pytest.raises(StorageError) as info:
        store.check()
    message = str(info.value)
    assert "gs://opsml-test/registry" in message and "credentials" in message, message
    assert "not-a-real-key" not in message


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    ArtifactStore("/tmp/somewhere")  # a folder needs no extra
    with pytest.raises(MissingDependencyError, match=r"opsml-prefect\[s3\]"):
        ArtifactStore("s3://bucket/prefix")
    with pytest.raises(MissingDependencyError, match=r"opsml-prefect\[gcs\]"):
        ArtifactStore("gs://bucket/prefix")


def test_readiness_checks_the_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsml.backends.sql import SqlBackend

    emulator = emulator_for(request, "s3")
    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    url = f"sqlite:///{(tmp_path / 'r.db').as_posix()}"
    SqlBackend(url, unique_uri(emulator)).check()
    with pytest.raises(StorageError, match="no-such-bucket"):
        SqlBackend(url, "s3://no-such-bucket/x").check()


def test_repr_and_messages_hide_user_info() -> None:
    store = ArtifactStore("s3://KEYID:SECRETVALUE@bucket/prefix")
    assert "SECRETVALUE" not in repr(store) and "KEYID" not in repr(store)
    assert store.bucket == "bucket"
