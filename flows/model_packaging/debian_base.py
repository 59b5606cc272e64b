r"""A base image made from Debian's packages, for machines that reach no image registry.

``mmdebstrap`` writes a minimal Debian root file system with Python 3 and
``venv`` (about 25-70 s, a little over 200 MB); the engine imports it as a
local image. The tarball is kept in a cache folder keyed by the suite and the
package list, so it is built once; the image is imported again only when the
engine's store lost it. Tests and CI build their serving images on it, since
``python:<x.y>-slim`` cannot be pulled there.

From the shell (prints the image reference)::

    python -m flows.model_packaging base

Example:
    >>> DebianBase().reference.startswith("localhost/opsml-debian-base:bookworm-")
    True

"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flows.model_packaging.engine import Engine
from opsml.errors import OpsmlError

__all__ = ["BaseImageError", "DebianBase"]

logger = logging.getLogger(__name__)

_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Documentation, manual pages and translations are not needed to serve a model.
_EXCLUDES = (
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
)


class BaseImageError(OpsmlError):
    """The Debian base image could not be made (mmdebstrap missing or failing)."""

    code = "base_image_failed"


def _cache_root() -> Path:
    configured = os.environ.get("OPSML_BASE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "opsml" / "base-images"


@dataclass(frozen=True)
class DebianBase:
    """A minimal Debian image with Python 3, built once per suite and package list.

    Example:
        >>> DebianBase(suite="bookworm").key == DebianBase(suite="bookworm").key
        True

    """

    suite: str = "bookworm"
    packages: tuple[str, ...] = _PACKAGES

    @property
    def key(self) -> str:
        """What the tarball and the image tag are named by: suite, packages, excludes."""
        text = "\n".join((self.suite, *sorted(self.packages), *_EXCLUDES))
        return f"{self.suite}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    @property
    def reference(self) -> str:
        """The local image reference, e.g. ``localhost/opsml-debian-base:bookworm-1a2b…``."""
        return f"localhost/opsml-debian-base:{self.key}"

    def tarball(self, cache: Path | None = None) -> Path:
        """The root file system tarball, made with ``mmdebstrap`` when the cache lacks it."""
        folder = cache or _cache_root()
        target = folder / f"{self.key}.tar"
        if target.is_file():
            return target
        if shutil.which("mmdebstrap") is None:
            raise BaseImageError(
                "mmdebstrap is not installed (apt-get install mmdebstrap): it makes the base "
                "image from Debian's packages"
            )
        folder.mkdir(parents=True, exist_ok=True)
        logger.info("making the Debian base %s with mmdebstrap (about a minute)", self.key)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            partial = Path(scratch) / "rootfs.tar"
            done = subprocess.run(
                [
                    "mmdebstrap",
                    "--variant=minbase",
                    f"--include={','.join(self.packages)}",
                    *_EXCLUDES,
                    self.suite,
                    str(partial),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                tail = " | ".join(done.stderr.strip().splitlines()[-5:])
                raise BaseImageError(f"mmdebstrap {self.suite} failed: {tail}")
            partial.replace(target)  # whole or not at all
        return target

    def ensure(self, engine: Engine, cache: Path | None = None) -> str:
        """The image reference, imported into ``engine``'s store when it is not there yet.

        Example:
            >>> DebianBase().ensure(Engine("podman"))  # doctest: +SKIP
            'localhost/opsml-debian-base:bookworm-1a2b3c4d5e6f'

        """
        if (
            subprocess.run(
                engine.inspect_command(self.reference), capture_output=True, check=False
            ).returncode
            == 0
        ):
            return self.reference
        tarball = self.tarball(cache)
        if engine.name == "buildah":
            command = ["sh", "-c", _BUILDAH_IMPORT, "import", str(tarball), self.reference]
        else:
            command = [engine.name, "import", str(tarball), self.reference]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BaseImageError(f"{engine.name} could not import {tarball}: {done.stderr.strip()}")
        return self.reference


# buildah has no `import`: a scratch container, the tarball added at /, committed.
_BUILDAH_IMPORT = (
    'set -e; c=$(buildah from scratch); buildah add --quiet "$c" "$1" / >/dev/null; '
    'buildah commit --quiet --rm "$c" "$2" >/dev/null'
)
