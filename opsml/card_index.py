"""What the list index keeps of a card: its lineage targets, its summary, and page cursors.

Lineage targets are the card uids a card's metadata references (a model's
``datacard_uid`` and ``runcard_uid``, a run's ``datacard_uids`` and
``modelcard_uids``, a pipeline's ``card_uids``), plus, for a pipeline, its
flow run's key (:func:`flow_run_key`) so that a card registered inside that
flow run finds its pipeline. Backends store them so that ``links_to`` is one
indexed lookup.

Example:
    >>> sorted(link_targets("model", {"datacard_uid": "a" * 32, "runcard_uid": None}))
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']

"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from opsml.errors import InvalidInputError

if TYPE_CHECKING:
    from opsml.schemas import CardQuery

_UID = re.compile(r"^[0-9a-f]{32}$")
_STAGES = ("data", "run", "model", "pipeline")
_LINK_FIELDS = {
    "model": ("datacard_uid", "runcard_uid"),
    "run": ("datacard_uids", "modelcard_uids"),
}


def _uids(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and _UID.fullmatch(v)]


def flow_run_key(flow_run_id: object) -> str | None:
    """A flow run id as a 32-hex key (a Prefect flow run id is a UUID), else ``None``.

    Example:
        >>> flow_run_key("12345678-1234-5678-1234-567812345678")
        '12345678123456781234567812345678'

    """
    if not isinstance(flow_run_id, str):
        return None
    try:
        return uuid.UUID(flow_run_id).hex
    except ValueError:
        return None


def link_targets(registry: str, metadata: dict[str, Any]) -> set[str]:
    """The uids (and flow run key) ``metadata`` of a ``registry`` card points to."""
    found: set[str] = set()
    for key in _LINK_FIELDS.get(registry, ()):
        found.update(_uids(metadata.get(key)))
    if registry == "pipeline":
        card_uids = metadata.get("card_uids")
        if isinstance(card_uids, dict):
            for stage, uids in card_uids.items():
                if stage in _STAGES:
                    found.update(_uids(uids))
        run_key = flow_run_key(metadata.get("flow_run_id"))
        if run_key:
            found.add(run_key)
    return found


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= 256


def summary_of(registry: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A few kind-specific scalars a list row shows (see :class:`~opsml.schemas.CardSummary`).

    Example:
        >>> summary_of("model", {"model": {"framework": "sklearn", "signature": {"x": 1}}})
        {'framework': 'sklearn'}

    """
    out: dict[str, Any] = {}
    if registry == "model":
        info = metadata.get("model")
        picked = {"framework": info.get("framework")} if isinstance(info, dict) else {}
    elif registry == "data":
        info = metadata.get("data")
        picked = (
            {"kind": info.get("kind"), "row_count": info.get("row_count")}
            if isinstance(info, dict)
            else {}
        )
    elif registry == "run":
        metrics = metadata.get("metrics")
        picked = {"metrics": ",".join(sorted(metrics)[:10])} if isinstance(metrics, dict) else {}
    else:
        picked = {"flow_name": metadata.get("flow_name"), "state": metadata.get("state")}
    out.update({k: v for k, v in picked.items() if _scalar(v)})
    return out


MAX_ROW_ID = 2**63 - 1
"""The highest row id a cursor can name (a signed 64-bit ``BIGINT``)."""


def _fingerprint(registry: str, query: CardQuery) -> str:
    fields = query.model_dump(mode="json", exclude={"limit", "cursor"}, exclude_none=True)
    raw = json.dumps([registry, fields], sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


def encode_cursor(registry: str, query: CardQuery, last_id: int) -> str:
    """An opaque cursor: continue ``query`` after the row ``last_id`` (newest first).

    Example:
        >>> from opsml.schemas import CardQuery
        >>> q = CardQuery(name="churn")
        >>> decode_cursor("model", q.model_copy(update={"cursor": encode_cursor("model", q, 7)}))
        7

    """
    payload = f"{last_id}.{_fingerprint(registry, query)}".encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(registry: str, query: CardQuery) -> int | None:
    """The row id ``query.cursor`` continues after (``None``: first page).

    Raises:
        InvalidInputError: the cursor is malformed, or belongs to another query.

    """
    if query.cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(query.cursor + "=" * (-len(query.cursor) % 4)).decode()
        last, _, fingerprint = raw.partition(".")
        last_id = int(last)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError(
            "cursor is malformed: pass the next_cursor of the previous page unchanged"
        ) from None
    if not 0 <= last_id <= MAX_ROW_ID:  # never given out: a forged cursor
        raise InvalidInputError(
            "cursor is malformed: pass the next_cursor of the previous page unchanged"
        )
    if fingerprint != _fingerprint(registry, query):
        raise InvalidInputError(
            "cursor belongs to another query: page with the same registry and filters "
            "that gave it, or start again without a cursor"
        )
    return last_id
