"""Input rules of names, artifact paths and tags as JSON Schema, published in OpenAPI.

The checks themselves (``check_name``, ``check_relative_path``, the tags
validator in :mod:`opsml.schemas`) stay the authority, with their messages;
these patterns state the same rules for generated clients and fuzzers (a test
checks that both agree).

Example:
    >>> import re
    >>> [bool(re.match(PATH_PATTERN, p)) for p in ("model/a b.bin", "a/../b", "/etc", "a/ b")]
    [True, False, False, False]

"""

from __future__ import annotations

from typing import Any

MAX_PATH_LENGTH = 1024
"""Characters of an artifact path at most."""
UID_PATTERN = r"^[0-9a-f]{32}$"
"""The rule of a card uid (and an upload session id): 32 lowercase hex digits."""
NAME_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
"""The rule of a card name or repository as a JSON Schema ``pattern``."""
_SEG = "[A-Za-z0-9_.+=@,()-]"  # a segment's characters but the space
_SEG_INNER = "[A-Za-z0-9_.+=@,() -]"
PATH_PATTERN = (
    rf"^(?=.{{1,{MAX_PATH_LENGTH}}}$)"
    rf"(?!\.\.?(?:/|$)){_SEG}(?:{_SEG_INNER}{{0,253}}{_SEG})?"
    rf"(?:/(?!\.\.?(?:/|$)){_SEG}(?:{_SEG_INNER}{{0,253}}{_SEG})?)*$"
)
"""The rule of an artifact path relative to its card's folder as a JSON Schema ``pattern``."""
TAGS_SCHEMA: dict[str, Any] = {
    "propertyNames": {"minLength": 1, "maxLength": 128},
    "additionalProperties": {"type": "string", "maxLength": 1024},
}
"""The rule of tags: keys of 1-128 characters, values of at most 1024."""
