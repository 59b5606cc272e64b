"""View model of a card page: files, kind details, charts, lineage, history, audit.

Example:
    >>> signature_rows({"input": {"kind": "pandas", "columns": {"x": "float64"}}})
    [('input', 'x', 'float64')]

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from opsml import versioning
from opsml.auth.models import AuditEntry, AuditQuery
from opsml.errors import OpsmlError
from opsml.schemas import CardPublic, CardQuery, CardSummary, RegistryType
from opsml_server.ui.charts import Chart, metric_charts
from opsml_server.ui.lineage import LineageNode, flow_run_link, lineage

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.schemas import AliasPublic

HISTORY = 50
AUDIT_ROWS = 100


@dataclass(frozen=True)
class CardPage:
    """Everything the card page shows."""

    card: CardPublic
    model: dict[str, Any]
    signature: list[tuple[str, str, str]]
    signed: dict[str, Any] | None
    data: dict[str, Any]
    params: dict[str, Any]
    charts: list[Chart]
    lineage: dict[str, list[LineageNode]]
    flow_run_url: str | None
    history: list[CardSummary]
    audit: list[AuditEntry] | None
    aliases: list[AliasPublic]


def download_url(card: CardPublic, path: str) -> str:
    """The API's download endpoint for one file (the one the client uses).

    Example:
        >>> from datetime import datetime
        >>> c = CardPublic(registry="run", name="r", repository="ds", contact="me",
        ...                uid="0" * 32, version="1.0.0", created_at=datetime(2026, 1, 1))
        >>> download_url(c, "plots/a b.png")
        '/api/v1/cards/run/00000000000000000000000000000000/files/plots/a%20b.png'

    """
    return f"/api/v1/cards/{card.registry}/{card.uid}/files/{quote(path, safe='/')}"


def signature_rows(signature: object) -> list[tuple[str, str, str]]:
    """(side, column or shape, dtype or type) rows of a model's signature."""
    if not isinstance(signature, dict):
        return []
    rows: list[tuple[str, str, str]] = []
    for side in ("input", "output"):
        info = signature.get(side)
        if not isinstance(info, dict):
            continue
        columns = info.get("columns")
        if isinstance(columns, dict):
            rows.extend((side, str(k), str(v)) for k, v in columns.items())
        elif "dtype" in info:
            shape = info.get("shape")
            rows.append((side, f"shape {shape}" if shape is not None else "", str(info["dtype"])))
        else:
            rows.append((side, str(info.get("kind", "")), str(info.get("type", ""))))
    return rows


def history(backend: RegistryBackend, card: CardPublic) -> list[CardSummary]:
    """The newest versions of this name (light rows), SemVer high first."""
    query = CardQuery(name=card.name, repository=card.repository, limit=HISTORY)
    versions = backend.list_page(card.registry, query).items
    return sorted(versions, key=lambda c: versioning.version_key(c.version), reverse=True)


def audit_entries(backend: RegistryBackend, card: CardPublic) -> list[AuditEntry] | None:
    """The newest audit entries of this card, or ``None`` when they cannot be read."""
    query = AuditQuery(
        registry=card.registry, repository=card.repository, card_uid=card.uid, limit=AUDIT_ROWS
    )
    try:
        return backend.identity().list_audit(query).items
    except OpsmlError:  # e.g. a server that refuses this caller its audit log
        return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def card_page(
    backend: RegistryBackend, registry: RegistryType, uid: str, trusted: Sequence[str] = ()
) -> CardPage:
    """Load one card and everything around it (its signature checked with ``trusted`` keys)."""
    from opsml.signature_status import signature_status

    card = backend.get_card(registry, uid=uid)
    meta = card.metadata
    model = _dict(meta.get("model"))
    return CardPage(
        card=card,
        model=model,
        signature=signature_rows(model.get("signature")),
        signed=signature_status(card, trusted),
        data=_dict(meta.get("data")),
        params=_dict(meta.get("params")),
        charts=metric_charts(meta.get("metrics")),
        lineage=lineage(backend, card),
        flow_run_url=flow_run_link(card),
        history=history(backend, card),
        audit=audit_entries(backend, card),
        aliases=backend.list_aliases(card.registry, card.name, card.repository),
    )
