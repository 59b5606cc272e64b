"""Bump a card's version: the next version above every existing one.

With no existing version: ``1.0.0`` for ``major``, ``minor`` and ``patch``,
``1.0.0-rc.1`` for ``pre`` and ``1.0.0+build.1`` for ``build``. Otherwise the
bump starts from the highest existing version by
:func:`~opsml.versioning.version_key`, pre-releases and builds included:

* ``major`` / ``minor`` / ``patch``: ``next_major()`` / ``next_minor()`` /
  ``next_patch()`` of the highest, build dropped. ``patch`` after ``1.0.11`` is
  ``1.0.12``; ``patch`` (or ``minor``) after ``1.1.0-rc.2`` is ``1.1.0``, the
  release of that pre-release.
* ``pre``: when the highest is a pre-release ``X-rc.N[...]``, the result is
  ``X-rc.(M+1)`` with ``M`` the highest ``rc`` number of ``X`` (``1.1.0-rc.1``
  then ``1.1.0-rc.2``); when the highest is a release, the next minor's first
  pre-release (``1.0.11`` gives ``1.1.0-rc.1``). ``rc`` is ``pre_label``.
* ``build``: ``base+build.(N+1)``, where ``base`` is the highest without its
  build metadata and ``N`` the highest ``build`` number of that base
  (``1.0.0+build.1`` then ``1.0.0+build.2``). ``build`` is ``build_label``.

The result always sorts above every existing version, so it is never one of
them. A ``pre`` or ``build`` bump whose label would sort below the highest
(``pre_label="beta"`` after ``1.1.0-rc.2``) raises :class:`VersionError`
instead of going backwards, and so does a bump whose result the registry could
not store (``major`` after ``9223372036854775807.0.0``, see
:data:`~opsml.versioning.MAX_VERSION_NUMBER`).

Example:
    >>> next_version(["1.0.11"], "pre")
    '1.1.0-rc.1'

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import semantic_version

from opsml.errors import VersionError
from opsml.versioning.semver import as_list, key_of, parse_version, version_problem

VERSION_TYPES: Final = ("major", "minor", "patch", "pre", "build")
"""The accepted ``version_type`` values of :func:`next_version`."""

_LABEL_RE: Final = re.compile(r"[0-9]*[A-Za-z-][0-9A-Za-z-]*")
_RELEASE_BUMPS: Final = {
    "major": semantic_version.Version.next_major,
    "minor": semantic_version.Version.next_minor,
    "patch": semantic_version.Version.next_patch,
}


def _check_label(label: str, argument: str) -> None:
    """Check that a pre-release or build label is one non-numeric identifier."""
    if not isinstance(label, str) or _LABEL_RE.fullmatch(label) is None:
        raise VersionError(
            f"invalid {argument} {label!r}: expected one identifier of ASCII letters, "
            "digits and '-', with at least one letter or '-' (such as 'rc' or 'build')"
        )


def _check_arguments(version_type: str, pre_label: str, build_label: str) -> None:
    """Refuse an unknown bump or a malformed label."""
    if version_type not in VERSION_TYPES:
        raise VersionError(
            f"invalid version_type {version_type!r}: expected one of {'|'.join(VERSION_TYPES)}"
        )
    _check_label(pre_label, "pre_label")
    _check_label(build_label, "build_label")


def _numbered(identifiers: tuple[str, ...], label: str) -> int | None:
    """Return N when ``identifiers`` starts with ``(label, N)``, else None."""
    if len(identifiers) >= 2 and identifiers[0] == label and identifiers[1].isdigit():
        return int(identifiers[1])
    return None


def _bump_pre(
    highest: semantic_version.Version,
    parsed: list[semantic_version.Version],
    label: str,
) -> semantic_version.Version:
    """Return the next ``-<label>.N`` pre-release above ``highest``."""
    base = highest.truncate("patch") if highest.prerelease else highest.next_minor()
    numbers = [
        number
        for version in parsed
        if version.truncate("patch") == base
        and (number := _numbered(version.prerelease, label)) is not None
    ]
    return semantic_version.Version(f"{base}-{label}.{max(numbers, default=0) + 1}")


def _bump_build(
    highest: semantic_version.Version,
    parsed: list[semantic_version.Version],
    label: str,
) -> semantic_version.Version:
    """Return ``base+<label>.(N+1)`` where ``base`` is ``highest`` without its build."""
    base = highest.truncate("prerelease")
    numbers = [
        number
        for version in parsed
        if version.truncate("prerelease") == base
        and (number := _numbered(version.build, label)) is not None
    ]
    return semantic_version.Version(f"{base}+{label}.{max(numbers, default=0) + 1}")


def _first_version(version_type: str, pre_label: str, build_label: str) -> str:
    """The version of a name that has none yet."""
    if version_type == "pre":
        return f"1.0.0-{pre_label}.1"
    if version_type == "build":
        return f"1.0.0+{build_label}.1"
    return "1.0.0"


def _check_candidate(
    candidate: semantic_version.Version,
    highest: semantic_version.Version,
    version_type: str,
    label: str,
) -> None:
    """Refuse a bump the registry cannot store or that would not go up."""
    problem = version_problem(str(candidate))
    if problem is not None:
        raise VersionError(
            f"cannot make a {version_type!r} version after {highest}: {candidate} is not "
            f"a version the registry can store ({problem})"
        )
    if key_of(candidate) <= key_of(highest):
        argument = "pre_label" if version_type == "pre" else "build_label"
        raise VersionError(
            f"cannot make a {version_type!r} version after {highest}: {candidate} would sort "
            f"below it; use a {argument} that sorts after {label!r} in the existing "
            "versions, or bump major|minor|patch first"
        )


def next_version(
    existing: Iterable[str],
    version_type: str,
    *,
    pre_label: str = "rc",
    build_label: str = "build",
) -> str:
    """Return the next version of a card, following the rules of the module docstring.

    Args:
        existing: Every version the card name already has (deleted ones included,
            since versions are never reused). May be empty.
        version_type: One of ``major``, ``minor``, ``patch``, ``pre``, ``build``.
        pre_label: The pre-release label of a ``pre`` bump.
        build_label: The build-metadata label of a ``build`` bump.

    Returns:
        A new version string, sorting above every existing one.

    Raises:
        VersionError: When ``version_type`` or a label is invalid, an existing
            version is invalid, the bump would sort below the highest version
            (a ``pre_label`` or ``build_label`` sorting below the current one),
            or the result is a version the registry cannot store.

    Example:
        >>> next_version([], "minor")
        '1.0.0'
        >>> next_version(["1.0.9", "1.0.11"], "patch")
        '1.0.12'
        >>> next_version(["1.0.11"], "pre"), next_version(["1.0.11", "1.1.0-rc.1"], "pre")
        ('1.1.0-rc.1', '1.1.0-rc.2')
        >>> next_version(["1.1.0-rc.2"], "patch")
        '1.1.0'
        >>> next_version(["1.0.0", "1.0.0+build.1"], "build")
        '1.0.0+build.2'

    """
    _check_arguments(version_type, pre_label, build_label)
    parsed = [parse_version(text) for text in as_list(existing, "existing")]
    if not parsed:
        return _first_version(version_type, pre_label, build_label)

    highest = max(parsed, key=key_of)
    if version_type == "pre":
        candidate = _bump_pre(highest, parsed, pre_label)
    elif version_type == "build":
        candidate = _bump_build(highest, parsed, build_label)
    else:
        # the highest's bump is above every existing version: it is never taken
        candidate = _RELEASE_BUMPS[version_type](highest)
    _check_candidate(
        candidate, highest, version_type, pre_label if version_type == "pre" else build_label
    )
    return str(candidate)
