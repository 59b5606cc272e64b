"""View models of the home page and of a registry's list, over ``RegistryBackend`` only.

Counts are exact (``count_cards``); the list is served by the database:
search on part of a name or repository, tag and version filters, and paging
by the opaque cursor of ``list_page`` (the URL holds it, so a page can be
shared and reloaded; page 2,000 costs what page 1 costs).

Example:
    >>> ListFilters.parse(q=" churn ", tag=["team=ds"], version="^1", page="2").tags
    {'team': 'ds'}

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from opsml import versioning
from opsml.errors import InvalidInputError
from opsml.schemas import REGISTRY_TYPES, CardQuery, CardSummary, RegistryType, build

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend

PER_PAGE = 50
LATEST = 5


@dataclass(frozen=True)
class RegistrySummary:
    """One registry on the home page: how many cards (exact), and the newest few."""

    registry: str
    count: int
    latest: list[CardSummary]


@dataclass(frozen=True)
class ListFilters:
    """The list page's query, as the URL holds it (``page`` only numbers what is shown)."""

    q: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    version: str = ""
    page: int = 1
    cursor: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        q: str | None,
        tag: list[str] | None,
        version: str | None,
        page: str | None,
        cursor: str | None = None,
    ) -> ListFilters:
        """Validate the query string's values; bad ones raise ``InvalidInputError``."""
        tags: dict[str, str] = {}
        for item in filter(None, (t.strip() for t in tag or [])):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InvalidInputError(f"tag filter {item!r} must look like key=value")
            tags[key.strip()] = value.strip()
        spec = (version or "").strip()
        if spec:
            versioning.validate_spec(spec)
        try:
            number = max(1, int(page or 1))
        except ValueError:
            raise InvalidInputError(f"page {page!r} is not a number") from None
        return cls(
            q=(q or "").strip()[:128],
            tags=tags,
            version=spec,
            page=number if cursor else 1,
            cursor=cursor or None,
        )

    def query(self, **fields: object) -> CardQuery:
        """The interface query for these filters plus ``fields``."""
        return build(
            CardQuery,
            search=self.q or None,
            tags=self.tags or None,
            version=self.version or None,
            **fields,
        )

    def url(self, registry: str, cursor: str | None = None, page: int = 1) -> str:
        """The address of these filters at the page ``cursor`` starts (``None``: the first)."""
        params = [("q", self.q)] if self.q else []
        params += [("tag", f"{k}={v}") for k, v in self.tags.items()]
        params += [("version", self.version)] if self.version else []
        params += [("cursor", cursor), ("page", str(page))] if cursor else []
        return f"/ui/{registry}" + (f"?{urlencode(params)}" if params else "")


@dataclass(frozen=True)
class ListPage:
    """One page of a registry's list, how many cards match, and where the next page starts."""

    registry: str
    filters: ListFilters
    cards: list[CardSummary]
    total: int
    next_cursor: str | None

    @property
    def first(self) -> int:
        """The position of the page's first card among all matches."""
        return (self.filters.page - 1) * PER_PAGE + 1

    @property
    def has_next(self) -> bool:
        """Whether a next page exists."""
        return self.next_cursor is not None

    def next_url(self) -> str:
        """The next page's address."""
        return self.filters.url(self.registry, self.next_cursor, self.filters.page + 1)

    def first_url(self) -> str:
        """The first page's address (same filters)."""
        return self.filters.url(self.registry)


def home(backend: RegistryBackend) -> list[RegistrySummary]:
    """Each registry with its exact card count and newest cards."""
    out = []
    for registry in REGISTRY_TYPES:
        kind: RegistryType = registry  # type: ignore[assignment]
        count = backend.count_cards(kind, CardQuery())
        latest = backend.list_page(kind, CardQuery(limit=LATEST)).items if count else []
        out.append(RegistrySummary(registry, count, latest))
    return out


def semver_order(cards: list[CardSummary]) -> list[CardSummary]:
    """Group versions of one name together (groups by newest registration), SemVer high first."""
    groups: dict[tuple[str, str], list[CardSummary]] = {}
    for card in cards:
        groups.setdefault((card.repository, card.name), []).append(card)
    out: list[CardSummary] = []
    for members in groups.values():
        out.extend(sorted(members, key=lambda c: versioning.version_key(c.version), reverse=True))
    return out


def list_page(backend: RegistryBackend, registry: RegistryType, filters: ListFilters) -> ListPage:
    """The cards of one page (newest names first, each name's versions in SemVer order)."""
    page = backend.list_page(registry, filters.query(limit=PER_PAGE, cursor=filters.cursor))
    return ListPage(
        registry=registry,
        filters=filters,
        cards=semver_order(page.items),
        total=backend.count_cards(registry, filters.query()),
        next_cursor=page.next_cursor,
    )
