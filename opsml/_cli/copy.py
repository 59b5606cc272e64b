"""``opsml cards copy``: promote one version from one registry to another (docs/design.md §12).

Example:
    $ OPSML_TARGET_PROD_TOKEN=… opsml cards copy --from http://staging:8080
          --to http://prod:8080 --name churn --repository ds-team --alias champion
          --with-lineage

"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from opsml._cli.common import REGISTRY_HELP, run


def copy_card(
    source: Annotated[str, typer.Option("--from", help="Source registry URI (server or DB).")],
    target: Annotated[str, typer.Option("--to", help="Target registry URI (server or DB).")],
    name: Annotated[str, typer.Option(help="Card name.")],
    repository: Annotated[str, typer.Option(help="Repository of the card.")],
    version: Annotated[str | None, typer.Option(help="Version or spec to copy.")] = None,
    alias: Annotated[str | None, typer.Option(help="Copy the version of this alias.")] = None,
    registry: Annotated[str, typer.Option(help=REGISTRY_HELP)] = "model",
    from_storage: Annotated[
        str | None, typer.Option(help="Source storage URI (a database source).")
    ] = None,
    to_storage: Annotated[
        str | None, typer.Option(help="Target storage URI (a database target).")
    ] = None,
    to_prod_token: Annotated[
        str | None,
        typer.Option(envvar="OPSML_TARGET_PROD_TOKEN", help="The target's production token."),
    ] = None,
    with_lineage: Annotated[
        bool, typer.Option(help="Copy the data and run cards it links to first (same uids).")
    ] = False,
) -> None:
    """Copy one version (same number, every digest verified) into another registry."""

    def body() -> None:
        from opsml.config import describe_location
        from opsml.registry import CardRegistry

        kind: Any = registry  # CardRegistry checks it
        src = CardRegistry(kind, tracking_uri=source, storage_uri=from_storage)
        dst = CardRegistry(
            kind, tracking_uri=target, storage_uri=to_storage, prod_token=to_prod_token
        )
        card = src.load_card(name=name, repository=repository, version=version, alias=alias)
        copied = src.copy_card(card, to=dst, with_lineage=with_lineage)
        if with_lineage:
            _echo_lineage(dst, copied)
        typer.echo(
            f"copied {kind} card {repository}/{name} v{copied.version} (uid {copied.uid}) "
            f"into {describe_location(target)}"
        )

    run(body)


def _echo_lineage(target: Any, copied: Any) -> None:
    """One line per linked card, as resolved in the target (so the links are checked there)."""
    from opsml.promotion import linked_cards

    for linked in linked_cards(target.backend, copied._registered()[0]):
        typer.echo(
            f"with {linked.registry} card {linked.repository}/{linked.name} v{linked.version} "
            f"(uid {linked.uid})"
        )
