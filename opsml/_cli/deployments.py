"""``opsml deployments record|list|current``: what runs where (docs/design.md §17).

Example:
    $ opsml deployments record --target k8s/ml-prod/churn-api --state deployed
        --name churn --repository ds-team --alias champion --image-digest sha256:<64 hex>
    $ opsml deployments current --target k8s/ml-prod/churn-api
    $ opsml deployments list --target k8s/ml-prod/churn-api --json

"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsml._cli.common import REGISTRY_HELP, PageCursor, PageLimit, echo_page, fail, run

if TYPE_CHECKING:
    from opsml.schemas_deployments import DeploymentPublic

deployments_app = typer.Typer(
    help="Record and read what runs where (deployment records).", no_args_is_help=True
)

Registry = Annotated[str, typer.Option(help=REGISTRY_HELP)]
Target = Annotated[str, typer.Option(help="Where it runs, e.g. k8s/ml-prod/churn-api.")]
Environment = Annotated[
    str | None, typer.Option(help="Environment (default: the registry's own APP_ENV).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
Opt = Annotated[str | None, typer.Option()]


def describe(record: DeploymentPublic) -> str:
    """One line about a record: what, where, which image, since when, who.

    Example:
        >>> from datetime import datetime
        >>> from opsml.schemas_deployments import DeploymentPublic
        >>> line = describe(DeploymentPublic(id=3, registry="model", uid="0" * 32, name="churn",
        ...     repository="ds", version="1.2.0", environment="production", target="k8s/p/api",
        ...     state="deployed", image="churn:1.2.0", recorded_at=datetime(2026, 1, 1)))
        >>> line.split(" since ")[0]
        '#3 deployed ds/churn v1.2.0 on production/k8s/p/api image churn:1.2.0 (no digest)'
        >>> line.split(" since ")[1]
        '2026-01-01T00:00:00 by -'

    """
    digest = record.image_digest or "(no digest)"
    image = f"image {record.image} {digest}" if record.image else f"image {digest}"
    return (
        f"#{record.id} {record.state} {record.repository}/{record.name} v{record.version} on "
        f"{record.environment}/{record.target} {image} since {record.recorded_at.isoformat()} "
        f"by {record.actor or '-'}"
    )


@deployments_app.command("record")
def record(
    target: Target,
    state: Annotated[str, typer.Option(help="packaged, deployed, retired or failed.")],
    name: Annotated[str | None, typer.Option(help="Card name (or --uid).")] = None,
    repository: Opt = None,
    version: Annotated[str | None, typer.Option(help="Version or spec of the card.")] = None,
    alias: Annotated[str | None, typer.Option(help="An alias of the card, e.g. champion.")] = None,
    uid: Annotated[str | None, typer.Option(help="The card's uid.")] = None,
    environment: Environment = None,
    image: Annotated[str | None, typer.Option(help="Image reference.")] = None,
    image_digest: Annotated[str | None, typer.Option(help="sha256:<64 hex>.")] = None,
    manifests_sha256: Annotated[str | None, typer.Option(help="SHA-256 of the manifests.")] = None,
    flow_run_id: Opt = None,
    flow_run_url: Opt = None,
    detail: Annotated[str | None, typer.Option(help="Free detail, a JSON object.")] = None,
    registry: Registry = "model",
    as_json: AsJson = False,
) -> None:
    """Append a deployment record for one card version on TARGET (a write, audited)."""

    def body() -> None:
        from opsml.registry import CardRegistry

        reg = CardRegistry(registry)  # type: ignore[arg-type]
        if uid is None and name is None:
            fail("give --uid, or --name (with --version or --alias) to name the card")
        try:
            extra: dict[str, Any] = json.loads(detail) if detail else {}
        except ValueError as exc:
            fail(f"--detail is not JSON: {exc}")
        if not isinstance(extra, dict):
            fail("--detail must be a JSON object")
        card = uid if uid is not None else reg.load_card(
            name=name, repository=repository, version=version, alias=alias
        )  # fmt: skip
        done = reg.record_deployment(
            card, target=target, state=state, environment=environment, image=image,  # type: ignore[arg-type]
            image_digest=image_digest, manifests_sha256=manifests_sha256,
            flow_run_id=flow_run_id, flow_run_url=flow_run_url, detail=extra,
        )  # fmt: skip
        typer.echo(done.model_dump_json(indent=2) if as_json else describe(done))

    run(body)


@deployments_app.command("list")
def list_deployments(
    target: Annotated[str | None, typer.Option(help="Only this target.")] = None,
    environment: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
    name: Opt = None,
    repository: Opt = None,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
    registry: Registry = "model",
    as_json: AsJson = False,
) -> None:
    """List deployment records, newest first."""

    def body() -> None:
        from opsml.registry import CardRegistry

        page = CardRegistry(registry).list_deployments(  # type: ignore[arg-type]
            target=target, environment=environment, name=name, repository=repository,
            state=state, limit=limit, cursor=cursor,  # type: ignore[arg-type]
        )  # fmt: skip
        echo_page(page, describe, as_json, "no deployment records match")

    run(body)


@deployments_app.command("current")
def current(
    target: Target,
    environment: Environment = None,
    registry: Registry = "model",
    as_json: AsJson = False,
) -> None:
    """Print what TARGET serves now (its latest deployed record); exit 1 when nothing."""

    def body() -> None:
        from opsml.registry import CardRegistry

        found = CardRegistry(registry).current_deployment(  # type: ignore[arg-type]
            target=target, environment=environment
        )
        if found is None:
            where = f"{environment}/{target}" if environment else target
            fail(f"nothing is deployed on {where}")
        typer.echo(found.model_dump_json(indent=2) if as_json else describe(found))

    run(body)
