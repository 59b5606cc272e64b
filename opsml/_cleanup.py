"""Remove scratch folders off the caller's clock, before the interpreter exits.

A registration's staging folder is no longer needed once the backend answered;
removing it (a few ``unlink``/``rmdir`` calls, each a journal entry on ext4) is
left to one helper thread instead of the caller. ``concurrent.futures`` joins
that thread at exit, so nothing is left behind by a normal exit.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> remove_later(folder).result()
    >>> folder.exists()
    False

"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    """In a forked child the helper thread does not exist: start a new one when needed."""
    global _lock, _pool
    _lock, _pool = threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def remove_later(folder: Path) -> Future[None]:
    """Remove ``folder`` and everything in it in the helper thread (errors ignored)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="opsml-cleanup")
        pool = _pool
    try:
        return pool.submit(shutil.rmtree, folder, ignore_errors=True)
    except RuntimeError:  # the interpreter is shutting down: remove it here
        shutil.rmtree(folder, ignore_errors=True)
        done: Future[None] = Future()
        done.set_result(None)
        return done
