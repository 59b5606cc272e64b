"""Staged uploads in the store: moving them into place, and how old each one is.

Bytes of an upload wait under ``.uploads/{upload id}/`` of the store itself
(see :func:`~opsml.storage.layout.staging_prefix`), so that every server process
sharing the store sees them. At the commit they move to the card's folder: a
rename on a folder store (same filesystem), a server-side copy on S3 (CopyObject,
multipart copy past 5 GiB) and GCS (rewrite), so no byte passes through the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsml.storage.layout import STAGING

if TYPE_CHECKING:
    from opsml.schemas import ArtifactFile
    from opsml.storage.store import ArtifactStore


def promote(store: ArtifactStore, staged_key: str, key: str, item: ArtifactFile) -> None:
    """Move a verified staging object to ``key`` (rename or server-side copy).

    Example:
        >>> import hashlib, tempfile
        >>> from opsml.schemas import ArtifactFile
        >>> from opsml.storage import ArtifactStore
        >>> store = ArtifactStore(tempfile.mkdtemp())
        >>> item = ArtifactFile(path="a", size=1, sha256=hashlib.sha256(b"x").hexdigest())
        >>> store.put_stream(iter([b"x"]), ".uploads/" + "0" * 32 + "/a", item)
        >>> promote(store, ".uploads/" + "0" * 32 + "/a", "run/r/n/v1.0.0/a", item)
        >>> store.exists("run/r/n/v1.0.0/a")
        True

    """
    if store.is_local:
        store.put_file(store.local_path(staged_key), key, item, move=True)
    else:
        store.copy(staged_key, key)


def _timestamp(info: dict[str, Any]) -> float:
    """The modification time of one listed object (folder, S3 and GCS spell it differently)."""
    for name in ("mtime", "LastModified", "updated", "timeCreated", "created"):
        value = info.get(name)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str) and value:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


def staging_ages(store: ArtifactStore) -> dict[str, float]:
    """Each upload id under ``.uploads/`` and the newest modification time of its objects.

    Example:
        >>> import tempfile
        >>> from opsml.storage import ArtifactStore
        >>> staging_ages(ArtifactStore(tempfile.mkdtemp()))
        {}

    """
    full = store._full(STAGING)

    def walk() -> dict[str, float]:
        try:
            found: dict[str, Any] = store.fs.find(full, withdirs=False, detail=True)
        except FileNotFoundError:
            return {}
        newest: dict[str, float] = {}
        for path, info in found.items():
            rest = str(path)[len(full) :].strip("/")
            upload_id = rest.split("/", 1)[0]
            if upload_id:
                newest[upload_id] = max(newest.get(upload_id, 0.0), _timestamp(info))
        return newest

    if store.is_local:
        from pathlib import Path

        if not Path(full).exists():
            return {}
    return dict(store._call("list", STAGING, walk))


def abort_stale_multipart(store: ArtifactStore, cutoff: float, keep: set[str]) -> int:
    """Abort S3 multipart uploads under ``.uploads/`` started before ``cutoff`` (epoch seconds),
    except those of the upload ids in ``keep`` (sessions still in use: a long PUT).

    A server killed in the middle of a PUT leaves its multipart upload open:
    invisible, but its parts are stored (and billed) until aborted. Other stores
    have nothing to do here (a GCS resumable session expires by itself).

    Returns:
        How many multipart uploads were aborted (at most one page of 1,000 per call).

    """
    if store.cloud != "s3":
        return 0
    bucket, _, prefix = store._full(STAGING).partition("/")
    fs: Any = store.fs

    def run() -> int:
        answer = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=f"{prefix}/")
        aborted = 0
        for upload in answer.get("Uploads", []):
            upload_id = upload["Key"][len(prefix) + 1 :].split("/", 1)[0]
            if upload_id in keep:
                continue
            if _timestamp({"LastModified": upload.get("Initiated")}) < cutoff:
                fs.call_s3(
                    "abort_multipart_upload",
                    Bucket=bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )
                aborted += 1
        return aborted

    return int(store._call("delete", STAGING, run))
