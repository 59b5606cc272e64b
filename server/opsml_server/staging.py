"""Upload staging: files are hashed while they are written to a private folder.

Nothing reaches the artifact store before every file of a registration has
arrived with the size and SHA-256 its record announced; the commit then hands
the folder to the backend's ``commit_upload``, which renames the files into the
store (a folder store on the same device) or copies them.

Layout under the staging root::

    sessions/{id}/session.json   the CardCreate, owner and creation time
    sessions/{id}/files/{path}   verified files
    sessions/{id}/parts/{rand}   files being written
    inline/{rand}/files/{path}   single-request registrations
    committing/{id}/...          a session being committed (moved here atomically)

Sessions idle for longer than the TTL are removed by :meth:`UploadSessions.sweep`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from opsml.errors import (
    ArtifactIntegrityError,
    CardNotFoundError,
    InvalidInputError,
    PayloadTooLargeError,
)
from opsml.schemas import ArtifactFile, CardCreate, check_relative_path

logger = logging.getLogger("opsml_server.staging")

_SESSION_RE = re.compile(r"^[0-9a-f]{32}$")
READ_SIZE = 4 * 1024 * 1024
"""Bytes read at a time from a request's file part."""


class StagedFile:
    """Write one announced file, hashing as it goes; keep it only when it matches.

    Example:
        >>> import tempfile, hashlib
        >>> root = Path(tempfile.mkdtemp())
        >>> item = ArtifactFile(path="a.txt", size=3, sha256=hashlib.sha256(b"abc").hexdigest())
        >>> staged = StagedFile(root / "files", root / "parts", item)
        >>> staged.write(b"abc"); staged.finish()
        >>> (root / "files" / "a.txt").read_bytes()
        b'abc'

    """

    def __init__(self, files_dir: Path, parts_dir: Path, item: ArtifactFile) -> None:
        self.item = item
        self.target = files_dir / check_relative_path(item.path)
        parts_dir.mkdir(parents=True, exist_ok=True)
        self.part = parts_dir / uuid.uuid4().hex
        self._handle = open(self.part, "wb")  # noqa: SIM115 - closed in finish/abort
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append bytes; more than announced is refused at once."""
        self.size += len(chunk)
        if self.size > self.item.size:
            self.abort()
            raise ArtifactIntegrityError(
                f"artifact {self.item.path!r} is larger than its record ({self.item.size} "
                "bytes); nothing was stored"
            )
        self._digest.update(chunk)
        self._handle.write(chunk)

    def write_chunks(self, chunks: list[bytes]) -> None:
        """Append several chunks without joining them first (no extra copy)."""
        added = sum(len(c) for c in chunks)
        if self.size + added > self.item.size:
            self.write(b"".join(chunks))  # refuses with the usual message
            return
        self.size += added
        for chunk in chunks:
            self._digest.update(chunk)
        self._handle.writelines(chunks)

    def copy_from(self, handle: BinaryIO) -> None:
        """Write everything ``handle`` holds, then :meth:`finish` (or :meth:`abort`)."""
        try:
            while chunk := handle.read(READ_SIZE):
                self.write(chunk)
        except BaseException:
            self.abort()
            raise
        self.finish()

    def finish(self) -> None:
        """Check size and digest; move the file into place or raise and remove it."""
        self._handle.close()
        digest = self._digest.hexdigest()
        if self.size != self.item.size or digest != self.item.sha256:
            self.abort()
            raise ArtifactIntegrityError(
                f"artifact {self.item.path!r} does not match its record: expected "
                f"{self.item.size} bytes with sha256 {self.item.sha256[:12]}…, received "
                f"{self.size} bytes with sha256 {digest[:12]}…; nothing was stored"
            )
        self.target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.part, self.target)

    def abort(self) -> None:
        """Drop what was written."""
        self._handle.close()
        self.part.unlink(missing_ok=True)


@dataclass(frozen=True)
class UploadSession:
    """An upload session on disk."""

    id: str
    root: Path
    card: CardCreate
    owner: str | None

    @property
    def files_dir(self) -> Path:
        """Verified files, at their relative paths."""
        return self.root / "files"

    @property
    def parts_dir(self) -> Path:
        """Files being written."""
        return self.root / "parts"

    def missing(self) -> list[str]:
        """Paths announced but not uploaded yet."""
        return [f.path for f in self.card.files if not (self.files_dir / f.path).is_file()]


class UploadSessions:
    """Upload sessions and single-request staging folders under one root."""

    def __init__(self, root: Path, *, ttl: float, max_upload_size: int) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self.max_upload_size = max_upload_size

    def __repr__(self) -> str:
        return f"UploadSessions({self.root.name!r}, ttl={self.ttl})"

    def prepare(self) -> None:
        """Create the folders and remove leftovers of earlier runs."""
        for sub in ("sessions", "inline", "committing"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.sweep()

    def check_size(self, card: CardCreate) -> None:
        """Refuse a registration larger than the server accepts (413)."""
        total = sum(f.size for f in card.files)
        if total > self.max_upload_size:
            raise PayloadTooLargeError(
                f"the files of {card.repository}/{card.name} total {total} bytes; this "
                f"server accepts at most {self.max_upload_size} bytes per registration"
            )

    def create(
        self, card: CardCreate, owner: str | None, session_id: str | None = None
    ) -> UploadSession:
        """Start a session for ``card`` (with the id of the backend's upload, when given)."""
        self.check_size(card)
        seen: set[str] = set()
        for item in card.files:
            if item.path in seen:
                raise InvalidInputError(f"artifact {item.path!r} is listed twice")
            seen.add(item.path)
        session_id = session_id or uuid.uuid4().hex
        if not _SESSION_RE.fullmatch(session_id):
            raise InvalidInputError(f"{session_id!r} is not an upload session id")
        root = self.root / "sessions" / session_id
        (root / "files").mkdir(parents=True)
        record = {"card": card.model_dump(mode="json"), "owner": owner, "created": time.time()}
        tmp = root / "session.json.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, root / "session.json")
        return UploadSession(session_id, root, card, owner)

    def get(self, session_id: str, owner: str | None, *, where: str = "sessions") -> UploadSession:
        """The session ``session_id`` of ``owner``; anything else is not found."""
        if not _SESSION_RE.fullmatch(session_id):
            raise InvalidInputError(f"{session_id!r} is not an upload session id")
        root = self.root / where / session_id
        try:
            record = json.loads((root / "session.json").read_text())
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            raise CardNotFoundError(
                f"no upload session {session_id}: it was committed, aborted or expired"
            ) from None
        if record.get("owner") != owner:
            raise CardNotFoundError(f"no upload session {session_id} of this user")
        os.utime(root)  # activity keeps the session alive
        return UploadSession(session_id, root, CardCreate.model_validate(record["card"]), owner)

    def begin_commit(
        self, session_id: str, owner: str | None, *, staged: bool = True
    ) -> UploadSession:
        """Move the session aside atomically, so that it is committed once.

        A ``staged`` session must hold every file first; the files of a
        presigned one are in the store, which the backend checks.
        """
        session = self.get(session_id, owner)
        missing = session.missing() if staged else []
        if missing:
            shown = ", ".join(repr(p) for p in missing[:5])
            raise InvalidInputError(
                f"upload session {session_id} is missing {len(missing)} file(s): {shown}; "
                "upload them before committing"
            )
        target = self.root / "committing" / session_id
        try:
            os.rename(session.root, target)
        except OSError:
            raise CardNotFoundError(f"upload session {session_id} is already committed") from None
        os.utime(target)
        return UploadSession(session_id, target, session.card, owner)

    def reopen(self, session: UploadSession) -> None:
        """Undo :meth:`begin_commit` (the commit found the upload incomplete)."""
        try:
            os.rename(session.root, self.root / "sessions" / session.id)
        except OSError:
            self.remove(session.root)

    def inline_dir(self) -> Path:
        """A fresh folder for a single-request registration."""
        path = self.root / "inline" / uuid.uuid4().hex
        (path / "files").mkdir(parents=True)
        return path

    def remove(self, path: Path) -> None:
        """Remove a session or staging folder.

        After a commit the folder holds only empty directories (the files were
        renamed into the store), so a bottom-up walk of plain ``rmdir``/``unlink``
        does it in a few system calls; ``shutil.rmtree`` is the fallback.
        """
        try:
            for parent, dirs, files in os.walk(path, topdown=False):
                for name in files:
                    os.unlink(os.path.join(parent, name))
                for name in dirs:
                    os.rmdir(os.path.join(parent, name))
            os.rmdir(path)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Remove sessions idle for longer than the TTL; returns how many."""
        now = time.time() if now is None else now
        removed = 0
        for sub in ("sessions", "inline", "committing"):
            base = self.root / sub
            if not base.is_dir():
                continue
            for entry in base.iterdir():
                if now - _last_activity(entry) > self.ttl:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
        if removed:
            logger.info("removed abandoned uploads", extra={"count": removed})
        return removed


def _last_activity(path: Path) -> float:
    newest = 0.0
    for candidate in (path, path / "parts"):
        try:
            newest = max(newest, candidate.stat().st_mtime)
            if candidate.name == "parts":
                for part in candidate.iterdir():
                    newest = max(newest, part.stat().st_mtime)
        except OSError:
            continue
    return newest
