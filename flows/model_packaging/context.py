"""The container build context: API code, model files, ``card.json``, wheels, Dockerfile.

Every file of the context is made readable by everyone (folders searchable): the
Dockerfile copies them and runs the API as an unprivileged user (``USER 10001``).

Example:
    >>> assemble_context(spec, "flows", "build/model", "build")  # doctest: +SKIP
    PosixPath('build/context')

"""

from __future__ import annotations

import shutil
import stat
import string
import sys
from pathlib import Path
from typing import Any

from flows.model_packaging.requirements import serving_requirements
from flows.model_packaging.spec import ModelApiSpec, SpecError, read_card
from flows.model_packaging.wheels import WheelTarget, vendor_wheels

__all__ = [
    "DEFAULT_API_CODE",
    "assemble_context",
    "base_image_for",
    "card_python",
    "not_readable_by_all",
]

DEFAULT_API_CODE = Path(__file__).resolve().parent.parent / "model_api"


def card_python(card: dict[str, Any]) -> str:
    """The Python ``major.minor`` the card's model was saved with (else this one's).

    Example:
        >>> card_python({"metadata": {"model": {"library_versions": {"python": "3.11.7"}}}})
        '3.11'

    """
    recorded = card.get("metadata", {}).get("model", {}).get("library_versions", {}).get("python")
    python = recorded or f"{sys.version_info.major}.{sys.version_info.minor}"
    return ".".join(str(python).split(".")[:2])


def base_image_for(spec: ModelApiSpec, card: dict[str, Any], override: str | None = None) -> str:
    """``override``, else the spec's ``api.base_image``, else ``python:<card's x.y>-slim``.

    Example:
        >>> base_image_for(spec, {"metadata": {}}, "localhost/base:1")  # doctest: +SKIP
        'localhost/base:1'

    """
    return override or spec.api.base_image or f"python:{card_python(card)}-slim"


def assemble_context(
    spec: ModelApiSpec,
    spec_dir: str | Path,
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    base_image: str | None = None,
    wheel_cache: str | Path | None = None,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write the container build context: API code, model files, ``card.json``, wheels, Dockerfile.

    The wheels of the API's and the model's dependencies go to ``wheels/``,
    hashed in ``requirements.txt`` (``requirements.in`` keeps the top-level
    pins), so that the image builds with no network.

    Args:
        spec: the validated spec.
        spec_dir: folder of the spec file (``api.code`` is relative to it).
        model_dir: the pulled model (files and ``card.json``).
        out_dir: where to write; the context goes to ``out_dir/context``.
        base_image: overrides the spec's ``api.base_image`` (see :func:`base_image_for`).
        wheel_cache: wheel cache folder (default ``$OPSML_WHEEL_CACHE`` or
            ``~/.cache/opsml/wheels``).
        card: ``model_dir``'s ``card.json`` when the caller has read it already
            (default: read here).

    Returns:
        The context folder.

    Example:
        >>> assemble_context(spec, "flows", "build/model", "build")  # doctest: +SKIP
        PosixPath('build/context')

    """
    code = (Path(spec_dir) / spec.api.code).resolve()
    if not (code / "app.py").is_file():
        raise SpecError(f"api.code {spec.api.code!r}: no app.py in {code.name}/")
    card = read_card(model_dir) if card is None else card
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
    vendor_wheels(
        serving_requirements(template, card),
        context,
        WheelTarget(python=card_python(card)),
        wheel_cache,
    )
    base = base_image_for(spec, card, base_image)
    (context / "Dockerfile").write_text(_dockerfile(code, spec, card, base))
    (context / ".dockerignore").write_text("__pycache__/\n*.pyc\nrequirements.in\n")
    _make_readable_by_all(context)
    return context


def _dockerfile(code: Path, spec: ModelApiSpec, card: dict[str, Any], base: str) -> str:
    """The API's ``Dockerfile.template`` (or the example's) filled in for this model."""
    dockerfile = code / "Dockerfile.template"
    if not dockerfile.is_file():
        dockerfile = DEFAULT_API_CODE / "Dockerfile.template"
    return string.Template(dockerfile.read_text()).substitute(
        base_image=base,
        python_version=card_python(card),
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
