"""Pure tests of opsml.versioning: tables for the rules, hypothesis for the properties."""

from __future__ import annotations

import doctest
import itertools
import re
import subprocess
import sys
from typing import Any

import pytest
import semantic_version
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from opsml import versioning
from opsml.errors import VersionError
from opsml.versioning import (
    bump,
    is_exact,
    next_version,
    parse_version,
    resolve_version,
    semver,
    sorted_versions,
    specs,
    validate_spec,
    version_key,
)

# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("module", [versioning, semver, bump, specs], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0


def test_every_public_name_is_importable_from_the_package() -> None:
    for name in versioning.__all__:
        assert getattr(versioning, name) is not None


def test_imports_only_semantic_version_and_stdlib() -> None:
    code = (
        "import sys; import opsml.versioning; "
        "heavy = {'pydantic', 'sqlalchemy', 'httpx', 'fsspec', 'prefect', 'fastapi'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "text", ["0.0.0", "1.2.3", "1.2.3-rc.1", "1.2.3+build.4", "1.2.3-rc.1+build.4", "1.0.0-0a.x-y"]
)
def test_parse_version_accepts_semver(text: str) -> None:
    assert str(parse_version(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.2",
        "v1.2.3",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3.4",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-rc..1",
        "1.2.3-rc.01",
        "1.2.3+build..1",
        "1.2.3-r_c",
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits are not ASCII digits
        "latest",
        None,
        123,
        1.2,
    ],
)
def test_parse_version_rejects_everything_else(text: Any) -> None:
    with pytest.raises(VersionError) as info:
        parse_version(text)
    assert repr(text) in str(info.value)
    assert "MAJOR.MINOR.PATCH" in str(info.value)


def test_version_key_orders_builds_after_precedence() -> None:
    ordered = [
        "0.9.0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0-rc.1+build.1",
        "1.0.0",
        "1.0.0+01",  # numerically equal: the text breaks the tie
        "1.0.0+1",
        "1.0.0+2",
        "1.0.0+build",
        "1.0.0+build.1",
        "1.0.0+build.2",
        "1.0.0+build.9",
        "1.0.0+build.10",
        "1.0.0+build.10.a",
        "1.0.0+build.a",
        "1.0.1",
        "1.0.9",
        "1.0.10",
        "1.0.11",
        "1.1.0-rc.1",
        "1.1.0",
        "2.0.0",
    ]
    assert sorted_versions(reversed(ordered)) == ordered
    assert sorted_versions(["1.0.0+build.9", "1.0.0+build.10"])[-1] == "1.0.0+build.10"


def test_sorted_versions_refuses_a_lone_string() -> None:
    with pytest.raises(VersionError, match="iterable"):
        sorted_versions("1.0.0")


@pytest.mark.parametrize(
    ("existing", "version_type", "expected"),
    [
        ([], "major", "1.0.0"),
        ([], "minor", "1.0.0"),
        ([], "patch", "1.0.0"),
        ([], "pre", "1.0.0-rc.1"),
        ([], "build", "1.0.0+build.1"),
        (["1.0.9", "1.0.11", "1.0.10"], "patch", "1.0.12"),
        (["1.0.11"], "minor", "1.1.0"),
        (["1.0.11"], "major", "2.0.0"),
        (["1.0.11"], "pre", "1.1.0-rc.1"),
        (["1.0.11", "1.1.0-rc.1"], "pre", "1.1.0-rc.2"),
        (["1.0.11", "1.1.0-rc.1", "1.1.0-rc.2"], "patch", "1.1.0"),
        (["1.0.11", "1.1.0-rc.2"], "minor", "1.1.0"),
        (["1.0.11", "1.1.0-rc.2"], "major", "2.0.0"),
        (["2.0.0-rc.1"], "major", "2.0.0"),
        (["1.1.0-rc.9", "1.1.0-rc.10"], "pre", "1.1.0-rc.11"),
        (["1.1.0-alpha.3"], "pre", "1.1.0-rc.1"),
        (["1.1.0-rc"], "pre", "1.1.0-rc.1"),
        (["1.1.0-rc.2.1"], "pre", "1.1.0-rc.3"),
        (["1.1.0-rc.2+build.4"], "pre", "1.1.0-rc.3"),
        (["1.0.0"], "build", "1.0.0+build.1"),
        (["1.0.0", "1.0.0+build.1"], "build", "1.0.0+build.2"),
        (["1.0.0+build.9", "1.0.0+build.10", "1.0.0"], "build", "1.0.0+build.11"),
        (["1.0.0+build.3", "1.0.0+1"], "build", "1.0.0+build.4"),
        (["1.0.0+build.5", "1.0.1"], "build", "1.0.1+build.1"),
        (["1.1.0-rc.1"], "build", "1.1.0-rc.1+build.1"),
        (["1.0.0+build.2"], "patch", "1.0.1"),
        (iter(["1.0.0"]), "patch", "1.0.1"),
    ],
)
def test_next_version(existing: Any, version_type: str, expected: str) -> None:
    assert next_version(existing, version_type) == expected


