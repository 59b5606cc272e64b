"""SemVer rules of the registry: parse, order, bump and resolve a version spec.

Every card version is a strict `SemVer 2.0.0 <https://semver.org>`_ string, parsed
and ordered with :mod:`semantic_version` (never string comparison). This module is
pure: no I/O, and it imports only :mod:`semantic_version` and the standard library.

Order (:func:`version_key`, :func:`sorted_versions`)
    SemVer precedence first (``1.0.9 < 1.0.11``, ``1.1.0-rc.1 < 1.1.0``). SemVer
    gives build metadata no precedence, so versions that differ only in their
    build are tied; we break the tie so that the order is total: no build sorts
    first, then builds are compared identifier by identifier like pre-release
    identifiers (numeric ones numerically, others as ASCII strings, numeric below
    alphanumeric, a shorter prefix first), so ``1.0.0 < 1.0.0+build.1 <
    1.0.0+build.2 < 1.0.0+build.10``. Two different valid strings never tie.

Bumps (:func:`next_version`)
    With no existing version: ``1.0.0`` for ``major``, ``minor`` and ``patch``,
    ``1.0.0-rc.1`` for ``pre`` and ``1.0.0+build.1`` for ``build``. Otherwise the
    bump starts from the highest existing version by :func:`version_key`,
    pre-releases and builds included:

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
    instead of going backwards.

Resolution (:func:`resolve_version`) returns one of the given version strings,
or ``None`` when nothing matches:

* ``None`` or ``"latest"`` (any case, surrounding spaces ignored): the highest
  release; the highest pre-release only when there is no release at all.
* An exact version (:func:`is_exact`), alone or written ``==1.2.3`` /
  ``=1.2.3``: exactly that string. ``"1.0.1"`` never matches ``1.0.11`` and
  ``"1.0.0"`` does not match ``1.0.0+build.1``; ``"1.0.0+build.1"`` matches only
  itself.
* A partial version ``"1"``, ``"1.0"``, ``"1.*"``, ``"1.0.*"``, ``"1.x"``,
  ``"*"``, or a range in the syntax of :class:`semantic_version.SimpleSpec`:
  ``^1.2``, ``~1.2.3``, ``~=1.2``, ``>=1.0,<2``, ``!=1.0.0``. The highest match
  by :func:`version_key` wins, so between equal precedences the highest build
  wins. Spaces around the commas are allowed.
* Partial versions and ranges match pre-releases only when the spec itself
  names a pre-release (``>=1.1.0-rc.1``); then every version the
  :class:`~semantic_version.SimpleSpec` accepts can match. Otherwise
  pre-releases are never returned, even when nothing else is in the range
  (only ``latest`` falls back to pre-releases).

Every malformed version or spec raises :class:`opsml.errors.VersionError` with a
message that names the offending value and lists what is accepted.

Example:
    >>> resolve_version("1.0.1", ["1.0.1", "1.0.11"])
    '1.0.1'
    >>> resolve_version("latest", ["1.0.9", "1.0.11", "1.1.0-rc.1"])
    '1.0.11'
    >>> next_version(["1.0.11"], "pre")
    '1.1.0-rc.1'

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypeAlias

import semantic_version

from opsml.errors import VersionError

__all__ = [
    "VERSION_TYPES",
    "VersionKey",
    "is_exact",
    "next_version",
    "parse_version",
    "resolve_version",
    "sorted_versions",
    "validate_spec",
    "version_key",
]

VERSION_TYPES: Final = ("major", "minor", "patch", "pre", "build")
"""The accepted ``version_type`` values of :func:`next_version`."""

_IdentifierKey: TypeAlias = tuple[int, int, str]
VersionKey: TypeAlias = tuple[
    int, int, int, tuple[int, tuple[_IdentifierKey, ...]], tuple[_IdentifierKey, ...]
]
"""What :func:`version_key` returns: major, minor, patch, pre-release part, build part."""

_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
# The regular expression of semver.org, spelled with ASCII classes only.
_SEMVER_RE: Final = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    rf"(?:\+{_BUILD_ID}(?:\.{_BUILD_ID})*)?"
)
_WILD = r"[*xX]"
_PARTIAL_RE: Final = re.compile(
    rf"(?:{_WILD}(?:\.{_WILD}){{0,2}}"
    rf"|{_NUM}(?:\.{_WILD}(?:\.{_WILD})?)?"
    rf"|{_NUM}\.{_NUM}(?:\.{_WILD})?)"
)
_CLAUSE_RE: Final = re.compile(r"(?P<op>\^|~=|~|==|=|!=|<=|>=|<|>)?(?P<version>.*)", re.DOTALL)
_EXACT_RE: Final = re.compile(r"(?:==|=)?(?P<version>.*)", re.DOTALL)
_LABEL_RE: Final = re.compile(r"[0-9]*[A-Za-z-][0-9A-Za-z-]*")

_VERSION_FORMS: Final = (
    "a SemVer 2.0.0 version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] "
    "such as '1.2.3', '1.2.3-rc.1' or '1.2.3+build.4' (no 'v' prefix, no leading zeros)"
)
_SPEC_FORMS: Final = (
    "'latest' (or None); an exact version such as '1.2.3', '1.2.3-rc.1' or "
    "'1.2.3+build.4' (also '==1.2.3'); a partial version such as '1', '1.2', "
    "'1.*', '1.2.*' or '1.x'; or a range such as '^1.2', '~1.2.3', '>=1.0,<2' "
    "or '!=1.0.0'"
)


@dataclass(frozen=True)
class _Spec:
    """A validated spec: ``latest``, one exact version, or a SimpleSpec range."""

    kind: str  # "latest" | "exact" | "range"
    exact: VersionKey | None = None
    simple: semantic_version.SimpleSpec | None = None
    allow_prerelease: bool = False


def parse_version(text: str) -> semantic_version.Version:
    """Parse a strict SemVer 2.0.0 version.

    Args:
        text: The version, such as ``"1.2.3"``, ``"1.2.3-rc.1"`` or
            ``"1.2.3+build.4"``. Nothing else is accepted: no ``v`` prefix, no
            missing part, no leading zero, no surrounding whitespace.

    Returns:
        The parsed :class:`semantic_version.Version`.

    Raises:
        VersionError: When ``text`` is not a string or not a SemVer 2.0.0 version.

    Example:
        >>> parse_version("1.2.3-rc.1+build.4")
        Version('1.2.3-rc.1+build.4')
        >>> parse_version("v1.2.3")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        opsml.errors.VersionError: invalid version 'v1.2.3': expected a SemVer 2.0.0 ...

    """
    if not isinstance(text, str) or _SEMVER_RE.fullmatch(text) is None:
        raise VersionError(f"invalid version {text!r}: expected {_VERSION_FORMS}")
    try:
        return semantic_version.Version(text)
    except ValueError as exc:  # pragma: no cover - the regex is stricter than the library
        raise VersionError(f"invalid version {text!r}: {exc}; expected {_VERSION_FORMS}") from exc


def _identifier_key(identifier: str) -> _IdentifierKey:
    """Order one dot-separated identifier: numbers numerically and below words."""
    if identifier.isdigit():
        # The raw text breaks the tie between "01" and "1" (allowed in builds).
        return (0, int(identifier), identifier)
    return (1, 0, identifier)


def _key(version: semantic_version.Version) -> VersionKey:
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
    return _key(parse_version(text))


def _as_list(versions: Iterable[str], argument: str) -> list[str]:
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
    return sorted(_as_list(versions, "versions"), key=version_key)


def _check_label(label: str, argument: str) -> None:
    """Check that a pre-release or build label is one non-numeric identifier."""
    if not isinstance(label, str) or _LABEL_RE.fullmatch(label) is None:
        raise VersionError(
            f"invalid {argument} {label!r}: expected one identifier of ASCII letters, "
            "digits and '-', with at least one letter or '-' (such as 'rc' or 'build')"
        )


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
            version is invalid, or the bump would sort below the highest version
            (a ``pre_label`` or ``build_label`` sorting below the current one).

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
    if version_type not in VERSION_TYPES:
        raise VersionError(
            f"invalid version_type {version_type!r}: expected one of {'|'.join(VERSION_TYPES)}"
        )
    _check_label(pre_label, "pre_label")
    _check_label(build_label, "build_label")
    strings = _as_list(existing, "existing")
    parsed = [parse_version(text) for text in strings]
    if not parsed:
        if version_type == "pre":
            return f"1.0.0-{pre_label}.1"
        if version_type == "build":
            return f"1.0.0+{build_label}.1"
        return "1.0.0"

    taken = {_key(version) for version in parsed}
    highest = max(parsed, key=_key)
    if version_type == "pre":
        candidate = _bump_pre(highest, parsed, pre_label)
    elif version_type == "build":
        candidate = _bump_build(highest, parsed, build_label)
    else:
        candidate = highest
        bump = {
            "major": semantic_version.Version.next_major,
            "minor": semantic_version.Version.next_minor,
            "patch": semantic_version.Version.next_patch,
        }[version_type]
        candidate = bump(candidate)
        while _key(candidate) in taken:  # pragma: no cover - defensive, above the highest
            candidate = bump(candidate)

    if _key(candidate) <= _key(highest):
        label = pre_label if version_type == "pre" else build_label
        argument = "pre_label" if version_type == "pre" else "build_label"
        raise VersionError(
            f"cannot make a {version_type!r} version after {highest}: {candidate} would sort "
            f"below it; use a {argument} that sorts after {label!r} in the existing "
            "versions, or bump major|minor|patch first"
        )
    return str(candidate)


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
    return isinstance(spec, str) and _SEMVER_RE.fullmatch(spec) is not None


def _spec_error(spec: object, reason: str = "") -> VersionError:
    """Build the error of a malformed spec."""
    detail = f" ({reason})" if reason else ""
    return VersionError(f"invalid version spec {spec!r}{detail}: expected {_SPEC_FORMS}")


def _normalize_partial(text: str) -> str:
    """Write a partial version as SimpleSpec wants it: ``1.x.x`` -> ``1.*``."""
    numbers: list[str] = []
    for part in text.split("."):
        if part in ("*", "x", "X"):
            break
        numbers.append(part)
    return ".".join([*numbers, "*"]) if len(numbers) < len(text.split(".")) else text


def _compile(spec: str | None) -> _Spec:
    """Validate and compile a spec (the work of :func:`validate_spec`)."""
    if spec is None:
        return _Spec("latest")
    if not isinstance(spec, str):
        raise _spec_error(spec, f"a {type(spec).__name__}, not a string")
    text = spec.strip()
    if text.lower() == "latest":
        return _Spec("latest")
    exact = _EXACT_RE.fullmatch(text)
    if exact and _SEMVER_RE.fullmatch(exact.group("version")):
        return _Spec("exact", exact=version_key(exact.group("version")))
    normalized: list[str] = []
    names_prerelease = False
    for clause in (part.strip() for part in text.split(",")):
        match = _CLAUSE_RE.fullmatch(clause)
        assert match is not None  # the pattern matches every string
        op, version = match.group("op") or "", match.group("version")
        if _PARTIAL_RE.fullmatch(version):
            version = _normalize_partial(version)
        elif _SEMVER_RE.fullmatch(version):
            names_prerelease = names_prerelease or bool(parse_version(version).prerelease)
        else:
            raise _spec_error(spec, f"{clause!r} is not a version, partial version or range")
        normalized.append(op + version)
    try:
        simple = semantic_version.SimpleSpec(",".join(normalized))
    except ValueError as exc:
        raise _spec_error(spec, str(exc)) from exc
    return _Spec("range", simple=simple, allow_prerelease=names_prerelease)


def validate_spec(spec: str | None) -> None:
    """Check a version spec without looking at any version.

    Args:
        spec: ``None``, ``"latest"``, an exact version, a partial version or a
            range (see the module docstring).

    Raises:
        VersionError: When ``spec`` is malformed; the message names it and lists
            the accepted forms.

    Example:
        >>> validate_spec("^1.2"), validate_spec(None), validate_spec("1.x")
        (None, None, None)
        >>> validate_spec(">>1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        opsml.errors.VersionError: invalid version spec '>>1' ...

    """
    _compile(spec)


def resolve_version(spec: str | None, versions: Iterable[str]) -> str | None:
    """Pick the version a spec means among the registered ones.

    Args:
        spec: ``None``, ``"latest"``, an exact version, a partial version or a
            range (see the module docstring for what each matches).
        versions: The registered version strings of one card name.

    Returns:
        The matching string from ``versions`` (the highest by
        :func:`version_key` for ``latest``, partials and ranges), or ``None``
        when nothing matches.

    Raises:
        VersionError: When ``spec`` or one of ``versions`` is malformed.

    Example:
        >>> versions = ["1.0.1", "1.0.11", "1.2.0", "1.2.0+build.1", "2.0.0-rc.1"]
        >>> resolve_version("1.0.1", versions), resolve_version("1.0", versions)
        ('1.0.1', '1.0.11')
        >>> resolve_version("^1.2", versions), resolve_version(None, versions)
        ('1.2.0+build.1', '1.2.0+build.1')
        >>> resolve_version(">=2.0.0-rc.1", versions), resolve_version("2", versions) is None
        ('2.0.0-rc.1', True)

    """
    compiled = _compile(spec)
    candidates = [(text, parse_version(text)) for text in _as_list(versions, "versions")]
    if compiled.kind == "exact":
        return next((text for text, parsed in candidates if _key(parsed) == compiled.exact), None)
    if compiled.kind == "latest":
        releases = [item for item in candidates if not item[1].prerelease]
        matches = releases or candidates
    else:
        assert compiled.simple is not None
        matches = [
            (text, parsed)
            for text, parsed in candidates
            if parsed in compiled.simple and (compiled.allow_prerelease or not parsed.prerelease)
        ]
    if not matches:
        return None
    return max(matches, key=lambda item: _key(item[1]))[0]
