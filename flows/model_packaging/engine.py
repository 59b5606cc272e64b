"""Container engines: which one to use, and the commands it takes.

``docker``, ``podman`` or ``buildah`` (daemonless, as on CI runners without a
Docker socket), found in that order unless the spec's ``engine:`` or
``$OPSML_CONTAINER_ENGINE`` names one. podman and buildah build with
``--isolation chroot``, which works inside unprivileged CI containers where
an OCI runtime cannot start (docs/design.md §16).

Example:
    >>> Engine("podman").build_command("build/context", "iris-api:1.0.0")[:4]
    ['podman', 'build', '--isolation', 'chroot']

"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opsml.errors import InvalidInputError

__all__ = ["ENGINES", "Engine", "EngineName", "find_engine"]

EngineName = Literal["docker", "podman", "buildah"]
ENGINES: tuple[EngineName, ...] = ("docker", "podman", "buildah")


def _answers(*command: str) -> bool:
    try:
        done = subprocess.run(list(command), capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class Engine:
    """One container engine, by name.

    Example:
        >>> Engine("docker").build_command("ctx", "iris-api:1.0.0")
        ['docker', 'build', '--tag', 'iris-api:1.0.0', 'ctx']

    """

    name: EngineName

    def answers(self) -> bool:
        """Whether the engine is installed and can build here (``docker info`` for a daemon).

        Example:
            >>> Engine("buildah").answers() in (True, False)
            True

        """
        if shutil.which(self.name) is None:
            return False
        probe = ("info",) if self.name != "buildah" else ("images", "--quiet")
        return _answers(self.name, *probe)

    def build_command(
        self,
        context: str | Path,
        image: str,
        build_args: dict[str, str] | None = None,
        no_cache: bool = False,
    ) -> list[str]:
        """The command that builds ``image`` from ``context`` (``--build-arg`` for each arg)."""
        args = [o for k, v in (build_args or {}).items() for o in ("--build-arg", f"{k}={v}")]
        args += ["--no-cache"] if no_cache else []
        if self.name == "docker":
            return ["docker", "build", *args, "--tag", image, str(context)]
        verb = "build" if self.name == "podman" else "bud"
        isolation = ["--isolation", "chroot", "--network", "host"]
        return [self.name, verb, *isolation, *args, "--tag", image, str(context)]

    def inspect_command(self, image: str) -> list[str]:
        """The command that prints the image's configuration as JSON."""
        if self.name == "buildah":
            return ["buildah", "inspect", "--type", "image", image]
        return [self.name, "image", "inspect", image]

    def tag_command(self, source: str, image: str) -> list[str]:
        """The command that makes ``image`` name the image ``source`` (an id or a reference).

        Example:
            >>> Engine("podman").tag_command("sha256:0a1b", "iris-api:1.0.0")
            ['podman', 'tag', 'sha256:0a1b', 'iris-api:1.0.0']

        """
        return [self.name, "tag", source, image]

    def remove_command(self, image: str) -> list[str]:
        """The command that removes ``image`` (ignoring containers that use it)."""
        if self.name == "buildah":
            return ["buildah", "rmi", "--force", image]
        return [self.name, "image", "rm", "--force", image]


def find_engine(wanted: str | None = None) -> Engine | None:
    """The engine to use: ``wanted``, else ``$OPSML_CONTAINER_ENGINE``, else the first that answers.

    Returns:
        ``None`` when nothing was named and no engine answers.

    Raises:
        InvalidInputError: ``wanted`` (or the variable) names an unknown engine, or one
            that does not answer here.

    Example:
        >>> find_engine() in (None, *map(Engine, ENGINES))
        True

    """
    named = wanted or os.environ.get("OPSML_CONTAINER_ENGINE") or None
    if named is not None:
        if named not in ENGINES:
            raise InvalidInputError(
                f"container engine {named!r} is not one of {', '.join(ENGINES)}"
            )
        engine = Engine(named)
        if not engine.answers():
            raise InvalidInputError(
                f"container engine {named!r} was asked for (spec api.engine or "
                "OPSML_CONTAINER_ENGINE) but does not answer here: install it or name another"
            )
        return engine
    for name in ENGINES:
        engine = Engine(name)
        if engine.answers():
            return engine
    return None
