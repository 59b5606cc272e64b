"""The ``opsml`` command: list and show cards, pull models, upgrade the database.

Commands of other packages arrive through the ``opsml.cli`` entry point group
(see :mod:`opsml._cli.plugins`): ``opsml server`` is the server package's, and
the core imports nothing from it.

Example:
    $ opsml cards list --registry model --repository ds-team
    $ opsml cards show --registry model --name churn --version "^1"
    $ opsml models pull --name churn --repository ds-team --version "^1" --out ./model
    $ opsml models pull --name churn --repository ds-team --alias champion --out ./model
    $ opsml cards alias set champion --name churn --repository ds-team --version 1.2.0
    $ opsml db upgrade
    $ opsml db gc --older-than 1h
    $ opsml users add alice && opsml users grant alice writer --repository vision
    $ opsml tokens create ci --user ci-bot --expires 90d
    $ opsml audit list --repository vision
    $ opsml server start --port 8080

"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opsml._cli.approvals import approvals_app
from opsml._cli.audit import audit_app
from opsml._cli.cards import cards_app
from opsml._cli.common import DURATION_HELP, parse_duration
from opsml._cli.common import fail as _fail
from opsml._cli.common import run as _run
from opsml._cli.deployments import deployments_app
from opsml._cli.identity import tokens_app, users_app
from opsml._cli.plugins import PluginGroup

app = typer.Typer(
    name="opsml",
    cls=PluginGroup,
    help="OpsML registry for Prefect: cards, models, database and server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Download registered models.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the registry database.", no_args_is_help=True)
app.add_typer(cards_app, name="cards")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(deployments_app, name="deployments")
app.add_typer(approvals_app, name="approvals")


@models_app.command("pull")
def pull_model(
    name: Annotated[str, typer.Option(help="Model card name.")],
    out: Annotated[Path, typer.Option(help="Folder to write the model files to.")],
    repository: Annotated[str | None, typer.Option(help="Repository of the card.")] = None,
    version: Annotated[
        str | None, typer.Option(help="Version or spec (default: latest release).")
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="An alias (e.g. champion) instead of --version.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --out when it is a non-empty folder.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    verify: Annotated[
        list[str] | None,
        typer.Option(
            "--verify",
            metavar="KEY",
            help="Trusted public key (PEM file); repeat for several. Refuse, before writing "
            "anything, a card that is unsigned or not signed by one of them over these files.",
        ),
    ] = None,
) -> None:
    """Download a model card's files into --out, verifying every digest.

    Also writes ``card.json`` (the card's metadata) beside the files, so a CI
    step can read the version, signature and sample input, and ``model.sig``
    when the card is signed. A non-empty --out is refused unless --force
    (which replaces it).
    """

    def run() -> None:
        from opsml.cards import ModelCard
        from opsml.registry import CardRegistry

        card = CardRegistry("model").load_card(
            name=name, repository=repository, version=version, alias=alias
        )
        assert isinstance(card, ModelCard)  # the model registry holds only model cards
        total = card.stored_bytes
        if quiet or (not sys.stderr.isatty() and total < 64 * 1024 * 1024):
            card.pull(out, replace=force, verify=verify)
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
                advance = lambda n: bar.advance(task, n)  # noqa: E731
                card.pull(out, replace=force, progress=advance, verify=verify)
        info = card.signature_info
        signed = f"signature by {info.signed_by} verified, " if verify and info else ""
        typer.echo(
            f"pulled model {card.repository}/{card.name} v{card.version} "
            f"({len(card.files)} files, {total} bytes, {signed}digests verified) into {out}"
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
        from opsml.backends import backend_scheme, upgrade_database
        from opsml.config import get_settings

        target = url or get_settings().resolved_tracking_uri()
        if backend_scheme(target) != "sql":
            _fail("db upgrade needs a database URL, not a registry server URL")
        revision = upgrade_database(target)
        from sqlalchemy.engine import make_url

        shown = make_url(target).render_as_string(hide_password=True)
        typer.echo(f"database {shown} is at revision {revision}")

    _run(run)


@db_app.command("gc")
def db_gc(
    older_than: Annotated[
        str,
        typer.Option(
            help="How long an unfinished registration waits before it counts as abandoned: "
            f"{DURATION_HELP}."
        ),
    ] = "1h",
) -> None:
    """Remove registrations abandoned by a killed process, with their stored files.

    Upload sessions unused for as long, and staging objects no session owns, go too.
    """
    age = parse_duration(older_than, "--older-than")
    age_text = f"{age.total_seconds():g}"

    def run() -> None:
        from opsml.backends import backend_scheme, get_backend
        from opsml.config import get_settings

        if backend_scheme(get_settings().resolved_tracking_uri()) != "sql":
            _fail("db gc needs a database URL in OPSML_TRACKING_URI, not a registry server URL")
        removed = get_backend().collect_garbage(age)
        typer.echo(
            f"removed {removed} abandoned registration(s) and upload(s) older than {age_text} s"
        )

    _run(run)


if __name__ == "__main__":  # pragma: no cover
    app()