def test_next_version_sequences() -> None:
    existing = ["1.0.11"]
    for expected in ["1.1.0-rc.1", "1.1.0-rc.2"]:
        existing.append(next_version(existing, "pre"))
        assert existing[-1] == expected
    existing.append(next_version(existing, "patch"))
    assert existing[-1] == "1.1.0"
    for expected in ["1.1.0+build.1", "1.1.0+build.2"]:
        existing.append(next_version(existing, "build"))
        assert existing[-1] == expected


def test_next_version_labels() -> None:
    assert next_version([], "pre", pre_label="beta") == "1.0.0-beta.1"
    assert next_version(["1.0.0-beta.1"], "pre", pre_label="beta") == "1.0.0-beta.2"
    assert next_version(["1.0.0-beta.2"], "pre") == "1.0.0-rc.1"
    assert next_version([], "build", build_label="ci") == "1.0.0+ci.1"
    assert next_version(["1.0.0+ci.4"], "build", build_label="ci") == "1.0.0+ci.5"


@pytest.mark.parametrize(
    ("existing", "version_type", "kwargs"),
    [
        (["1.1.0-rc.2"], "pre", {"pre_label": "beta"}),
        (["1.0.0+zzz"], "build", {}),
    ],
)
def test_next_version_never_goes_backwards(
    existing: list[str], version_type: str, kwargs: dict[str, str]
) -> None:
    with pytest.raises(VersionError, match="would sort below"):
        next_version(existing, version_type, **kwargs)


@pytest.mark.parametrize("version_type", ["", "Patch", "micro", "prerelease", None])
def test_next_version_unknown_type(version_type: Any) -> None:
    with pytest.raises(VersionError) as info:
        next_version(["1.0.0"], version_type)
    assert "major|minor|patch|pre|build" in str(info.value)
    assert repr(version_type) in str(info.value)


@pytest.mark.parametrize(
    ("existing", "kwargs", "needle"),
    [
        (["1.0"], {}, "'1.0'"),
        ("1.0.0", {}, "iterable"),
        ([], {"pre_label": "1"}, "pre_label"),
        ([], {"pre_label": "rc.1"}, "pre_label"),
        ([], {"pre_label": ""}, "pre_label"),
        ([], {"build_label": "b+1"}, "build_label"),
    ],
)
def test_next_version_bad_input(existing: Any, kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(VersionError, match=needle):
        next_version(existing, "patch", **kwargs)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1.0.0", True),
        ("1.0.0-rc.1", True),
        ("1.0.0+build.1", True),
        ("1.0", False),
        ("1", False),
        ("1.*", False),
        ("^1.0.0", False),
        ("==1.0.0", False),
        ("latest", False),
        (" 1.0.0", False),
        ("", False),
        (None, False),
    ],
)
def test_is_exact(spec: Any, expected: bool) -> None:
    assert is_exact(spec) is expected


