"""The ``opsml`` command: list cards, pull models, upgrade the database, run the server.

Example:
    $ opsml cards list --registry model --repository ds-team
    $ opsml models pull --name churn --repository ds-team --version "^1" --out ./model
    $ opsml db upgrade
    $ opsml server start --port 8080

"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsml.errors import OpsmlError

if TYPE_CHECKING:
    from opsml.cards.base import Card

app = typer.Typer(
    name="opsml",
    help="OpsML registry for Prefect: cards, models, database and server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cards_app = typer.Typer(help="Find registered cards.", no_args_is_help=True)
models_app = typer.Typer(help="Download registered models.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the registry database.", no_args_is_help=True)
app.add_typer(cards_app, name="cards")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

try:  # the server's commands, when the server package is installed
    from opsml_server.cli import server_app

    app.add_typer(server_app, name="server", help="Run the registry server.")
except ImportError:  # pragma: no cover - server extra not installed
    server_app = typer.Typer(help="Run the registry server (needs the server extra).")

    @server_app.command("start")
    def _start_missing() -> None:
        """Start the registry server (install the server extra first)."""
        _fail("the server needs its extra: pip install 'opsml-prefect[server]'")

    app.add_typer(server_app, name="server")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _run(fn: object) -> None:
    """Call ``fn`` and turn an OpsmlError into a one-line message and exit code 1."""
    try:
        fn()  # type: ignore[operator]
    except OpsmlError as exc:
        _fail(exc.message)


def _card_row(card: Card) -> dict[str, object]:
    return {
        "uid": card.uid,
        "name": card.name,
        "repository": card.repository,
        "version": card.version,
        "created_at": card.created_at.isoformat() if card.created_at else None,
        "created_by": card.created_by,
        "tags": card.tags,
    }


def _parse_tags(tags: list[str]) -> dict[str, str]:
    out = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"tag {item!r} must look like key=value")
        out[key] = value
    return out


@cards_app.command("list")
def list_cards(
    registry: Annotated[str, typer.Option(help="data, model, run or pipeline.")] = "model",
    name: Annotated[str | None, typer.Option(help="Only this card name.")] = None,
    repository: Annotated[str | None, typer.Option(help="Only this repository.")] = None,
    version: Annotated[
        str | None, typer.Option(help="A version or spec: 1.2.0, ^1.2, ~1.2.3, >=1,<2, latest.")
    ] = None,
    tag: Annotated[list[str], typer.Option(help="key=value; repeat for several.")] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """List cards, newest first, as a table (or JSON with --json)."""

    def run() -> None:
        from opsml.registry import CardRegistry

        reg = CardRegistry(registry)  # type: ignore[arg-type]
        cards = reg.list_cards(
            name=name,
            repository=repository,
            version=version,
            tags=_parse_tags(tag) or None,
            limit=limit,
        )
        rows = [_card_row(c) for c in cards]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{registry} cards ({len(rows)})")
        for column in ("name", "repository", "version", "created_at", "uid", "tags"):
            table.add_column(column)
        for card, row in zip(cards, rows, strict=True):
            table.add_row(
                *[
                    str(row[col] or "")
                    for col in ("name", "repository", "version", "created_at", "uid")
                ],
                ", ".join(f"{k}={v}" for k, v in card.tags.items()),
            )
        Console().print(table)

    _run(run)


@models_app.command("pull")
def pull_model(
    name: Annotated[str, typer.Option(help="Model card name.")],
    out: Annotated[Path, typer.Option(help="Folder to write the model files to.")],
    repository: Annotated[str | None, typer.Option(help="Repository of the card.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Version or spec (default: latest release).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --out when it is a non-empty folder.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Download a model card's files into --out, verifying every digest.

    Also writes ``card.json`` (the card's metadata) beside the files, so a CI
    step can read the version, signature and sample input. A non-empty --out
    is refused unless --force (which replaces it).
    """

    def run() -> None:
        from opsml.cards import ModelCard
        from opsml.registry import CardRegistry

        card = CardRegistry("model").load_card(name=name, repository=repository, version=version)
        assert isinstance(card, ModelCard)  # the model registry holds only model cards
        total = card.stored_bytes
        if quiet or (not sys.stderr.isatty() and total < 64 * 1024 * 1024):
            card.pull(out, replace=force)
        else:
            from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task(f"{name} v{card.version}", total=total)
                card.pull(out, replace=force, progress=lambda n: bar.advance(task, n))
        typer.echo(
            f"pulled model {card.repository}/{card.name} v{card.version} "
            f"({len(card.files)} files, {total} bytes, digests verified) into {out}"
        )

    _run(run)


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[
        str | None,
        typer.Option(help="Database URL (default: OPSML_TRACKING_URI or the embedded SQLite)."),
    ] = None,
) -> None:
    """Create the registry tables or upgrade them to this version's schema."""

    def run() -> None:
        from opsml.backends import backend_scheme
        from opsml.backends.sql.migrate import upgrade_database
        from opsml.config import get_settings

        target = url or get_settings().resolved_tracking_uri()
        if backend_scheme(target) != "sql":
            _fail("db upgrade needs a database URL, not a registry server URL")
        revision = upgrade_database(target)
        from sqlalchemy.engine import make_url

        shown = make_url(target).render_as_string(hide_password=True)
        typer.echo(f"database {shown} is at revision {revision}")

    _run(run)


if __name__ == "__main__":  # pragma: no cover
    app()
