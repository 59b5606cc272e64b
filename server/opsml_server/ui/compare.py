"""View model of the comparison of two cards: metadata, params, metrics, files.

Example:
    >>> diff_rows({"lr": 0.1}, {"lr": 0.2, "depth": 3})
    [('depth', None, 3, True), ('lr', 0.1, 0.2, True)]

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsml.schemas import ArtifactFile, CardPublic, RegistryType

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend

Row = tuple[str, Any, Any, bool]
"""(key, value in a, value in b, differs)."""


@dataclass(frozen=True)
class FileRow:
    """One path in either card, with both records and what changed."""

    path: str
    a: ArtifactFile | None
    b: ArtifactFile | None

    @property
    def status(self) -> str:
        """``same``, ``changed``, ``only in A`` or ``only in B``."""
        if self.a is None:
            return "only in B"
        if self.b is None:
            return "only in A"
        return "same" if self.a.sha256 == self.b.sha256 else "changed"


@dataclass(frozen=True)
class Comparison:
    """Two cards side by side."""

    a: CardPublic
    b: CardPublic
    fields: list[Row]
    tags: list[Row]
    params: list[Row]
    metrics: list[Row]
    files: list[FileRow]


def diff_rows(a: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    """Every key of either side, sorted, with a flag where the values differ."""
    return [(k, a.get(k), b.get(k), a.get(k) != b.get(k)) for k in sorted(set(a) | set(b), key=str)]


def last_values(metrics: object) -> dict[str, Any]:
    """The last logged value of each metric."""
    out: dict[str, Any] = {}
    if isinstance(metrics, dict):
        for name, entries in metrics.items():
            if isinstance(entries, list) and entries:
                last = entries[-1]
                out[str(name)] = last.get("value") if isinstance(last, dict) else last
    return out


def _fields(card: CardPublic) -> dict[str, Any]:
    return {
        "name": card.name,
        "repository": card.repository,
        "version": card.version,
        "uid": card.uid,
        "contact": card.contact,
        "created at": card.created_at.isoformat(timespec="seconds"),
        "created by": card.created_by,
        "description": card.description,
        "files": len(card.files),
    }


def compare(backend: RegistryBackend, registry: RegistryType, a: str, b: str) -> Comparison:
    """Load both cards by uid and line them up."""
    left = backend.get_card(registry, uid=a)
    right = backend.get_card(registry, uid=b)
    files_a = {f.path: f for f in left.files}
    files_b = {f.path: f for f in right.files}
    fields_a, fields_b = _fields(left), _fields(right)
    params_a = left.metadata.get("params")
    params_b = right.metadata.get("params")
    return Comparison(
        a=left,
        b=right,
        fields=[(k, v, fields_b[k], v != fields_b[k]) for k, v in fields_a.items()],
        tags=diff_rows(left.tags, right.tags),
        params=diff_rows(
            params_a if isinstance(params_a, dict) else {},
            params_b if isinstance(params_b, dict) else {},
        ),
        metrics=diff_rows(
            last_values(left.metadata.get("metrics")), last_values(right.metadata.get("metrics"))
        ),
        files=[
            FileRow(path, files_a.get(path), files_b.get(path))
            for path in sorted(set(files_a) | set(files_b))
        ],
    )