REGISTERED = [
    "0.9.0",
    "1.0.0",
    "1.0.0+build.1",
    "1.0.0+build.2",
    "1.0.1",
    "1.0.9",
    "1.0.11",
    "1.2.0",
    "1.2.3",
    "1.2.4",
    "1.3.0-rc.1",
    "2.0.0-rc.1",
    "2.0.0-rc.2",
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # exact
        ("1.0.1", "1.0.1"),
        ("1.0.0", "1.0.0"),
        ("1.0.0+build.1", "1.0.0+build.1"),
        ("1.0.0+build.3", None),
        ("1.0.2", None),
        ("2.0.0-rc.1", "2.0.0-rc.1"),
        ("==1.0.0", "1.0.0"),
        ("=1.0.1", "1.0.1"),
        (" 1.0.1 ", "1.0.1"),
        # latest
        (None, "1.2.4"),
        ("latest", "1.2.4"),
        (" LaTeSt ", "1.2.4"),
        # partial
        ("1", "1.2.4"),
        ("1.0", "1.0.11"),
        ("1.*", "1.2.4"),
        ("1.0.*", "1.0.11"),
        ("1.x", "1.2.4"),
        ("1.0.X", "1.0.11"),
        ("1.x.x", "1.2.4"),
        ("0", "0.9.0"),
        ("*", "1.2.4"),
        ("2", None),  # only pre-releases in 2.x: a partial never returns them
        ("1.3", None),
        ("3", None),
        # ranges
        ("^1.2", "1.2.4"),
        ("^1.0", "1.2.4"),
        ("~1.0.0", "1.0.11"),
        ("~1.2.3", "1.2.4"),
        ("~=1.0", "1.2.4"),
        (">=1.0,<2", "1.2.4"),
        (">=1.0, <1.1", "1.0.11"),
        (">=1.0 , <1.0.9", "1.0.1"),
        ("<1.0.1", "1.0.0+build.2"),
        ("<1", "0.9.0"),
        (">1.2.4", None),
        ("!=1.2.4", "1.2.3"),
        (">=1.0,<2,!=1.2.4", "1.2.3"),
        (">=2.0.0-rc.1", "2.0.0-rc.2"),
        (">=1.3.0-rc.1,<2", "1.3.0-rc.1"),
        ("^1.2.3", "1.2.4"),
    ],
)
def test_resolve_version(spec: str | None, expected: str | None) -> None:
    assert resolve_version(spec, REGISTERED) == expected
    assert resolve_version(spec, reversed(REGISTERED)) == expected


def test_resolve_version_must_shows() -> None:
    assert resolve_version("1.0.1", ["1.0.1", "1.0.11"]) == "1.0.1"
    assert resolve_version("1.0.1", ["1.0.11", "1.0.1"]) == "1.0.1"
    assert resolve_version("1.0.1", ["1.0.11"]) is None
    assert resolve_version("latest", ["1.0.9", "1.0.11", "1.1.0-rc.1"]) == "1.0.11"
    assert resolve_version("1.0.0", ["1.0.0+build.1"]) is None


def test_resolve_version_latest_falls_back_to_pre_releases() -> None:
    assert resolve_version(None, ["1.0.0-rc.1", "1.0.0-rc.2", "0.1.0-rc.9"]) == "1.0.0-rc.2"
    assert resolve_version("latest", []) is None
    assert resolve_version("1", ["1.0.0-rc.1"]) is None


def test_resolve_version_prefers_highest_build() -> None:
    versions = ["1.0.0+build.9", "1.0.0+build.10", "1.0.0"]
    assert resolve_version("latest", versions) == "1.0.0+build.10"
    assert resolve_version("~1.0.0", versions) == "1.0.0+build.10"
    assert resolve_version("1.0.0", versions) == "1.0.0"


MALFORMED_SPECS = [
    "",
    "   ",
    "abc",
    "1..2",
    ">>1",
    "1.*.3",
    "1.2.3.4",
    "v1.2.3",
    "01.2",
    "1.0.0-rc.01",
    ">=1.0,",
    ",",
    "latest,1",
    ">= 1.0",
    "^1.0.0+build.1",
    "1.0.0-rc.*",
    "x.1",
    "===1.0.0",
]


