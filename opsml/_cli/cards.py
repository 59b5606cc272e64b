"""``opsml cards list`` and ``opsml cards show``: read commands, which never create a registry.

Both open the registry with :func:`opsml.backends.existing.open_existing`: a
mistyped SQLite URI is an error naming it, and an embedded registry that does
not exist yet is reported as empty, naming where it was looked for.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from opsml._cli.aliases import alias_app
from opsml._cli.common import REGISTRY_HELP, fail, run
from opsml._cli.copy import copy_card

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.schemas import CardPublic

cards_app = typer.Typer(help="Find and inspect registered cards.", no_args_is_help=True)
cards_app.add_typer(alias_app, name="alias")
cards_app.command("copy")(copy_card)

_LIST_COLUMNS = ("name", "repository", "version", "created_at", "uid")


def _open(registry: str) -> tuple[RegistryBackend | None, str]:
    """The backend (None: no registry yet) and the registry's location without credentials."""
    from opsml.backends.existing import open_existing
    from opsml.card_kinds import REGISTRY_TYPES
    from opsml.config import describe_location, get_settings

    if registry not in REGISTRY_TYPES:
        fail(f"unknown registry type {registry!r}: use one of {', '.join(REGISTRY_TYPES)}")
    settings = get_settings()
    return open_existing(settings), describe_location(settings.resolved_tracking_uri())


def _card_row(card: CardPublic) -> dict[str, object]:
    return {
        "uid": card.uid,
        "name": card.name,
        "repository": card.repository,
        "version": card.version,
        "created_at": card.created_at.isoformat(),
        "created_by": card.created_by,
        "tags": card.tags,
    }


def _parse_tags(tags: list[str]) -> dict[str, str]:
    out = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"tag {item!r} must look like key=value")
        out[key] = value
    return out


def _print_table(registry: str, location: str, rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    typer.echo(f"registry: {location}")
    table = Table(title=f"{registry} cards ({len(rows)})")
    for column in _LIST_COLUMNS:
        # a uid is never cut: it is what `cards show --uid` and `load_card(uid=...)` take
        table.add_column(column, no_wrap=column == "uid", min_width=32 if column == "uid" else None)
    table.add_column("tags", overflow="fold")
    for row in rows:
        tags = row["tags"]
        assert isinstance(tags, dict)
        table.add_row(
            *[str(row[col] or "") for col in _LIST_COLUMNS],
            ", ".join(f"{k}={v}" for k, v in tags.items()),
        )
    Console().print(table)


@cards_app.command("list")
def list_cards(
    registry: Annotated[str, typer.Option(help=REGISTRY_HELP)] = "model",
    name: Annotated[str | None, typer.Option(help="Only this card name.")] = None,
    repository: Annotated[str | None, typer.Option(help="Only this repository.")] = None,
    version: Annotated[
        str | None, typer.Option(help="A version or spec: 1.2.0, ^1.2, ~1.2.3, >=1,<2, latest.")
    ] = None,
    tag: Annotated[list[str], typer.Option(help="key=value; repeat for several.")] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """List cards, newest first, as a table (or JSON with --json). Creates nothing."""

    def body() -> None:
        from opsml.schemas import CardQuery, build

        query = build(
            CardQuery,
            name=name,
            repository=repository,
            version=version,
            tags=_parse_tags(tag) or None,
            limit=limit,
        )
        backend, location = _open(registry)
        cards = [] if backend is None else backend.list_cards(registry, query)  # type: ignore[arg-type]
        rows = [_card_row(c) for c in cards]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
        else:
            _print_table(registry, location, rows)
        if not rows:
            missing = " (no registry there yet)" if backend is None else ""
            typer.echo(f"no {registry} cards found in {location}{missing}", err=True)

    run(body)


@cards_app.command("show")
def show_card(
    uid: Annotated[str | None, typer.Argument(help="The card's uid (or use --name).")] = None,
    registry: Annotated[str, typer.Option(help=REGISTRY_HELP)] = "model",
    name: Annotated[str | None, typer.Option(help="Card name.")] = None,
    repository: Annotated[str | None, typer.Option(help="Repository of the card.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Version or spec (default: latest release).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    verify: Annotated[
        list[str] | None,
        typer.Option(
            "--verify",
            metavar="KEY",
            help="Trusted public key to check the card's signature with (repeatable; "
            "default: OPSML_TRUSTED_KEYS).",
        ),
    ] = None,
) -> None:
    """Show one card: metadata, files (size, SHA-256), signed by, signature, metrics, lineage."""

    def body() -> None:
        from opsml._cli.show import card_view, render
        from opsml.errors import CardNotFoundError

        if (uid is None) == (name is None):
            fail("give a card uid or --name (not both)")
        backend, location = _open(registry)
        if backend is None:
            raise CardNotFoundError(f"no {registry} cards in {location} (no registry there yet)")
        card = backend.get_card(
            registry,  # type: ignore[arg-type]
            uid=uid,
            name=name,
            repository=repository,
            version=version,
        )
        from opsml.config import get_settings

        view = card_view(card, trusted=verify or get_settings().trusted_key_list())
        if as_json:
            typer.echo(json.dumps(view, indent=2))
            return
        from rich.console import Console

        render(view, Console())

    run(body)
