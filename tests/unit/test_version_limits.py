"""The version rules bound every version to what the registry's columns hold (issue 11).

The numbers go to signed 64-bit columns, the strings to 128-character columns;
the bounds live in ``opsml.versioning`` and are checked against the table
definitions here, so a schema change cannot leave them behind.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import BigInteger, String

from opsml.backends.sql.tables import AuditRow, CardRow
from opsml.errors import VersionError
from opsml.versioning import (
    MAX_VERSION_LENGTH,
    MAX_VERSION_NUMBER,
    is_exact,
    next_version,
    parse_version,
    resolve_version,
    validate_spec,
)

BIG = str(MAX_VERSION_NUMBER)
OVER = str(MAX_VERSION_NUMBER + 1)


def test_bounds_match_the_columns() -> None:
    for column in (CardRow.major, CardRow.minor, CardRow.patch):
        assert isinstance(column.type, BigInteger)
    assert MAX_VERSION_NUMBER == 2**63 - 1  # BIGINT is signed on every database we support
    assert isinstance(CardRow.version.type, String)
    assert CardRow.version.type.length == MAX_VERSION_LENGTH
    # the pre-release and build parts are shorter than the whole and fit their columns
    for column in (CardRow.prerelease, CardRow.build, AuditRow.version):
        assert isinstance(column.type, String)
        assert column.type.length is not None and column.type.length >= MAX_VERSION_LENGTH


@pytest.mark.parametrize(
    "text",
    [
        f"{BIG}.0.0",
        f"0.{BIG}.0",
        f"0.0.{BIG}",
        f"{BIG}.{BIG}.{BIG}",
        "1.0.0-" + "a" * 122,
        "1.0.0+" + "b" * 122,
        "1.0.0-rc." + "9" * 100,  # pre-release numbers are text: no 64-bit bound
    ],
)
def test_versions_at_the_bounds_are_accepted(text: str) -> None:
    assert len(text) <= MAX_VERSION_LENGTH
    assert str(parse_version(text)) == text
    assert is_exact(text)
    assert resolve_version(text, [text]) == text


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (f"{OVER}.0.0", f"major number {OVER}"),
        (f"1.{OVER}.0", f"minor number {OVER}"),
        (f"1.0.{OVER}", f"patch number {OVER}"),
        ("1.99999999999999999999.0", "minor number 99999999999999999999"),
        ("1." + "9" * 120 + ".0", "minor number"),
        ("1.0.0-" + "a" * 123, "129 characters"),
        ("1.0.0+" + "b" * 200, "206 characters"),
        ("1.0.0-" + "a" * 5000, "5006 characters"),
    ],
)
def test_versions_beyond_the_bounds_are_refused(text: str, needle: str) -> None:
    for call in (parse_version, validate_spec, lambda t: resolve_version(t, [])):
        with pytest.raises(VersionError) as info:
            call(text)
        message = str(info.value)
        assert needle in message
        assert text[:30] in message  # quotes what was written
        assert len(message) < 400  # a long version is shortened, not pasted whole
    assert not is_exact(text)


@pytest.mark.parametrize("spec", [f"^{OVER}", f"~1.{OVER}", f">={OVER}.0.0", f"{OVER}.x"])
def test_specs_beyond_the_bounds_are_refused(spec: str) -> None:
    with pytest.raises(VersionError, match=str(MAX_VERSION_NUMBER)):
        validate_spec(spec)


@pytest.mark.parametrize(
    ("existing", "version_type", "needle"),
    [
        ([f"{BIG}.0.0"], "major", f"major number {OVER}"),
        ([f"1.{BIG}.0"], "minor", f"minor number {OVER}"),
        ([f"1.{BIG}.0"], "pre", f"minor number {OVER}"),
        ([f"1.0.{BIG}"], "patch", f"patch number {OVER}"),
        (["1.0.0-" + "a" * 122], "build", "characters"),
        (["1.0.0+build." + "9" * 116], "build", "129 characters"),
    ],
)
def test_bumps_that_would_overflow_are_refused(
    existing: list[str], version_type: str, needle: str
) -> None:
    with pytest.raises(VersionError) as info:
        next_version(existing, version_type)
    message = str(info.value)
    assert f"cannot make a {version_type!r} version after" in message
    assert needle in message


@pytest.mark.parametrize(
    ("existing", "version_type", "expected"),
    [
        ([f"{BIG}.0.0"], "minor", f"{BIG}.1.0"),
        ([f"{BIG}.0.0"], "patch", f"{BIG}.0.1"),
        ([f"{BIG}.0.0"], "pre", f"{BIG}.1.0-rc.1"),
        ([f"{BIG}.0.0"], "build", f"{BIG}.0.0+build.1"),
        ([f"1.0.{BIG}-rc.1"], "patch", f"1.0.{BIG}"),
    ],
)
def test_bumps_next_to_the_bound_still_work(
    existing: list[str], version_type: str, expected: str
) -> None:
    assert next_version(existing, version_type) == expected


@given(st.integers(min_value=0, max_value=2**70))
def test_number_bound_is_exact(number: int) -> None:
    text = f"{number}.0.0"
    if number <= MAX_VERSION_NUMBER:
        assert parse_version(text).major == number
    else:
        with pytest.raises(VersionError, match="largest version number"):
            parse_version(text)
