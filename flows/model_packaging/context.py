"""The container build context: API code, model files, ``card.json``, pins, Dockerfile.

Every file of the context is made readable by everyone (folders searchable): the
Dockerfile copies them and runs the API as an unprivileged user (``USER 10001``).

Example:
    >>> assemble_context(spec, "flows", "build/model", "build")  # doctest: +SKIP
    PosixPath('build/context')

"""

from __future__ import annotations

import importlib.metadata
import shutil
import stat
import string
import sys
from pathlib import Path
from typing import Any

from flows.model_packaging.spec import ModelApiSpec, SpecError, read_card

__all__ = ["DEFAULT_API_CODE", "assemble_context", "not_readable_by_all", "pinned_requirements"]

DEFAULT_API_CODE = Path(__file__).resolve().parent.parent / "model_api"

# The model's own libraries: pinned to the versions recorded on its card.
_CARD_PINNED = {"scikit-learn": "sklearn", "skops": "skops", "numpy": "numpy"}


def pinned_requirements(template: Path, card: dict[str, Any]) -> str:
    r"""Pin every requirement: the model's libraries to its card, the rest to the tested ones.

    Example:
        >>> pinned_requirements(DEFAULT_API_CODE / "requirements.txt", card)  # doctest: +SKIP
        'fastapi==0.115.0\n...'

    """
    recorded = card.get("metadata", {}).get("model", {}).get("library_versions", {})
    lines = []
    for raw in template.read_text().splitlines():
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if any(op in name for op in "=<>~!@ "):
            lines.append(name)  # already pinned by the author
            continue
        version = recorded.get(_CARD_PINNED.get(name, ""))
        if version is None:
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                version = None
        lines.append(f"{name}=={version}" if version else name)
    return "\n".join(lines) + "\n"


def assemble_context(
    spec: ModelApiSpec, spec_dir: str | Path, model_dir: str | Path, out_dir: str | Path
) -> Path:
    """Write the container build context: API code, model files, ``card.json``, pins, Dockerfile.

    Args:
        spec: the validated spec.
        spec_dir: folder of the spec file (``api.code`` is relative to it).
        model_dir: the pulled model (files and ``card.json``).
        out_dir: where to write; the context goes to ``out_dir/context``.

    Returns:
        The context folder.

    Example:
        >>> assemble_context(spec, "flows", "build/model", "build")  # doctest: +SKIP
        PosixPath('build/context')

    """
    code = (Path(spec_dir) / spec.api.code).resolve()
    if not (code / "app.py").is_file():
        raise SpecError(f"api.code {spec.api.code!r}: no app.py in {code.name}/")
    card = read_card(model_dir)
    context = Path(out_dir) / "context"
    if context.exists():
        shutil.rmtree(context)
    shutil.copytree(
        code,
        context,
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "model", "Dockerfile.template", "requirements.txt"
        ),
    )
    if Path(model_dir).resolve() != (context / "model").resolve():
        shutil.copytree(model_dir, context / "model")
    template = code / "requirements.txt"
    if not template.is_file():
        template = DEFAULT_API_CODE / "requirements.txt"
    (context / "requirements.txt").write_text(pinned_requirements(template, card))
    (context / "Dockerfile").write_text(_dockerfile(code, spec, card))
    (context / ".dockerignore").write_text("__pycache__/\n*.pyc\n")
    _make_readable_by_all(context)
    return context


def _dockerfile(code: Path, spec: ModelApiSpec, card: dict[str, Any]) -> str:
    """The API's ``Dockerfile.template`` (or the example's) filled in for this model."""
    dockerfile = code / "Dockerfile.template"
    if not dockerfile.is_file():
        dockerfile = DEFAULT_API_CODE / "Dockerfile.template"
    python = (
        card.get("metadata", {})
        .get("model", {})
        .get("library_versions", {})
        .get("python", f"{sys.version_info.major}.{sys.version_info.minor}")
    )
    return string.Template(dockerfile.read_text()).substitute(
        python_version=".".join(str(python).split(".")[:2]),
        port=spec.api.port,
        model_name=card["name"],
        model_repository=card["repository"],
        model_version=card["version"],
        model_uid=card["uid"],
    )


def _make_readable_by_all(folder: Path) -> None:
    """``chmod -R a+rX``: the image's user (not the one who pulled) must read every file."""
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if path.is_dir():
            extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        path.chmod(stat.S_IMODE(mode) | extra)


def not_readable_by_all(folder: str | Path) -> list[str]:
    """Paths under ``folder`` that another user could not read (folders: not search).

    Example:
        >>> not_readable_by_all("build/context")  # doctest: +SKIP
        []

    """
    root = Path(folder)
    bad = []
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        needs = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needs != needs:
            bad.append(f"{path.relative_to(root).as_posix() or '.'} ({oct(stat.S_IMODE(mode))})")
    return bad
