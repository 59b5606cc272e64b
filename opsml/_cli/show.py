"""What ``opsml cards show`` prints: one card's metadata, files, signature, metrics, lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console

    from opsml.schemas import CardPublic

_LINK_SUFFIXES = ("_uid", "_uids")


def _lineage(metadata: dict[str, Any]) -> dict[str, Any]:
    """The flow-run lineage and every link to another card."""
    out: dict[str, Any] = dict(metadata.get("lineage") or {})
    for key, value in metadata.items():
        if (key.endswith(_LINK_SUFFIXES) or key == "card_uids") and value:
            out[key] = value
    return out


def card_view(card: CardPublic, trusted: Iterable[str] = ()) -> dict[str, Any]:
    """The card as ``cards show --json`` prints it: its fields, then one section per topic.

    Example:
        >>> from datetime import datetime, timezone
        >>> from opsml.schemas import CardPublic
        >>> c = CardPublic(registry="run", name="r", repository="ds", contact="me",
        ...                uid="0" * 32, version="1.0.0", created_at=datetime.now(timezone.utc),
        ...                metadata={"metrics": {"acc": [{"value": 0.9, "step": None}]}})
        >>> card_view(c)["metrics"]["acc"][0]["value"]
        0.9

    """
    data = card.model_dump(mode="json")
    metadata: dict[str, Any] = data.pop("metadata")
    model = metadata.get("model") or {}
    from opsml.signature_status import signature_status

    return {
        **data,
        "signed": signature_status(card, trusted),
        "signature": model.get("signature"),
        "metrics": metadata.get("metrics") or {},
        "params": metadata.get("params") or {},
        "lineage": _lineage(metadata),
        "metadata": metadata,
    }


def _fields(view: dict[str, Any]) -> list[tuple[str, str]]:
    model = view["metadata"].get("model") or {}
    rows = [
        ("uid", view["uid"]),
        ("contact", view["contact"]),
        ("created", f"{view['created_at']} by {view['created_by'] or '?'}"),
        ("updated", view["updated_at"] or ""),
        ("tags", ", ".join(f"{k}={v}" for k, v in view["tags"].items())),
        ("description", view["description"] or ""),
        ("signed by", _signed(view.get("signed"))),
    ]
    if model:
        versions = model.get("library_versions") or {}
        rows += [
            ("framework", f"{model.get('framework', '')} ({model.get('model_class', '')})"),
            ("libraries", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ]
    return [(k, str(v)) for k, v in rows if v]


def _signed(status: dict[str, Any] | None) -> str:
    """``sha256:… (key): verified`` / ``… NOT verified: why`` / ``unsigned``."""
    if status is None:
        return "unsigned"
    verdict = {True: "verified", False: "NOT verified", None: "not checked"}[status["verified"]]
    signer = f"{status['signed_by'] or '?'} ({status['method'] or '?'})"
    return f"{signer}: {verdict}: {status['detail']}"


def _signature_rows(signature: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for side in ("input", "output"):
        spec = signature.get(side) or {}
        shape = spec.get("shape")
        types = spec.get("columns") or {"": spec.get("dtype", "")}
        described = ", ".join(f"{k}: {v}" if k else str(v) for k, v in types.items())
        rows.append((side, f"{spec.get('kind', '?')} {shape} {described}".strip()))
    return rows


def _metric_rows(metrics: dict[str, list[dict[str, Any]]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, points in metrics.items():
        last = points[-1] if points else {}
        rows.append((name, str(last.get("value", "")), str(len(points))))
    return rows


def render(view: dict[str, Any], console: Console) -> None:
    """Print the card as tables: fields, files, signature, metrics, params, lineage.

    Example:
        >>> render(card_view(card), Console())  # doctest: +SKIP

    """
    from rich.table import Table

    title = f"{view['registry']} card {view['repository']}/{view['name']} v{view['version']}"
    sections: list[tuple[str, list[str], list[tuple[str, ...]]]] = [
        (title, ["field", "value"], list(_fields(view))),
        (
            f"files ({len(view['files'])})",
            ["path", "size", "sha256"],
            [(f["path"], str(f["size"]), f["sha256"]) for f in view["files"]],
        ),
        ("signature", ["side", "spec"], _signature_rows(view["signature"] or {})),
        ("metrics", ["name", "last", "points"], _metric_rows(view["metrics"])),
        ("params", ["name", "value"], [(k, str(v)) for k, v in view["params"].items()]),
        ("lineage", ["link", "value"], [(k, str(v)) for k, v in view["lineage"].items()]),
    ]
    for name, columns, rows in sections:
        if not rows or (name == "signature" and not view["signature"]):
            continue
        table = Table(title=name, title_justify="left", show_header=True)
        for column in columns:
            table.add_column(column, overflow="fold", min_width=64 if column == "sha256" else None)
        for row in rows:
            table.add_row(*row)
        console.print(table)
