"""Container engines for the tests that build and start images (docs/design.md §16).

In CI (``CI`` set) a missing engine or ``mmdebstrap`` fails the run: `.ci/run`
installs them. Elsewhere those tests skip and say how to get them.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

INSTALL = "apt-get install podman buildah mmdebstrap"


def missing(what: str) -> None:
    """Fail in CI, skip elsewhere, naming what is missing and how to install it."""
    message = f"{what}; install it with `{INSTALL}`"
    if os.environ.get("CI"):
        pytest.fail(f"CI must build and start images: {message}")
    pytest.skip(message)


def engine_or_missing() -> Any:
    """The container engine the packaging would use here."""
    from flows.model_packaging import find_engine

    engine = find_engine()
    if engine is None:
        missing("no container engine answers (docker, podman or buildah)")
    return engine


def debian_base_or_missing(engine: Any) -> str:
    """The cached base image made from Debian's packages, imported into ``engine``."""
    from flows.model_packaging import DebianBase

    if shutil.which("mmdebstrap") is None:
        missing("mmdebstrap is not installed (it makes the base image offline)")
    return str(DebianBase().ensure(engine))
