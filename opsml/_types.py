"""Type names shared by every layer, from the store up; this module imports nothing of opsml.

``ProgressCallback`` is re-exported by :mod:`opsml.backends.base`, where it was
first defined, so older imports keep working.

Example:
    >>> moved = []
    >>> progress: ProgressCallback = moved.append
    >>> progress(4096)
    >>> moved
    [4096]

"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback"]

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just moved (for progress bars)."""
