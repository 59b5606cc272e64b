"""Listing at scale (issues 12 and 17): light pages through the client, deep cursor pages.

- one name with 500 versions of a real scikit-learn ModelCard (signature and
  sample input in the metadata), 50 of them listed through the client: light
  rows (``list_page``) and, for comparison, full cards (``list_cards``);
- page 2,000 of 100,000 versions by cursor (walked there first), against page 1.

Run alone (seeds its own registries)::

    python benchmarks/listing.py [--seed 100000] [--versions 500] [-n 25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks._timing import p50_ms, timed  # noqa: E402
from benchmarks.workloads import BenchmarkError, _small_model, start_server  # noqa: E402
from opsml_testing.seeding import seed_cards  # noqa: E402

PER_PAGE = 50
DEEP_PAGE = 2000


def real_cards(url: str, n: int, versions: int = 500, per_page: int = PER_PAGE) -> dict[str, Any]:
    """Register ``versions`` small sklearn ModelCards of one name; p50 of listing 50 of them."""
    from opsml import CardRegistry, ModelCard
    from opsml.backends.http import HttpBackend

    model, x = _small_model()
    backend = HttpBackend(url)
    registry = CardRegistry("model", backend=backend)
    name = f"churn-{uuid.uuid4().hex[:6]}"
    for _ in range(versions):
        card = ModelCard(
            name=name, repository="bench", contact="bench", model=model, sample_input=x.head(5)
        )
        registry.register_card(card, version_type="patch")

    def light() -> None:
        page = registry.list_page(name=name, repository="bench", limit=per_page)
        if len(page.items) != per_page or page.next_cursor is None:
            raise BenchmarkError(f"list_page returned {len(page.items)} rows")

    def full() -> None:
        if len(registry.list_cards(name=name, repository="bench", limit=per_page)) != per_page:
            raise BenchmarkError("list_cards did not return 50 cards")

    out = {
        "light_p50_ms": p50_ms(timed(light, n)),
        "full_p50_ms": p50_ms(timed(full, n)),
        "count_p50_ms": p50_ms(timed(lambda: registry.count_cards(name=name), n)),
    }
    backend.close()
    return out


def deep_pages(url: str, n: int, total: int, deep_page: int = DEEP_PAGE) -> dict[str, Any]:
    """p50 of page 1 and of page ``deep_page`` by cursor, over ``total`` seeded versions."""
    from opsml.backends.http import HttpBackend
    from opsml.schemas import CardQuery

    backend = HttpBackend(url)
    cursor: str | None = None
    for _ in range(deep_page - 1):  # walk there, as a user paging would
        cursor = backend.list_page("model", CardQuery(limit=PER_PAGE, cursor=cursor)).next_cursor
        if cursor is None:
            raise BenchmarkError(f"fewer than {deep_page} pages of {PER_PAGE}")
    first_id = total - (deep_page - 1) * PER_PAGE  # seeded uids are UUID(int=i + 1)

    def deep() -> None:
        page = backend.list_page("model", CardQuery(limit=PER_PAGE, cursor=cursor))
        if uuid.UUID(page.items[0].uid).int != first_id:
            raise BenchmarkError(f"page {deep_page} does not start where it should")

    def first() -> None:
        backend.list_page("model", CardQuery(limit=PER_PAGE))

    out = {
        "page1_p50_ms": p50_ms(timed(first, n)),
        "page2000_p50_ms": p50_ms(timed(deep, n)),
        "count_all_p50_ms": p50_ms(timed(lambda: backend.count_cards("model", CardQuery()), n)),
    }
    backend.close()
    return out


def rows(real: dict[str, Any], deep: dict[str, Any], total: int, row: Any) -> list[Any]:
    """The table rows (``row`` is ``run.Row``) with the issue's budgets."""
    one_name = "list 50 of one name (500 sklearn cards)"
    return [
        row(f"{one_name}, light rows p50", "ms", real["light_p50_ms"], budget=3),
        row(f"{one_name}, full cards p50", "ms", real["full_p50_ms"]),
        row(f"list page 1 of {total:,} versions p50", "ms", deep["page1_p50_ms"], budget=3),
        row(f"list page 2,000 of {total:,} by cursor p50", "ms", deep["page2000_p50_ms"], budget=3),
        row(f"exact count of {total:,} versions p50", "ms", deep["count_all_p50_ms"]),
    ]


def main() -> None:
    from benchmarks import ui_workloads

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=500)
    parser.add_argument("-n", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsml-listing-") as tmp:
        work = Path(tmp)
        server = start_server(work / "real")
        try:
            real = real_cards(server.url, args.n, args.versions)
        finally:
            server.stop()
        (work / "seeded").mkdir()
        db_url = f"sqlite:///{(work / 'seeded' / 'registry.db').as_posix()}"
        seed_cards(db_url, args.seed)
        server = start_server(work / "seeded", db_url)
        try:
            deep = deep_pages(server.url, args.n, args.seed)
            ui = ui_workloads.ui_pages(server.url, args.n, args.seed)
        finally:
            server.stop()
    for key, value in {**real, **deep, **ui}.items():
        print(f"{key:28} {value if value is None else round(value, 2)}")


if __name__ == "__main__":
    main()
