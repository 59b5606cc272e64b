"""Give a finished download the mode ``open()`` would have given it (``0o666`` minus the umask).

Downloads are written to a ``tempfile.mkstemp`` file, which is always ``0o600``;
renamed as is, a pulled model would be readable only by its owner (a container
that copies it and runs as another user could not load it). ``cp`` and
``open()`` respect the umask; so do pulled files.

Example:
    >>> import os, tempfile
    >>> fd, name = tempfile.mkstemp(); os.close(fd)
    >>> old = os.umask(0o022); set_default_mode(name); os.umask(old)
    >>> oct(os.stat(name).st_mode & 0o777)
    '0o644'
    >>> os.unlink(name)

"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

__all__ = ["current_umask", "set_default_mode"]

_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``).

    Example:
        >>> 0 <= current_umask() <= 0o777
        True

    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    found = re.search(r"^Umask:\s*([0-7]+)", status, re.MULTILINE)
    if found:
        return int(found.group(1), 8)
    with _lock:  # elsewhere: set and restore (the only portable way to read it)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def set_default_mode(path: str | os.PathLike[str]) -> None:
    """Set ``path``'s mode to ``0o666 & ~umask``, what a plain ``open(path, "w")`` creates.

    Example:
        >>> set_default_mode("model/model.skops")  # doctest: +SKIP

    """
    os.chmod(path, 0o666 & ~current_umask())
