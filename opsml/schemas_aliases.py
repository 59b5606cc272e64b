"""Wire models of aliases (docs/design.md §12), re-exported by :mod:`opsml.schemas`.

An alias is a movable name (``champion``) for one version of a card name.

Example:
    >>> check_alias("champion")
    'champion'

"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from opsml.card_kinds import RegistryType
from opsml.errors import InvalidInputError

ALIAS_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
"""The rule of alias names (published in OpenAPI)."""
_ALIAS_RE = re.compile(ALIAS_PATTERN)


def check_alias(alias: object) -> str:
    """``alias`` when it is an alias name, else :class:`InvalidInputError` naming the rule.

    Example:
        >>> check_alias("champion-2")
        'champion-2'

    """
    if not isinstance(alias, str) or not _ALIAS_RE.fullmatch(alias):
        raise InvalidInputError(
            f"{alias!r} is not a valid alias: use 1-63 lowercase letters, digits or '-', "
            "starting with a letter"
        )
    return alias


RESERVED_ALIASES = frozenset({"latest", "null", "none", "true", "false", "yes", "no", "on", "off"})
"""Alias names that read as something else, refused when an alias is set.

``latest`` is the version word (``version="latest"``, ``version: latest``); the
others are what a YAML file (a packaging spec's or a ``prefect.yaml``'s
``alias:``) reads as null or a boolean unless quoted. Route words (``page``,
``count``, ``resolve``) are allowed: aliases live under ``/api/v1/aliases/``,
where no route word follows the registry.
"""


NEW_ALIAS_PATTERN = f"^(?!(?:{'|'.join(sorted(RESERVED_ALIASES))})$){ALIAS_PATTERN[1:]}"
"""The rule of an alias being set: :data:`ALIAS_PATTERN` but no reserved name."""


def check_new_alias(alias: object) -> str:
    """``alias`` when it may be set: :func:`check_alias`, and not a :data:`RESERVED_ALIASES` name.

    Aliases of those names set before the rule still load, list and delete.

    Example:
        >>> check_new_alias("champion")
        'champion'
        >>> check_new_alias("latest")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        opsml.errors.InvalidInputError: 'latest' is a reserved alias name ...

    """
    name = check_alias(alias)
    if name in RESERVED_ALIASES:
        why = "a version" if name == "latest" else "a YAML null or boolean"
        raise InvalidInputError(
            f"{name!r} is a reserved alias name (it reads as {why}): pick another, "
            f"e.g. '{name}-approved'"
        )
    return name


class AliasPublic(BaseModel):
    """An alias and the version it points to.

    Example:
        >>> AliasPublic(registry="model", name="m", repository="r", alias="champion",
        ...             version="1.0.0", uid="0" * 32, set_at=datetime(2026, 1, 1)).version
        '1.0.0'

    """

    registry: RegistryType
    name: str
    repository: str
    alias: str = Field(description="The alias name.")
    version: str = Field(description="The version the alias points to.")
    uid: str = Field(description="The uid of that version's card.")
    set_at: datetime = Field(description="When the alias was last moved.")
    set_by: str | None = Field(default=None, description="Who moved it last.")
    approval: int | None = Field(
        default=None,
        description="On a move made by approving a request (docs/design.md §19): the request's "
        "id; the audit log keeps it with the requester and the approver.",
    )
    requested_by: str | None = Field(default=None, description="Who asked for that move.")
    approved_by: str | None = Field(default=None, description="Who approved it.")


class AliasSet(BaseModel):
    """Body of ``PUT /api/v1/aliases/{registry}/{alias}``: the card the alias moves to.

    Example:
        >>> AliasSet(uid="0" * 32).uid == "0" * 32
        True

    """

    uid: str = Field(pattern=r"^[0-9a-f]{32}$", description="The card's uid.")


def check_alias_target(
    alias: object, *, name: str | None, repository: str | None, version: str | None = None
) -> str:
    """Validate an alias lookup: a valid alias, a name and a repository, and no version spec.

    Example:
        >>> check_alias_target("champion", name="churn", repository="ds")
        'champion'

    """
    if version is not None:
        raise InvalidInputError(
            f"give a version spec or an alias, not both (version={version!r}, alias={alias!r})"
        )
    if not name or not repository:
        raise InvalidInputError(
            "an alias belongs to one card name: give name= and repository= with alias="
        )
    return check_alias(alias)


class AliasPage(BaseModel):
    """The aliases of one card name (``GET /api/v1/aliases/{registry}``).

    Example:
        >>> AliasPage(items=[]).items
        []

    """

    items: list[AliasPublic]
