"""Copy a user's file or folder into a card's artifact folder, refusing unsafe links.

Shared by the data and model savers: the copy keeps relative names, follows
symlinks only while they stay inside the folder, and refuses dangling links,
loops and anything that is not a regular file or folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from opsml.errors import InvalidInputError, UnsafePathError

__all__ = ["copy_path_artifact"]


def _is_inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _walk_folder(root: Path) -> list[tuple[Path, str]]:
    """List ``(source file, relative posix name)`` of a folder, following safe links.

    Symlinks are followed only while they resolve inside the folder; a link that
    leaves it, a dangling link and a directory cycle are refused.
    """
    real_root = os.path.realpath(root)
    found: list[tuple[Path, str]] = []

    def visit(folder: Path, rel: tuple[str, ...], ancestors: frozenset[str]) -> None:
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
        for entry in ordered:
            path = Path(entry.path)
            real = os.path.realpath(path)
            relname = "/".join((*rel, entry.name))
            if entry.is_symlink() and not _is_inside(real, real_root):
                raise UnsafePathError(
                    f"{path} is a symlink to {real}, outside the folder {root}; "
                    "copy the target into the folder or remove the link"
                )
            if entry.is_dir(follow_symlinks=True):
                if real in ancestors:
                    raise InvalidInputError(f"{path} is a symlink that loops back to {real}")
                visit(path, (*rel, entry.name), ancestors | {real})
            elif entry.is_file(follow_symlinks=True):
                found.append((path, relname))
            elif entry.is_symlink():
                raise InvalidInputError(f"{path} is a dangling symlink")
            else:
                raise InvalidInputError(
                    f"{path} is not a regular file or folder (socket, device or fifo)"
                )

    visit(root, (), frozenset({real_root}))
    return found


def copy_path_artifact(source: str | os.PathLike[str], dest: Path, prefix: str) -> list[str]:
    """Copy a file or folder under ``dest/prefix/<name>`` keeping relative names.

    Shared by the data and model savers.

    Args:
        source: The file or folder to copy.
        dest: The artifact root folder.
        prefix: Relative posix folder under ``dest``, e.g. ``"data/files"``.

    Returns:
        The relative posix paths (under ``dest``) of the copied files, sorted.

    Raises:
        InvalidInputError: The path does not exist, is an empty folder or holds
            something other than files and folders.
        UnsafePathError: A symlink in the folder points outside it.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     src = Path(tmp, "notes.txt")
        ...     _ = src.write_text("hi")
        ...     copy_path_artifact(src, Path(tmp, "out"), "data/files")
        ['data/files/notes.txt']

    """
    src = Path(os.fspath(source))
    if not src.exists():
        raise InvalidInputError(f"path {src} does not exist; pass an existing file or folder")
    name = src.name
    if not name or name in (".", ".."):
        src = src.resolve()
        name = src.name
    target = dest.joinpath(*prefix.split("/"), name)
    if src.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        return [f"{prefix}/{name}"]
    if not src.is_dir():
        raise InvalidInputError(f"path {src} is neither a regular file nor a folder")
    files = _walk_folder(src)
    if not files:
        raise InvalidInputError(f"folder {src} holds no files; there is nothing to store")
    for path, rel in files:
        out = target.joinpath(*rel.split("/"))
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
    return sorted(f"{prefix}/{name}/{rel}" for _, rel in files)
