"""Light listing: pages of card summaries by cursor, and exact counts.

``GET /api/v1/cards/{registry}/page`` answers a :class:`~opsml.schemas.CardPage`
(``next_cursor`` continues it) and ``GET /api/v1/cards/{registry}/count`` a
:class:`~opsml.schemas.CardCount`; both take the filters of the list route plus
``search`` (part of a name or repository) and ``links_to`` (a card uid). A
caller without a global reader role sees only the repositories it may read, in
the rows and in the count alike (the restriction is part of the query).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import TypeAdapter, ValidationError

from opsml.auth.roles import Role, require
from opsml.errors import InvalidInputError
from opsml.schemas import CardCount, CardPage, CardQuery, RegistryType
from opsml_server.api.deps import BackendDep, CurrentUser, readable_repositories
from opsml_server.api.params import OptionalNameQuery, RepositoriesQuery
from opsml_server.handlers import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/cards", tags=["cards"], responses=ERROR_RESPONSES)

MAX_TAGS_FILTER = 16_384
"""Characters of the ``tags`` filter of a listing."""
MAX_TAGS_IN_FILTER = 100
_TAGS = TypeAdapter(dict[str, str])  # jiter bounds the nesting depth (a clear error)


def parse_tags(tags: str | None) -> dict[str, str] | None:
    """The ``tags`` filter: a flat JSON object of strings, bounded in size and depth."""
    if tags is None:
        return None
    try:
        parsed = _TAGS.validate_json(tags)
    except ValidationError as exc:
        why = exc.errors()[0]["msg"]
        raise InvalidInputError(f"tags must be a flat JSON object of strings ({why})") from None
    if len(parsed) > MAX_TAGS_IN_FILTER:
        raise InvalidInputError(f"tags may hold at most {MAX_TAGS_IN_FILTER} tags to match")
    return parsed


async def card_query(
    name: OptionalNameQuery = None,
    repository: OptionalNameQuery = None,
    version: Annotated[str | None, Query(description="A version or spec, e.g. '^1.2'.")] = None,
    tags: Annotated[
        str | None,
        Query(max_length=MAX_TAGS_FILTER, description="Tags to match, as a JSON object."),
    ] = None,
    search: Annotated[
        str | None, Query(max_length=128, description="Part of the name or repository, any case.")
    ] = None,
    links_to: Annotated[
        str | None,
        Query(
            description="Only cards whose lineage references this card uid.",
            json_schema_extra={"pattern": "^[0-9a-f]{32}$"},
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=256, description="next_cursor of the previous page.")
    ] = None,
    repositories: RepositoriesQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> CardQuery:
    """The listing filters of the query string, validated (bad ones: 422 naming the field)."""
    return CardQuery(
        name=name,
        repository=repository,
        version=version,
        tags=parse_tags(tags),
        search=search or None,
        links_to=links_to,
        cursor=cursor,
        repositories=repositories,
        limit=limit,
    )


QueryDep = Annotated[CardQuery, Depends(card_query)]


def readable(user: str | None, query: CardQuery) -> CardQuery:
    """``query`` restricted to what ``user`` may read (403 for a named repository it may not)."""
    if query.repository is not None:
        require(user, Role.READER, query.repository)
        return query
    allowed = readable_repositories(user)
    if allowed is None:
        return query
    if query.repositories is not None:
        allowed = [repo for repo in allowed if repo in query.repositories]
    return query.model_copy(update={"repositories": allowed})


def _json(body: str) -> Response:
    return Response(body, media_type="application/json")


@router.get("/{registry}/page", operation_id="list_page", response_model=CardPage)
def list_page(
    registry: RegistryType, query: QueryDep, backend: BackendDep, user: CurrentUser
) -> Response:
    """One page of card summaries, newest first; pass ``next_cursor`` back as ``cursor``."""
    page = backend.list_page(registry, readable(user, query))
    return _json(page.model_dump_json())  # straight to bytes: no second validation pass


@router.get("/{registry}/count", operation_id="count_cards", response_model=CardCount)
def count_cards(
    registry: RegistryType, query: QueryDep, backend: BackendDep, user: CurrentUser
) -> Response:
    """How many cards match the filters (exact)."""
    count = backend.count_cards(registry, readable(user, query))
    return _json(CardCount(count=count).model_dump_json())
