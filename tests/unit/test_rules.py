"""Issue 30 item 8: the JSON Schema patterns published in OpenAPI state exactly the rules the
checks enforce: whatever a pattern allows the check accepts, and the other way round.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from opsml.errors import InvalidInputError
from opsml.schemas import check_name, check_relative_path
from opsml.schemas_aliases import (
    ALIAS_PATTERN,
    NEW_ALIAS_PATTERN,
    RESERVED_ALIASES,
    check_alias,
    check_new_alias,
)
from opsml.schemas_rules import NAME_PATTERN, PATH_PATTERN


def _accepts(check: object, value: str) -> bool:
    try:
        check(value)  # type: ignore[operator]
    except (InvalidInputError, ValueError):
        return False
    return True


# ECMA-262 (what OpenAPI tools read) has no "$ before a final newline": match with \Z
CASES = [
    (NAME_PATTERN, check_name, "aZ09._- /\\%"),
    (PATH_PATTERN, check_relative_path, "aZ09._- /\\%:()=@+,"),
    (ALIAS_PATTERN, check_alias, "abfn1-_ A"),
    (NEW_ALIAS_PATTERN, check_new_alias, "latesnuorfy1-"),
]


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_values_of_a_pattern_pass_its_check(data: st.DataObject) -> None:
    for pattern, check, _ in CASES:
        value = data.draw(st.from_regex(pattern.replace("$", r"\Z"), fullmatch=True))
        assert _accepts(check, value), (pattern, value)


@settings(max_examples=1500, deadline=None)
@given(data=st.data())
def test_a_pattern_allows_exactly_what_its_check_accepts(data: st.DataObject) -> None:
    for pattern, check, alphabet in CASES:
        value = data.draw(st.text(alphabet=alphabet, max_size=12))
        matched = re.match(pattern.replace("$", r"\Z"), value) is not None
        assert matched == _accepts(check, value), (pattern, value)


def test_reserved_aliases_are_outside_the_pattern_of_a_new_alias() -> None:
    for alias in RESERVED_ALIASES:
        assert re.match(ALIAS_PATTERN, alias) and not re.match(NEW_ALIAS_PATTERN, alias)
    assert re.match(NEW_ALIAS_PATTERN, "latest-approved") and re.match(NEW_ALIAS_PATTERN, "nope")