@pytest.mark.parametrize("spec", [*MALFORMED_SPECS, 1, 1.0, ["1.0.0"], b"1.0.0"])
def test_malformed_specs(spec: Any) -> None:
    for call in (lambda: validate_spec(spec), lambda: resolve_version(spec, REGISTERED)):
        with pytest.raises(VersionError) as info:
            call()
        message = str(info.value)
        assert repr(spec) in message
        assert "'latest'" in message
        assert "'^1.2'" in message


@pytest.mark.parametrize(
    "spec", [None, "latest", "1", "1.x", "1.0.*", "^1.2", "~1.2.3", ">=1.0,<2", "==1.2.3", "*"]
)
def test_validate_spec_accepts(spec: str | None) -> None:
    validate_spec(spec)


def test_resolve_version_rejects_bad_versions() -> None:
    with pytest.raises(VersionError, match=re.escape("'1.0'")):
        resolve_version("latest", ["1.0.0", "1.0"])
    with pytest.raises(VersionError, match="iterable"):
        resolve_version("latest", "1.0.0")


# --------------------------------------------------------------------------- hypothesis

_numbers = st.integers(min_value=0, max_value=12)
_pre_ids = st.one_of(
    st.sampled_from(["alpha", "beta", "rc", "a-1", "0a"]),
    st.integers(min_value=0, max_value=12).map(str),
)
_build_ids = st.one_of(
    st.sampled_from(["build", "ci", "sha-abc", "01", "007"]),
    st.integers(min_value=0, max_value=12).map(str),
)


@st.composite
def versions(draw: st.DrawFn) -> str:
    text = f"{draw(_numbers)}.{draw(_numbers)}.{draw(_numbers)}"
    pre = draw(st.lists(_pre_ids, max_size=3))
    build = draw(st.lists(_build_ids, max_size=3))
    if pre:
        text += "-" + ".".join(pre)
    if build:
        text += "+" + ".".join(build)
    return text


# Existing versions made by the registry itself: the default labels, so that
# pre and build bumps can never be asked to go backwards.
@st.composite
def registry_versions(draw: st.DrawFn) -> str:
    text = f"{draw(_numbers)}.{draw(_numbers)}.{draw(_numbers)}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["-rc.", "-alpha.", "-beta."])) + str(draw(_numbers))
    if draw(st.booleans()):
        text += f"+build.{draw(_numbers)}"
    return text


def _precedence_cmp(a: str, b: str) -> int:
    va, vb = semantic_version.Version(a), semantic_version.Version(b)
    return (va.precedence_key > vb.precedence_key) - (va.precedence_key < vb.precedence_key)


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


@given(versions(), versions())
def test_version_key_agrees_with_semantic_version(a: str, b: str) -> None:
    assume(_precedence_cmp(a, b) != 0)
    assert _cmp(version_key(a), version_key(b)) == _precedence_cmp(a, b)
    va, vb = semantic_version.Version(a), semantic_version.Version(b)
    assert (version_key(a) < version_key(b)) == (va < vb)


@given(versions(), versions(), versions())
def test_version_key_is_a_total_order(a: str, b: str, c: str) -> None:
    ka, kb, kc = version_key(a), version_key(b), version_key(c)
    assert (ka == kb) == (a == b)  # antisymmetric: distinct strings never tie
    assert (ka < kb) + (kb < ka) + (ka == kb) == 1  # total
    if ka <= kb and kb <= kc:
        assert ka <= kc  # transitive
    assert sorted_versions([c, b, a]) == sorted_versions([a, b, c])


@given(st.lists(versions(), max_size=8))
def test_sorted_versions_is_ascending(items: list[str]) -> None:
    result = sorted_versions(items)
    assert sorted(result) == sorted(items)
    assert all(version_key(x) <= version_key(y) for x, y in itertools.pairwise(result))


