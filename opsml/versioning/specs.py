"""Resolve a version spec: which registered version a caller means.

:func:`resolve_version` returns one of the given version strings, or ``None``
when nothing matches:

* ``None`` or ``"latest"`` (any case, surrounding spaces ignored): the highest
  release; the highest pre-release only when there is no release at all.
* An exact version (:func:`~opsml.versioning.is_exact`), alone or written
  ``==1.2.3`` / ``=1.2.3``: exactly that string. ``"1.0.1"`` never matches
  ``1.0.11`` and ``"1.0.0"`` does not match ``1.0.0+build.1``;
  ``"1.0.0+build.1"`` matches only itself.
* A partial version ``"1"``, ``"1.0"``, ``"1.*"``, ``"1.0.*"``, ``"1.x"``,
  ``"*"``, or a range: ``^1.2``, ``~1.2.3``, ``~=1.2``, ``>=1.0,<2``,
  ``!=1.0.0``, clauses joined by commas (spaces around them allowed). The
  highest match by :func:`~opsml.versioning.version_key` wins, so between equal
  precedences the highest build wins.
* Caret and tilde follow npm and cargo, including on ``0.x`` (see the table
  in the README): ``^`` keeps the left-most non-zero number of what was
  written (``^1.2.3`` is ``>=1.2.3,<2.0.0``, ``^0.2.3`` is ``>=0.2.3,<0.3.0``,
  ``^0.0.3`` is ``>=0.0.3,<0.0.4``, ``^0.0`` is ``<0.1.0``, ``^0`` is
  ``<1.0.0``); ``~`` keeps the minor when one is written (``~1.2.3`` and
  ``~1.2`` are ``<1.3.0``), else the major (``~1`` is ``<2.0.0``). A
  pre-release in the lower bound is itself included (``^0.0.1-alpha`` matches
  ``0.0.1-alpha``). ``^*``, ``~*``, ``^x``, ``~x`` mean any release, like ``*``.
  An upper bound never lets in its own pre-releases (``^0.2.3`` does not match
  ``0.3.0-rc.1``). Other operators follow :class:`semantic_version.SimpleSpec`.
* Partial versions and ranges match pre-releases only when the spec itself
  names a pre-release (``>=1.1.0-rc.1``); then every version in the range can
  match. Otherwise pre-releases are never returned, even when nothing else is
  in the range (only ``latest`` falls back to pre-releases).

Build metadata is never part of a range (``^1.0.0+build.1`` is refused).
Every malformed spec raises :class:`opsml.errors.VersionError` with a message
that quotes it and lists what is accepted.

Example:
    >>> resolve_version("^0", ["0.0.5", "0.5.0", "1.0.0"])
    '0.5.0'

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import semantic_version

from opsml.errors import VersionError
from opsml.versioning.semver import (
    NUM,
    SEMVER_RE,
    VersionKey,
    as_list,
    key_of,
    number_problem,
    parse_version,
    shown,
    version_key,
)

_WILD = r"[*xX]"
_PARTIAL_RE: Final = re.compile(
    rf"(?:{_WILD}(?:\.{_WILD}){{0,2}}"
    rf"|{NUM}(?:\.{_WILD}(?:\.{_WILD})?)?"
    rf"|{NUM}\.{NUM}(?:\.{_WILD})?)"
)
_CLAUSE_RE: Final = re.compile(r"(?P<op>\^|~=|~|==|=|!=|<=|>=|<|>)?(?P<version>.*)", re.DOTALL)
_EXACT_RE: Final = re.compile(r"(?:==|=)?(?P<version>.*)", re.DOTALL)
_COMPATIBLE: Final = ("^", "~")

SPEC_FORMS: Final = (
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


def _spec_error(spec: object, reason: str = "") -> VersionError:
    """Build the error of a malformed spec."""
    detail = f" ({reason})" if reason else ""
    return VersionError(f"invalid version spec {shown(spec)}{detail}: expected {SPEC_FORMS}")


def _partial_numbers(text: str, spec: object) -> list[int]:
    """The numbers a partial version writes (``1.x`` -> ``[1]``), each within bounds."""
    numbers: list[int] = []
    for part, digits in zip(("major", "minor"), text.split("."), strict=False):
        if digits in ("*", "x", "X"):
            break
        problem = number_problem(part, digits)
        if problem is not None:
            raise _spec_error(spec, f"{text!r}: {problem}")
        numbers.append(int(digits))
    return numbers


def _compatible_range(op: str, numbers: list[int], prerelease: tuple[str, ...]) -> str:
    """Write ``^`` or ``~`` of the written ``numbers`` as an explicit ``>=lower,<upper``.

    ``^`` bumps the left-most non-zero number written (the last one written when
    all are zero); ``~`` bumps the minor when it is written, else the major.
    """
    if not numbers:
        return "*"
    lower = [*numbers, 0, 0][:3]
    if op == "~":
        position = 1 if len(numbers) >= 2 else 0
    else:
        position = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
    upper = [*lower[:position], lower[position] + 1, 0, 0][:3]
    pre = "-" + ".".join(prerelease) if prerelease else ""
    return f">={'.'.join(map(str, lower))}{pre},<{'.'.join(map(str, upper))}"


def _normalize_partial(op: str, text: str, spec: object) -> str:
    """A partial version clause as SimpleSpec wants it: ``1.x.x`` -> ``1.*``."""
    numbers = _partial_numbers(text, spec)
    if op in _COMPATIBLE:
        return _compatible_range(op, numbers, ())
    if len(numbers) < len(text.split(".")):
        return op + ".".join([*map(str, numbers), "*"])
    return op + text


def _clause(clause: str, spec: object) -> tuple[str, bool]:
    """One clause as SimpleSpec text, and whether it names a pre-release."""
    match = _CLAUSE_RE.fullmatch(clause)
    assert match is not None  # the pattern matches every string
    op, version = match.group("op") or "", match.group("version")
    if _PARTIAL_RE.fullmatch(version):
        return _normalize_partial(op, version, spec), False
    if not SEMVER_RE.fullmatch(version):
        raise _spec_error(spec, f"{clause!r} is not a version, partial version or range")
    parsed = parse_version(version)
    if op not in _COMPATIBLE:
        return op + version, bool(parsed.prerelease)
    if parsed.build:
        raise _spec_error(spec, f"{clause!r}: build metadata is never part of a range")
    numbers = [parsed.major, parsed.minor, parsed.patch]
    return _compatible_range(op, numbers, parsed.prerelease), bool(parsed.prerelease)


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
    if exact and SEMVER_RE.fullmatch(exact.group("version")):
        return _Spec("exact", exact=version_key(exact.group("version")))
    clauses = [_clause(part.strip(), spec) for part in text.split(",")]
    try:
        simple = semantic_version.SimpleSpec(",".join(text for text, _ in clauses))
    except ValueError as exc:
        raise _spec_error(spec, str(exc)) from exc
    return _Spec("range", simple=simple, allow_prerelease=any(pre for _, pre in clauses))


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
        :func:`~opsml.versioning.version_key` for ``latest``, partials and
        ranges), or ``None`` when nothing matches.

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
        >>> resolve_version("^0.0.3-rc.1", ["0.0.3-rc.1", "0.0.3-rc.2", "0.0.4-rc.1"])
        '0.0.3-rc.2'

    """
    compiled = _compile(spec)
    candidates = [(text, parse_version(text)) for text in as_list(versions, "versions")]
    if compiled.kind == "exact":
        return next((text for text, parsed in candidates if key_of(parsed) == compiled.exact), None)
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
    return max(matches, key=lambda item: key_of(item[1]))[0]
