"""View models of deployment records (docs/design.md §17) for the UI, over ``RegistryBackend`` only.

Three views: a card's "Deployments" section (the targets it serves now, the
targets other versions of its name serve, then its own records), the page
``/ui/deployments`` (what serves every environment's targets now, and the
newest records), and the marks of the list page (which versions serve
somewhere). Each is one or two ``list_deployments`` calls: ``current=True``
reads one row per target, never the whole history.

Reading follows the API's rule (:func:`opsml_server.api.routes.deployments.readable`):
a caller sees only the records of repositories it may read.

Example:
    >>> short_digest("sha256:" + "ab" * 32)
    'sha256:abababababab…'
    >>> safe_link("javascript:alert(1)") is None
    True
    >>> str(breakable("k8s/<b>/api"))
    'k8s/<wbr>&lt;b&gt;/<wbr>api'

"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from opsml.schemas import build
from opsml.schemas_deployments import (
    MAX_UIDS,
    DeploymentPage,
    DeploymentPublic,
    DeploymentQuery,
)
from opsml_server.api.routes.deployments import readable

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.schemas import CardPublic, CardSummary

MAX_TARGETS = 1000
"""Current deployments read for one page (one per target; the API's largest page)."""
CARD_RECORDS = 50
"""A card's own records shown on its page, newest first."""
RECENT = 20
"""Newest records shown under the current deployments on ``/ui/deployments``."""
_HTTP = re.compile(r"^https?://", re.IGNORECASE)


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an ``http(s)`` address (a flow-run link), else ``None``.

    Example:
        >>> safe_link("http://127.0.0.1:4200/runs/flow-run/1")
        'http://127.0.0.1:4200/runs/flow-run/1'

    """
    return url if url and _HTTP.match(url) else None


def breakable(value: str) -> Markup:
    """``value`` escaped, with a line-break opportunity after each ``/`` (long targets wrap
    between their parts, not inside a word).

    Example:
        >>> str(breakable("k8s/ml-prod/churn-api"))
        'k8s/<wbr>ml-prod/<wbr>churn-api'

    """
    return Markup("/<wbr>").join(escape(part) for part in value.split("/"))


def short_digest(digest: str | None) -> str:
    """A digest cut to its algorithm and first 12 hex characters (``""`` for none).

    Example:
        >>> short_digest(None)
        ''

    """
    if not digest:
        return ""
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}…" if len(value) > 12 else digest


def ago(value: datetime, now: datetime | None = None) -> str:
    """How long ago ``value`` was, in its largest whole unit.

    Example:
        >>> ago(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, 5, tzinfo=UTC))
        '2 d ago'

    """
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _list(backend: RegistryBackend, user: str | None, **fields: Any) -> DeploymentPage:
    """One page of records matching ``fields`` that ``user`` may read."""
    query = readable(user, build(DeploymentQuery, **fields))
    if query.repositories == []:
        return DeploymentPage(items=[])
    return backend.list_deployments(query)


@dataclass(frozen=True)
class CardDeployments:
    """The card page's "Deployments" section."""

    current: list[DeploymentPublic]
    """Targets this version serves now (environment, target order)."""
    others: list[DeploymentPublic]
    """Targets another version of this name serves now."""
    history: list[DeploymentPublic]
    """This version's records, newest first."""
    more: bool
    """Whether older records of this version exist than ``history`` shows."""

    @property
    def empty(self) -> bool:
        """Whether there is nothing to show."""
        return not (self.current or self.others or self.history)


def _by_place(records: list[DeploymentPublic]) -> list[DeploymentPublic]:
    return sorted(records, key=lambda r: (r.environment, r.target))


def for_card(backend: RegistryBackend, card: CardPublic, user: str | None) -> CardDeployments:
    """Where ``card`` and the other versions of its name serve, and its own records."""
    now = _list(
        backend, user, registry=card.registry, name=card.name, repository=card.repository,
        current=True, limit=MAX_TARGETS,
    ).items  # fmt: skip
    mine = _list(backend, user, registry=card.registry, uid=card.uid, limit=CARD_RECORDS)
    return CardDeployments(
        current=_by_place([r for r in now if r.uid == card.uid]),
        others=_by_place([r for r in now if r.uid != card.uid]),
        history=mine.items,
        more=mine.next_cursor is not None,
    )


@dataclass(frozen=True)
class EnvironmentGroup:
    """The targets of one environment and what each serves now."""

    environment: str
    rows: list[DeploymentPublic]


@dataclass(frozen=True)
class Overview:
    """The page ``/ui/deployments``."""

    environments: list[EnvironmentGroup]
    truncated: bool
    """More targets exist than :data:`MAX_TARGETS` (the page says so)."""
    recent: list[DeploymentPublic]

    @property
    def targets(self) -> int:
        """How many targets the page shows."""
        return sum(len(g.rows) for g in self.environments)


def overview(backend: RegistryBackend, user: str | None) -> Overview:
    """What every environment's targets serve now (by environment, then target)."""
    page = _list(backend, user, current=True, limit=MAX_TARGETS)
    groups: dict[str, list[DeploymentPublic]] = {}
    for record in _by_place(page.items):
        groups.setdefault(record.environment, []).append(record)
    return Overview(
        environments=[EnvironmentGroup(env, rows) for env, rows in groups.items()],
        truncated=page.next_cursor is not None,
        recent=_list(backend, user, limit=RECENT).items,
    )


def serving(
    backend: RegistryBackend, cards: list[CardSummary], user: str | None
) -> dict[str, list[DeploymentPublic]]:
    """The targets each of ``cards`` serves now, by card uid (cards serving nowhere left out).

    One ``current=True`` listing filtered on the page's uids (at most
    :data:`~opsml.schemas_deployments.MAX_UIDS` per call): it reads the rows of
    these cards' targets only, however many targets the registry has.
    """
    out: dict[str, list[DeploymentPublic]] = {}
    uids = [c.uid for c in cards]
    for start in range(0, len(uids), MAX_UIDS):
        cursor = None
        while True:
            # the uids name the cards: no registry filter (it steers SQLite to a worse index)
            page = _list(
                backend, user, uids=uids[start : start + MAX_UIDS], current=True, cursor=cursor,
                limit=MAX_TARGETS,
            )  # fmt: skip
            for record in page.items:
                out.setdefault(record.uid, []).append(record)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return {uid: _by_place(records) for uid, records in out.items()}
