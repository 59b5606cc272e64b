"""The image: build it with the chosen engine, and read back what was built.

Every failure is a :class:`PackagingError`: one line naming the step, the
image and the tail of the engine's log, and the build folder is kept.

Example:
    >>> build_command("build/context", "example.com/iris-api:1.0.0")[:2]
    ['docker', 'build']

"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.model_packaging.engine import Engine
from opsml.errors import OpsmlError

__all__ = [
    "ImageInfo",
    "PackagingError",
    "build_command",
    "build_image",
    "inspect_image",
    "log_tail",
    "repository_of",
    "tag_image",
]


class PackagingError(OpsmlError):
    """A packaging step failed: the message names the step, the image and the log's tail.

    Example:
        >>> str(PackagingError("build", "iris-api:1.0.0", "exit 1", "no such image", "build/x"))
        'build of iris-api:1.0.0 failed: exit 1 | log: no such image | build folder kept: build/x'

    """

    code = "packaging_failed"

    def __init__(
        self, step: str, image: str, reason: str, log: str = "", folder: str | Path = ""
    ) -> None:
        self.step, self.image, self.reason, self.log, self.folder = (
            step,
            image,
            reason,
            log,
            str(folder),
        )
        parts = [f"{step} of {image} failed: {reason}"]
        if log:
            parts.append(f"log: {log}")
        if folder:
            parts.append(f"build folder kept: {folder}")
        super().__init__(" | ".join(parts))


def log_tail(text: str, lines: int = 8) -> str:
    r"""The last non-empty ``lines`` of ``text`` on one line.

    Example:
        >>> log_tail("a\n\nb\nc\n", lines=2)
        'b / c'

    """
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(kept[-lines:])


def build_command(context: str | Path, image: str, engine: str = "docker") -> list[str]:
    """The command that builds the image from the context.

    Example:
        >>> build_command("build/context", "example.com/iris-api:1.0.0")
        ['docker', 'build', '--tag', 'example.com/iris-api:1.0.0', 'build/context']

    """
    return Engine(engine).build_command(context, image)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ImageInfo:
    """What the engine says of a built image.

    Example:
        >>> ImageInfo(reference="a:1", id="sha256:0", digest="", size=1).user
        ''

    """

    reference: str
    id: str
    digest: str
    size: int
    user: str = ""
    command: list[str] = field(default_factory=list)
    workdir: str = ""
    env: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The fields the flow returns (no environment)."""
        return {
            "image": self.reference,
            "image_id": self.id,
            "digest": self.digest,
            "size_bytes": self.size,
            "size_mb": round(self.size / 1e6, 1),
            "user": self.user,
            "labels": self.labels,
        }


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
"""The decimal units engines print sizes in (``459 MB``, as Go's ``units.HumanSize``)."""


def _size_bytes(value: object) -> int:
    """Bytes from what ``buildah images --json`` gives as ``size``: a number, or ``"459 MB"``.

    Example:
        >>> _size_bytes(1024), _size_bytes("459 MB"), _size_bytes("1.5kB"), _size_bytes("?")
        (1024, 459000000, 1500, 0)

    """
    if isinstance(value, int | float):
        return int(value)
    number, _, unit = str(value).strip().partition(" ")
    if not unit:  # "1.5kB"
        head = number.rstrip("kKMGTBb")
        number, unit = head, number[len(head) :]
    try:
        return int(float(number) * _UNITS.get(unit.strip().lower() or "b", 0))
    except ValueError:
        return 0


def _buildah_size(image: str) -> int:
    done = subprocess.run(
        ["buildah", "images", "--json", image], capture_output=True, text=True, check=False
    )
    rows = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    return _size_bytes(rows[0].get("size", 0)) if rows else 0


def inspect_image(engine: Engine, image: str) -> ImageInfo:
    """Id, digest, size, ``USER``, command, working directory and labels of ``image``.

    Example:
        >>> inspect_image(Engine("podman"), "iris-api:1.0.0").user  # doctest: +SKIP
        '10001'

    """
    done = subprocess.run(
        engine.inspect_command(image), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PackagingError("inspect", image, "the engine does not know it", log_tail(done.stderr))
    data = json.loads(done.stdout)
    if engine.name == "buildah":
        config = data.get("OCIv1", {}).get("config", {})
        ident, digest, size = data.get("FromImageID", ""), data.get("FromImageDigest", ""), 0
        size = _buildah_size(image)
    else:
        data = data[0]
        config = data.get("Config") or {}
        ident, size = data.get("Id", ""), int(data.get("Size", 0))
        digest = data.get("Digest") or next(iter(data.get("RepoDigests") or []), "") or ident
        digest = digest.split("@")[-1]
    return ImageInfo(
        reference=image,
        id=ident if ident.startswith("sha256:") else f"sha256:{ident}",
        digest=digest,
        size=size,
        user=str(config.get("User") or ""),
        command=[*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])],
        workdir=str(config.get("WorkingDir") or ""),
        env=list(config.get("Env") or []),
        labels=dict(config.get("Labels") or {}),
    )


def repository_of(image: str) -> str:
    """``image`` without its tag or digest: what ``<repository>@<digest>`` is made from.

    Example:
        >>> repository_of("localhost:5000/ds-team/iris-api:1.0.0")
        'localhost:5000/ds-team/iris-api'
        >>> repository_of("iris-api@sha256:0a1b")
        'iris-api'

    """
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def tag_image(engine: Engine, source: str, image: str, folder: str | Path = "") -> None:
    """Make the reference ``image`` name the image ``source`` (an image id or a reference).

    Raises:
        PackagingError: the engine refused (the message has its error's tail).

    Example:
        >>> tag_image(Engine("podman"), "sha256:59c9…", "iris-api:1.0.0")  # doctest: +SKIP

    """
    done = subprocess.run(
        engine.tag_command(source, image), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PackagingError(
            "tag", image, f"could not tag {source}", log_tail(done.stderr), folder=folder
        )


_PULL_FAILED = (
    "initializing source",
    "pull access denied",
    "manifest unknown",
    "failed to resolve source metadata",
    "repository does not exist",
)
"""What engines print when the FROM image cannot be pulled."""


def build_image(
    engine: Engine,
    context: str | Path,
    image: str,
    folder: str | Path,
    build_args: dict[str, str] | None = None,
    no_cache: bool = False,
) -> ImageInfo:
    """Build ``image`` from ``context`` with ``engine``; the build log goes to ``folder``.

    ``no_cache`` rebuilds every layer (benchmarks measure the cold build).

    Raises:
        PackagingError: the build failed (the message has the log's tail).

    Example:
        >>> podman = Engine("podman")
        >>> build_image(podman, "build/context", "iris-api:1.0.0", "build")  # doctest: +SKIP
        ImageInfo(reference='iris-api:1.0.0', id='sha256:…', size=402000000, …)

    """
    log = Path(folder) / "image-build.log"
    command = engine.build_command(context, image, build_args, no_cache)
    started = time.perf_counter()
    with log.open("w") as stream:
        stream.write("$ " + " ".join(command) + "\n")
        stream.flush()
        done = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        text = log.read_text(errors="replace")
        reason = f"`{engine.name} build` exited {done.returncode} after "
        reason += f"{time.perf_counter() - started:.0f} s"
        if any(sign in text for sign in _PULL_FAILED):
            reason += (
                "; the base image could not be had: set the spec's api.base_image to one "
                "the engine can reach, or make one from Debian's packages with "
                "`python -m flows.model_packaging base`"
            )
        raise PackagingError("build", image, reason, log_tail(text), folder)
    return inspect_image(engine, image)
