"""Caret and tilde, on 0.x, 0.0.x and pre-releases, as npm and cargo read them (issue 19).

Each row says whether one version is in a spec's range: ``resolve_version(spec,
[version])`` returns the version or ``None``. The rule (README "Versions"): ``^``
keeps the left-most non-zero number written; ``~`` keeps the minor when one is
written, else the major; a pre-release lower bound includes itself; an upper
bound never lets in its own pre-releases; ``^*``/``~*``/``^x``/``~x`` mean any
release.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsml.errors import VersionError
from opsml.versioning import resolve_version, validate_spec

CASES: list[tuple[str, str, bool]] = [
    # ^0: every 0.x.y release
    ("^0", "0.0.0", True),
    ("^0", "0.0.7", True),
    ("^0", "0.8.2", True),
    ("^0", "1.0.0", False),
    ("^0", "0.4.0-beta.1", False),  # no pre-release named: none matches
    ("^0.x", "0.8.2", True),
    ("^0.*", "0.8.2", True),
    # ^0.0: the 0.0.x releases only
    ("^0.0", "0.0.0", True),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0.0.x", "0.0.9", True),
    ("^0.0.x", "0.1.0", False),
    # ^0.m and ^0.m.p: the minor is fixed
    ("^0.4", "0.4.0", True),
    ("^0.4", "0.4.13", True),
    ("^0.4", "0.5.0", False),
    ("^0.4", "0.3.9", False),
    ("^0.4.2", "0.4.2", True),
    ("^0.4.2", "0.4.17", True),
    ("^0.4.2", "0.4.1", False),
    ("^0.4.2", "0.5.0", False),
    ("^0.4.2", "0.5.0-rc.1", False),  # the upper bound's own pre-release stays out
    # ^0.0.p: the patch is fixed
    ("^0.0.6", "0.0.6", True),
    ("^0.0.6", "0.0.6+build.3", True),
    ("^0.0.6", "0.0.7", False),
    ("^0.0.6", "0.0.5", False),
    ("^0.0.0", "0.0.0", True),
    ("^0.0.0", "0.0.1", False),
    # pre-release lower bounds include themselves and what follows in range
    ("^0.0.2-beta", "0.0.2-beta", True),
    ("^0.0.2-beta", "0.0.2-beta.4", True),
    ("^0.0.2-beta", "0.0.2", True),
    ("^0.0.2-beta", "0.0.2-alpha", False),
    ("^0.0.2-beta", "0.0.3", False),
    ("^0.0.2-beta", "0.0.3-alpha", False),
    ("^0.0.8-rc.3", "0.0.8-rc.3", True),
    ("^0.0.8-rc.3", "0.0.8-rc.12", True),
    ("^0.0.8-rc.3", "0.0.8", True),
    ("^0.0.8-rc.3", "0.0.8-rc.2", False),
    ("^0.6.1-rc.1", "0.6.4", True),
    ("^0.6.1-rc.1", "0.7.0", False),
    ("^2.1.0-rc.2", "2.1.0-rc.2", True),
    ("^2.1.0-rc.2", "2.9.0", True),
    ("^2.1.0-rc.2", "3.0.0-rc.1", False),
    # caret above 0.x keeps the major
    ("^3", "3.9.9", True),
    ("^3", "4.0.0", False),
    ("^3.2", "3.2.0", True),
    ("^3.2", "3.1.9", False),
    ("^3.2.5", "3.7.0", True),
    ("^3.2.5", "3.2.4", False),
    # tilde keeps the minor when written, else the major; 0.x is not special
    ("~0", "0.0.3", True),
    ("~0", "0.9.0", True),
    ("~0", "1.0.0", False),
    ("~0.0", "0.0.3", True),
    ("~0.0", "0.1.0", False),
    ("~0.3", "0.3.8", True),
    ("~0.3", "0.4.0", False),
    ("~0.3.4", "0.3.4", True),
    ("~0.3.4", "0.3.9", True),
    ("~0.3.4", "0.3.3", False),
    ("~0.3.4", "0.4.0", False),
    ("~0.0.4", "0.0.9", True),
    ("~0.0.4", "0.1.0", False),
    ("~0.0.4-alpha.2", "0.0.4-alpha.2", True),
    ("~0.0.4-alpha.2", "0.0.4-alpha.10", True),
    ("~0.0.4-alpha.2", "0.0.6", True),
    ("~0.0.4-alpha.2", "0.0.4-alpha.1", False),
    ("~0.0.4-alpha.2", "0.1.0-alpha.1", False),
    ("~5", "5.4.0", True),
    ("~5", "6.0.0", False),
    ("~5.4", "5.4.9", True),
    ("~5.4", "5.5.0", False),
    # any release
    ("^*", "0.0.1", True),
    ("^*", "7.3.0", True),
    ("^*", "7.3.0-rc.1", False),
    ("~*", "0.2.0", True),
    ("^x", "2.0.0", True),
    ("~x", "2.0.0", True),
    ("~X.x.*", "2.0.0", True),
    # combined with other clauses
    ("^0.4,!=0.4.7", "0.4.7", False),
    ("^0.4, !=0.4.7", "0.4.8", True),
    (">=0.0.2, ^0.0", "0.0.1", False),
]


@pytest.mark.parametrize(("spec", "version", "matches"), CASES)
def test_caret_and_tilde_table(spec: str, version: str, matches: bool) -> None:
    assert resolve_version(spec, [version]) == (version if matches else None)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("^0", "0.8.2"),
        ("^0.0", "0.0.9"),
        ("^0.0.1-alpha", "0.0.1"),
        ("^0.0.3-rc.1", "0.0.3"),
        ("^0.4.2", "0.4.17"),
        ("~0.4", "0.4.17"),
        ("^*", "1.0.0"),
    ],
)
def test_caret_gives_the_highest_match(spec: str, expected: str) -> None:
    versions = ["0.0.1-alpha", "0.0.1", "0.0.3-rc.1", "0.0.3", "0.0.9", "0.4.2", "0.4.17"]
    versions += ["0.8.2", "1.0.0", "1.1.0-rc.1"]
    assert resolve_version(spec, versions) == expected


def test_issue_19_examples() -> None:
    assert resolve_version("^0", ["0.5.0", "0.0.5"]) == "0.5.0"
    assert resolve_version("^0.0", ["0.5.0", "0.0.5"]) == "0.0.5"
    assert resolve_version("^0.2.3", ["0.2.3", "0.2.9", "0.3.0"]) == "0.2.9"
    assert resolve_version("^0.0.1-alpha", ["0.0.1-alpha"]) == "0.0.1-alpha"
    for version in ("0.0.3-rc.1", "0.0.3-rc.2", "0.0.3"):
        assert resolve_version("^0.0.3-rc.1", [version]) == version


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("^1.0.0+build.1", "build metadata"),
        ("~0.1.0+b", "build metadata"),
        ("^9223372036854775808", "9223372036854775807"),
        ("~1.9223372036854775808", "9223372036854775807"),
        ("^0.0.1-", "'^0.0.1-'"),
        ("^^1", "'^^1'"),
        ("~1.x.3", "'~1.x.3'"),
    ],
)
def test_bad_caret_and_tilde_quote_what_was_written(spec: str, needle: str) -> None:
    with pytest.raises(VersionError) as info:
        validate_spec(spec)
    message = str(info.value)
    assert repr(spec) in message and needle in message
    assert "Invalid simple spec" not in message  # never the library's rewritten form


# --------------------------------------------------------------------------- property

_small = st.integers(min_value=0, max_value=3)


def _kept(op: str, written: list[int]) -> int:
    """How many leading numbers a version must share with what was written."""
    if op == "~":
        return 2 if len(written) >= 2 else 1
    non_zero = next((i for i, n in enumerate(written) if n), len(written) - 1)
    return non_zero + 1


@given(
    st.sampled_from(["^", "~"]),
    st.lists(_small, min_size=1, max_size=3),
    st.tuples(_small, _small, _small),
)
def test_caret_and_tilde_keep_the_leading_numbers(
    op: str, written: list[int], numbers: tuple[int, int, int]
) -> None:
    """A release matches when it is at least the lower bound and shares the kept numbers."""
    spec = op + ".".join(map(str, written))
    version = ".".join(map(str, numbers))
    lower = [*written, 0, 0][:3]
    kept = _kept(op, written)
    expected = list(numbers) >= lower and list(numbers[:kept]) == lower[:kept]
    assert (resolve_version(spec, [version]) == version) is expected


def _readme_rows() -> list[tuple[list[str], list[str], list[str]]]:
    """The caret/tilde table of the README's "Versions" section: specs, matches, misses."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| Spec | Means |") :].split("\n\n", 1)[0].splitlines()[2:]
    rows = []
    for line in table:
        spec, _, matches, misses = (re.findall(r"`([^`]+)`", cell) for cell in line.split("|")[1:5])
        rows.append((spec, matches, misses))
    return rows


def test_readme_table_is_what_the_code_does() -> None:
    rows = _readme_rows()
    assert len(rows) >= 14
    for specs, matches, misses in rows:
        for spec in specs:
            for version in matches:
                assert resolve_version(spec, [version]) == version, (spec, version)
            for version in misses:
                assert resolve_version(spec, [version]) is None, (spec, version)
