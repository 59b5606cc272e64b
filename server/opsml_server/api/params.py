"""Request parameters whose rules the server enforces, declared in OpenAPI as well.

The checks themselves stay in :mod:`opsml.schemas` (``check_name``,
``check_relative_path``, ``check_alias``), with their messages; these aliases
only publish the same rules as JSON Schema patterns, so that generated clients
and fuzzers send what the server accepts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from opsml.schemas_aliases import ALIAS_PATTERN, NEW_ALIAS_PATTERN
from opsml.schemas_rules import NAME_PATTERN, PATH_PATTERN

_NAME = {"pattern": NAME_PATTERN}
NameQuery = Annotated[
    str, Query(description="A card name: letters, digits, '.', '_', '-'.", json_schema_extra=_NAME)
]
RepositoryQuery = Annotated[str, Query(description="A repository.", json_schema_extra=_NAME)]
OptionalNameQuery = Annotated[str | None, Query(json_schema_extra=_NAME)]
RepositoriesQuery = Annotated[
    list[str] | None,
    Query(
        description="Only cards of one of these repositories.", json_schema_extra={"items": _NAME}
    ),
]
AliasPath = Annotated[
    str,
    Path(
        description="The alias name, e.g. 'champion'.", json_schema_extra={"pattern": ALIAS_PATTERN}
    ),
]
NewAliasPath = Annotated[
    str,
    Path(
        description="The alias name, e.g. 'champion' (not a reserved name such as 'latest').",
        json_schema_extra={"pattern": NEW_ALIAS_PATTERN},
    ),
]
FilePath = Annotated[
    str,
    Path(
        description="The file's path relative to its card's folder.",
        json_schema_extra={"pattern": PATH_PATTERN},
    ),
]
