"""The image: build it when a container engine answers, else say the command.

Example:
    >>> build_command("build/context", "example.com/iris-api:1.0.0")[:2]
    ['docker', 'build']

"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["build_command", "build_image", "container_engine"]


def container_engine() -> str | None:
    """``docker`` or ``podman`` when its daemon answers ``info``, else ``None``.

    Example:
        >>> container_engine() in (None, "docker", "podman")
        True

    """
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        try:
            done = subprocess.run([engine, "info"], capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return engine
    return None


def build_command(context: str | Path, image: str, engine: str = "docker") -> list[str]:
    """The command that builds the image from the context.

    Example:
        >>> build_command("build/context", "example.com/iris-api:1.0.0")
        ['docker', 'build', '-t', 'example.com/iris-api:1.0.0', 'build/context']

    """
    return [engine, "build", "-t", image, str(context)]


def build_image(context: str | Path, image: str) -> dict[str, Any]:
    """Build the image when a container engine answers; else return the command to run.

    Returns:
        ``built`` (bool), ``image``, ``command`` (the build command as a string).

    Example:
        >>> build_image("build/context", "example.com/iris-api:1.0.0")  # doctest: +SKIP
        {'built': False, 'image': ..., 'command': 'docker build -t ...'}

    """
    engine = container_engine()
    command = build_command(context, image, engine or "docker")
    if engine is None:
        return {"built": False, "image": image, "command": " ".join(command)}
    subprocess.run(command, check=True)
    return {"built": True, "image": image, "command": " ".join(command)}
