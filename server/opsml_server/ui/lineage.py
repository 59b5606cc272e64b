"""The lineage of a card: data → run → model → pipeline, linked both ways.

Forward links come from the card's own metadata (a model's ``datacard_uid``
and ``runcard_uid``, a run's ``datacard_uids`` and ``modelcard_uids``, a
pipeline's ``card_uids``). Backward links (which runs used this data, which
pipeline registered this model) are one ``links_to`` query per registry,
through the interface.

Example:
    >>> forward_links("model", {"datacard_uid": "a" * 32, "runcard_uid": None})
    {'data': ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']}

"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsml.card_index import flow_run_key
from opsml.errors import OpsmlError
from opsml.schemas import CardPublic, CardQuery

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend

STAGES: tuple[str, ...] = ("data", "run", "model", "pipeline")
REVERSE_LINKS = 20
"""Most cards of one registry shown as pointing back to a card."""
_UID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class LineageNode:
    """One linked card (``card`` is ``None`` when it was deleted or is unknown)."""

    registry: str
    uid: str
    card: CardPublic | None


def _uids(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and _UID.fullmatch(v)]


def forward_links(registry: str, meta: dict[str, Any]) -> dict[str, list[str]]:
    """Uids this card's own metadata points to, by registry."""
    links: dict[str, list[str]] = {}
    if registry == "model":
        links = {"data": _uids(meta.get("datacard_uid")), "run": _uids(meta.get("runcard_uid"))}
    elif registry == "run":
        links = {
            "data": _uids(meta.get("datacard_uids")),
            "model": _uids(meta.get("modelcard_uids")),
        }
    elif registry == "pipeline":
        card_uids = meta.get("card_uids")
        if isinstance(card_uids, dict):
            links = {str(k): _uids(v) for k, v in card_uids.items() if k in STAGES}
    return {k: v for k, v in links.items() if v}


def backward_links(backend: RegistryBackend, card: CardPublic) -> dict[str, list[str]]:
    """Uids of cards of the other registries whose lineage references ``card`` (``links_to``).

    A pipeline also counts when it ran the flow run ``card`` was registered in.
    """
    lineage_meta = card.metadata.get("lineage")
    run_key = (
        flow_run_key(lineage_meta.get("flow_run_id")) if isinstance(lineage_meta, dict) else None
    )
    out: dict[str, list[str]] = {}
    for registry in STAGES:
        if registry == card.registry or registry == "data":
            continue
        targets = [card.uid, *([run_key] if registry == "pipeline" and run_key else [])]
        found: list[str] = []
        for target in targets:
            page = backend.list_page(registry, CardQuery(links_to=target, limit=REVERSE_LINKS))  # type: ignore[arg-type]
            found += [c.uid for c in page.items if c.uid not in found]
        if found:
            out[registry] = found
    return out


def lineage(backend: RegistryBackend, card: CardPublic) -> dict[str, list[LineageNode]]:
    """Every linked card by stage (the card itself sits in its own stage)."""
    links = forward_links(card.registry, card.metadata)
    for registry, uids in backward_links(backend, card).items():
        links[registry] = list(dict.fromkeys([*links.get(registry, []), *uids]))
    graph: dict[str, list[LineageNode]] = {}
    for stage in STAGES:
        if stage == card.registry:
            graph[stage] = [LineageNode(stage, card.uid, card)]
            continue
        nodes = []
        for uid in links.get(stage, [])[:20]:
            try:
                linked: CardPublic | None = backend.get_card(stage, uid=uid)  # type: ignore[arg-type]
            except OpsmlError:
                linked = None
            nodes.append(LineageNode(stage, uid, linked))
        graph[stage] = nodes
    return graph


def flow_run_link(card: CardPublic) -> str | None:
    """The Prefect flow run's URL, only when it is an ``http(s)`` address."""
    meta = card.metadata
    lineage_meta = meta.get("lineage") if isinstance(meta.get("lineage"), dict) else {}
    url = meta.get("run_url") or (lineage_meta or {}).get("run_url")
    if isinstance(url, str) and re.match(r"^https?://", url, re.IGNORECASE):
        return url
    return None
