"""View models of the home page and of a registry's list, over ``RegistryBackend`` only.

The interface lists at most :data:`WINDOW` cards, newest first, with exact
filters (name, repository, tags, version spec). Search on part of a name or
repository therefore looks at the newest :data:`WINDOW` cards, plus every
version of an exact name or repository match; paging walks that window.

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
from opsml.schemas import REGISTRY_TYPES, CardPublic, CardQuery, RegistryType, build, check_name

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend

WINDOW = 1000
"""Most cards one ``list_cards`` call returns (``CardQuery.limit``'s bound)."""
PER_PAGE = 50
LATEST = 5


@dataclass(frozen=True)
class RegistrySummary:
    """One registry on the home page: how many cards, and the newest few."""

    registry: str
    count: int
    capped: bool
    latest: list[CardPublic]


@dataclass(frozen=True)
class ListFilters:
    """The list page's query, as the URL holds it."""

    q: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    version: str = ""
    page: int = 1

    @classmethod
    def parse(
        cls, *, q: str | None, tag: list[str] | None, version: str | None, page: str | None
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
        return cls(q=(q or "").strip()[:128], tags=tags, version=spec, page=number)

    def query(self, **fields: object) -> CardQuery:
        """The interface query for these filters plus ``fields``."""
        return build(CardQuery, tags=self.tags or None, version=self.version or None, **fields)


@dataclass(frozen=True)
class ListPage:
    """One page of a registry's list."""

    registry: str
    filters: ListFilters
    cards: list[CardPublic]
    first: int
    has_next: bool
    capped: bool

    def url(self, page: int) -> str:
        """The address of this query at another page."""
        params = [("q", self.filters.q)] if self.filters.q else []
        params += [("tag", f"{k}={v}") for k, v in self.filters.tags.items()]
        params += [("version", self.filters.version)] if self.filters.version else []
        params += [("page", str(page))] if page > 1 else []
        return f"/ui/{self.registry}" + (f"?{urlencode(params)}" if params else "")


def home(backend: RegistryBackend) -> list[RegistrySummary]:
    """Each registry with its card count (capped at :data:`WINDOW`) and newest cards."""
    out = []
    for registry in REGISTRY_TYPES:
        cards = backend.list_cards(registry, CardQuery(limit=WINDOW))  # type: ignore[arg-type]
        out.append(RegistrySummary(registry, len(cards), len(cards) >= WINDOW, cards[:LATEST]))
    return out


def semver_order(cards: list[CardPublic]) -> list[CardPublic]:
    """Group versions of one name together (groups by newest registration), SemVer high first."""
    groups: dict[tuple[str, str], list[CardPublic]] = {}
    for card in cards:
        groups.setdefault((card.repository, card.name), []).append(card)
    out: list[CardPublic] = []
    for members in groups.values():
        out.extend(sorted(members, key=lambda c: versioning.version_key(c.version), reverse=True))
    return out


def _matches(card: CardPublic, needle: str) -> bool:
    return needle in card.name.lower() or needle in card.repository.lower()


def _search(
    backend: RegistryBackend, registry: RegistryType, filters: ListFilters, wanted: int
) -> list[CardPublic]:
    needle = filters.q.lower()
    found = [
        c for c in backend.list_cards(registry, filters.query(limit=WINDOW)) if _matches(c, needle)
    ]
    try:
        exact = check_name(filters.q)
    except ValueError:
        return found
    seen = {c.uid for c in found}
    for key in ("name", "repository"):
        for card in backend.list_cards(registry, filters.query(limit=wanted, **{key: exact})):
            if card.uid not in seen:
                seen.add(card.uid)
                found.append(card)
    return sorted(found, key=lambda c: c.created_at, reverse=True)


def list_page(backend: RegistryBackend, registry: RegistryType, filters: ListFilters) -> ListPage:
    """The cards of one page: newest names first, each name's versions in SemVer order."""
    wanted = min(WINDOW, filters.page * PER_PAGE + 1)
    if filters.q:
        cards = _search(backend, registry, filters, wanted)
    else:
        cards = backend.list_cards(registry, filters.query(limit=wanted))
    ordered = semver_order(cards[:wanted])
    start = (filters.page - 1) * PER_PAGE
    return ListPage(
        registry=registry,
        filters=filters,
        cards=ordered[start : start + PER_PAGE],
        first=start + 1,
        has_next=len(ordered) > start + PER_PAGE and start + PER_PAGE < WINDOW,
        capped=len(cards) >= WINDOW,
    )
