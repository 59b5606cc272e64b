"""Parse, bound and order versions: one strict SemVer 2.0.0 string, never string comparison.

Every card version is a strict `SemVer 2.0.0 <https://semver.org>`_ string,
parsed with :mod:`semantic_version`. It must also fit the registry's columns
(``opsml/backends/sql/tables.py``): at most :data:`MAX_VERSION_LENGTH`
characters (the ``version`` column; its pre-release and build parts are shorter
still, and fit their own columns of the same size), and every number at most
:data:`MAX_VERSION_NUMBER` (the signed 64-bit ``major``, ``minor``, ``patch``
columns). A version outside those bounds is refused here, before any database
sees it, so every backend gives the same answer.

Order (:func:`version_key`, :func:`sorted_versions`): SemVer precedence first
(``1.0.9 < 1.0.11``, ``1.1.0-rc.1 < 1.1.0``). SemVer gives build metadata no
precedence, so versions that differ only in their build are tied; we break the
tie so that the order is total: no build sorts first, then builds are compared
identifier by identifier like pre-release identifiers (numeric ones
numerically, others as ASCII strings, numeric below alphanumeric, a shorter
prefix first), so ``1.0.0 < 1.0.0+build.1 < 1.0.0+build.2 < 1.0.0+build.10``.
Two different valid strings never tie.

Example:
    >>> sorted_versions(["1.0.11", "1.0.9", "1.0.9+build.1"])
    ['1.0.9', '1.0.9+build.1', '1.0.11']

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, TypeAlias

import semantic_version

from opsml.errors import VersionError

MAX_VERSION_LENGTH: Final = 128
"""The longest version string the registry stores (``String(128)`` columns)."""

MAX_VERSION_NUMBER: Final = 2**63 - 1
"""The largest major, minor or patch number (``BigInteger``: signed 64-bit)."""

_IdentifierKey: TypeAlias = tuple[int, int, str]
VersionKey: TypeAlias = tuple[
    int, int, int, tuple[int, tuple[_IdentifierKey, ...]], tuple[_IdentifierKey, ...]
]
"""What :func:`version_key` returns: major, minor, patch, pre-release part, build part."""

NUM: Final = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
# The regular expression of semver.org, spelled with ASCII classes only.
SEMVER_RE: Final = re.compile(
    rf"(?P<major>{NUM})\.(?P<minor>{NUM})\.(?P<patch>{NUM})"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    rf"(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?"
)

VERSION_FORMS: Final = (
    "a SemVer 2.0.0 version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] "
    "such as '1.2.3', '1.2.3-rc.1' or '1.2.3+build.4' (no 'v' prefix, no leading zeros)"
)


def shown(value: object) -> str:
    """Quote what a caller wrote, shortened when it is long."""
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:60]!r}... ({len(value)} characters)"
    return repr(value)


def number_problem(part: str, digits: str) -> str | None:
    """Why a major, minor or patch number cannot be stored, or None when it can."""
    if len(digits) > len(str(MAX_VERSION_NUMBER)) or int(digits) > MAX_VERSION_NUMBER:
        return (
            f"its {part} number {digits} is above {MAX_VERSION_NUMBER}, the largest "
            "version number the registry stores (a signed 64-bit integer)"
        )
    return None


def version_problem(text: object) -> str | None:
    """Why ``text`` is not a version the registry can store, or None when it is."""
    if not isinstance(text, str):
        return f"expected {VERSION_FORMS}"
    if len(text) > MAX_VERSION_LENGTH:
        return (
            f"it is {len(text)} characters long; a version has at most "
            f"{MAX_VERSION_LENGTH} characters"
        )
    match = SEMVER_RE.fullmatch(text)
    if match is None:
        return f"expected {VERSION_FORMS}"
    for part in ("major", "minor", "patch"):
        problem = number_problem(part, match.group(part))
        if problem is not None:
            return problem
    return None


def parse_version(text: str) -> semantic_version.Version:
    """Parse a strict SemVer 2.0.0 version that the registry can store.

    Args:
        text: The version, such as ``"1.2.3"``, ``"1.2.3-rc.1"`` or
            ``"1.2.3+build.4"``. Nothing else is accepted: no ``v`` prefix, no
            missing part, no leading zero, no surrounding whitespace, no number
            above :data:`MAX_VERSION_NUMBER`, no more than
            :data:`MAX_VERSION_LENGTH` characters.

    Returns:
        The parsed :class:`semantic_version.Version`.

    Raises:
        VersionError: When ``text`` is not a string, not a SemVer 2.0.0
            version, or outside the bounds above.

    Example:
        >>> parse_version("1.2.3-rc.1+build.4")
        Version('1.2.3-rc.1+build.4')
        >>> parse_version("v1.2.3")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        opsml.errors.VersionError: invalid version 'v1.2.3': expected a SemVer 2.0.0 ...
        >>> parse_version("9223372036854775808.0.0")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        opsml.errors.VersionError: invalid version '9223372036854775808.0.0': its major ...

    """
    problem = version_problem(text)
    if problem is not None:
        raise VersionError(f"invalid version {shown(text)}: {problem}")
    try:
        return semantic_version.Version(text)
    except ValueError as exc:  # pragma: no cover - the regex is stricter than the library
        raise VersionError(f"invalid version {text!r}: {exc}; expected {VERSION_FORMS}") from exc


def is_exact(spec: str) -> bool:
    """Tell whether ``spec`` is one full version rather than a range.

    Args:
        spec: A version spec.

    Returns:
        True when ``spec`` is a strict ``x.y.z[-pre][+build]`` version (as accepted
        by :func:`parse_version`), False for anything else, never an error.

    Example:
        >>> is_exact("1.0.1"), is_exact("1.0.0+build.1"), is_exact("1.0"), is_exact("^1.0.1")
        (True, True, False, False)

    """
    return version_problem(spec) is None


def _identifier_key(identifier: str) -> _IdentifierKey:
    """Order one dot-separated identifier: numbers numerically and below words."""
    if identifier.isdigit():
        # The raw text breaks the tie between "01" and "1" (allowed in builds).
        return (0, int(identifier), identifier)
    return (1, 0, identifier)


def key_of(version: semantic_version.Version) -> VersionKey:
    """Build the :func:`version_key` of a parsed version."""
    prerelease = tuple(_identifier_key(part) for part in version.prerelease)
    # A release sorts after every pre-release of the same MAJOR.MINOR.PATCH.
    pre_part = (0, prerelease) if prerelease else (1, ())
    build_part = tuple(_identifier_key(part) for part in version.build)
    return (version.major, version.minor, version.patch, pre_part, build_part)


def version_key(text: str) -> VersionKey:
    """Return a sort key that totally orders versions.

    SemVer precedence first; between versions of equal precedence the build
    metadata breaks the tie: no build first, then identifier by identifier,
    numeric identifiers numerically.

    Args:
        text: A SemVer 2.0.0 version.

    Returns:
        A tuple of ints, strings and tuples; compare keys with ``<``.

    Raises:
        VersionError: When ``text`` is not a valid version.

    Example:
        >>> version_key("1.0.11") > version_key("1.0.9")
        True
        >>> version_key("1.0.0+build.10") > version_key("1.0.0+build.9") > version_key("1.0.0")
        True

    """
    return key_of(parse_version(text))


def as_list(versions: Iterable[str], argument: str) -> list[str]:
    """Materialize an iterable of versions, refusing a lone string."""
    if isinstance(versions, str):
        raise VersionError(
            f"{argument} must be an iterable of version strings, not the single "
            f"string {versions!r}; pass [{versions!r}]"
        )
    return list(versions)


def sorted_versions(versions: Iterable[str]) -> list[str]:
    """Sort versions in ascending :func:`version_key` order.

    Args:
        versions: Valid SemVer 2.0.0 version strings.

    Returns:
        A new list, lowest first; duplicates are kept.

    Raises:
        VersionError: When one of the versions is invalid.

    Example:
        >>> sorted_versions(["1.0.11", "1.0.9", "1.0.9+build.1", "1.1.0-rc.1", "1.0.10"])
        ['1.0.9', '1.0.9+build.1', '1.0.10', '1.0.11', '1.1.0-rc.1']

    """
    return sorted(as_list(versions, "versions"), key=version_key)