@given(st.lists(registry_versions(), max_size=8), st.sampled_from(versioning.VERSION_TYPES))
@example(["1.0.11"], "patch")
@example(["1.0.11", "1.1.0-rc.1"], "pre")
def test_next_version_properties(existing: list[str], version_type: str) -> None:
    result = next_version(existing, version_type)
    parsed = parse_version(result)
    assert result not in existing
    assert all(version_key(result) > version_key(v) for v in existing)
    if version_type in ("major", "minor", "patch"):
        assert not parsed.prerelease and not parsed.build
    elif version_type == "pre":
        assert parsed.prerelease[0] == "rc" and not parsed.build
    else:
        assert parsed.build[0] == "build"
        if existing:
            highest = max(existing, key=version_key)
            assert parsed.truncate("prerelease") == parse_version(highest).truncate("prerelease")


@given(st.lists(versions(), max_size=8), st.sampled_from(["major", "minor", "patch"]))
def test_next_version_release_bumps_never_fail(existing: list[str], version_type: str) -> None:
    result = next_version(existing, version_type)
    assert result not in existing
    assert all(version_key(result) > version_key(v) for v in existing)


@given(st.lists(versions(), max_size=8), st.sampled_from(["pre", "build"]))
def test_next_version_labelled_bumps_go_up_or_refuse(
    existing: list[str], version_type: str
) -> None:
    try:
        result = next_version(existing, version_type)
    except VersionError as exc:
        assert "would sort below" in str(exc)
        return
    assert result not in existing
    assert all(version_key(result) > version_key(v) for v in existing)


def _partials(draw: st.DrawFn) -> str:
    major, minor = draw(_numbers), draw(_numbers)
    return draw(
        st.sampled_from([f"{major}", f"{major}.{minor}", f"{major}.*", f"{major}.{minor}.*"])
    )


@st.composite
def range_specs(draw: st.DrawFn) -> str:
    """Specs in SimpleSpec's own syntax, so SimpleSpec is the oracle.

    Caret and tilde are ours, not SimpleSpec's (npm and cargo on 0.x): their
    oracle is in test_version_caret_tilde.py.
    """
    target = draw(versions().filter(lambda v: "+" not in v))
    plain = target.split("-")[0]
    major, minor = draw(_numbers), draw(_numbers)
    choices = [
        _partials(draw),
        f">={major}.{minor},<{major + 1}",
        f">={target}",
        f"<{target}",
        f"!={target}",
        f">={plain},!={target}",
    ]
    return draw(st.sampled_from(choices))


@settings(max_examples=300)
@given(st.lists(versions(), max_size=10), range_specs())
def test_resolve_range_matches_simple_spec(items: list[str], spec: str) -> None:
    result = resolve_version(spec, items)
    simple = semantic_version.SimpleSpec(spec)
    names_prerelease = any(
        semantic_version.Version.coerce(part.lstrip("^~=<>!")).prerelease
        for part in spec.split(",")
        if "-" in part
    )
    allowed = [
        v
        for v in items
        if semantic_version.Version(v) in simple
        and (names_prerelease or not semantic_version.Version(v).prerelease)
    ]
    if result is None:
        assert allowed == []
        return
    assert result in items
    assert semantic_version.Version(result) in simple
    assert result == max(allowed, key=version_key)
    best = simple.select(semantic_version.Version(v) for v in allowed)
    assert best is not None
    # SemVer precedence ignores build metadata (precedence_key's last item holds it)
    assert semantic_version.Version(result).precedence_key[:4] == best.precedence_key[:4]


@given(st.lists(versions(), max_size=10), versions())
def test_resolve_exact_returns_itself_or_none(items: list[str], spec: str) -> None:
    result = resolve_version(spec, items)
    assert result == (spec if spec in items else None)
    assert resolve_version(spec, [*items, spec]) == spec


@given(st.lists(versions(), max_size=10))
def test_resolve_latest(items: list[str]) -> None:
    result = resolve_version(None, items)
    assert result == resolve_version("latest", items)
    if not items:
        assert result is None
        return
    assert result in items
    releases = [v for v in items if not parse_version(v).prerelease]
    assert result == max(releases or items, key=version_key)
