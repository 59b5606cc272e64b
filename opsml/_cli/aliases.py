"""``opsml cards alias set|delete|list``: movable names for one version (docs/design.md §12).

Example:
    $ opsml cards alias set champion --name churn --repository ds-team --version 1.2.0
    $ opsml cards alias list --name churn --repository ds-team
    $ opsml cards alias list --name churn     # one repository holds churn
    $ opsml cards alias delete champion --name churn --repository ds-team

"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from opsml._cli.common import REGISTRY_HELP, run

alias_app = typer.Typer(help="Set, move, delete and list aliases.", no_args_is_help=True)

Registry = Annotated[str, typer.Option(help=REGISTRY_HELP)]
Name = Annotated[str, typer.Option(help="Card name.")]
Repository = Annotated[
    str | None,
    typer.Option(help="Repository of the card (needed when several repositories hold the name)."),
]
AliasArg = Annotated[str, typer.Argument(help="The alias, e.g. champion.")]


@alias_app.command("set")
def set_alias(
    alias: AliasArg,
    name: Name,
    repository: Repository = None,
    version: Annotated[
        str | None, typer.Option(help="The version (or spec) the alias moves to.")
    ] = None,
    registry: Registry = "model",
) -> None:
    """Point ALIAS at a version of the card (create or move it); a write, audited."""

    def body() -> None:
        from opsml.registry import CardRegistry

        reg = CardRegistry(registry)  # type: ignore[arg-type]
        card = reg.load_card(name=name, repository=repository, version=version)
        moved = reg.set_alias(card, alias)
        typer.echo(
            f"alias {moved.alias} of {registry} card {card.repository}/{name} -> v{moved.version} "
            f"(uid {moved.uid})"
        )

    run(body)


@alias_app.command("delete")
def delete_alias(
    alias: AliasArg, name: Name, repository: Repository = None, registry: Registry = "model"
) -> None:
    """Remove ALIAS; the version it pointed to stays."""

    def body() -> None:
        from opsml.registry import CardRegistry

        CardRegistry(registry).delete_alias(name=name, repository=repository, alias=alias)  # type: ignore[arg-type]
        where = f"{repository}/{name}" if repository else name
        typer.echo(f"deleted alias {alias} of {registry} card {where}")

    run(body)


@alias_app.command("list")
def list_aliases(
    name: Name,
    repository: Repository = None,
    registry: Registry = "model",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """List the aliases of a card name and the version each points to."""

    def body() -> None:
        from opsml.registry import CardRegistry

        found = CardRegistry(registry).list_aliases(name=name, repository=repository)  # type: ignore[arg-type]
        if as_json:
            typer.echo(json.dumps(found, indent=2))
            return
        if not found:
            where = f"{repository}/{name}" if repository else name
            typer.echo(f"{registry} card {where} has no aliases", err=True)
        for key, value in found.items():
            typer.echo(f"{key}\t{value}")

    run(body)
