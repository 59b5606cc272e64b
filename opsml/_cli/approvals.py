"""``opsml approvals request|list|show|approve|reject``: protected alias moves (docs/design.md §19).

Who you are: the logged-in user on a registry server with auth; elsewhere
``OPSML_ACTOR`` (default the OS user), recorded as declared.

Example:
    $ opsml approvals request champion --name churn --repository ds-team --version 1.2.0
        --reason "AUC 0.91 -> 0.93 on the holdout"
    $ opsml approvals list --state pending
    $ opsml approvals show 3
    $ OPSML_USERNAME=bob opsml approvals approve 3 --comment "metrics checked"

"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from opsml._cli.common import REGISTRY_HELP, PageCursor, PageLimit, echo_page, fail, run

if TYPE_CHECKING:
    from opsml.schemas_approvals import ApprovalPublic

approvals_app = typer.Typer(
    help="Ask for a protected alias move; approve or reject another person's request.",
    no_args_is_help=True,
)

Registry = Annotated[str, typer.Option(help=REGISTRY_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
IdArg = Annotated[int, typer.Argument(help="The request's id (opsml approvals list).", min=1)]
Comment = Annotated[str | None, typer.Option(help="Your comment (at most 2000 characters).")]
_UNITS = {"d": 86400, "h": 3600, "m": 60}


def describe(item: ApprovalPublic) -> str:
    """One line about a request: what, from where, who asked, its state and why.

    Example:
        >>> from datetime import UTC, datetime
        >>> from opsml.schemas_approvals import ApprovalPublic
        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> line = describe(ApprovalPublic(id=3, registry="model", uid="0" * 32, name="churn",
        ...     repository="ds", version="1.2.0", alias="champion", reason="AUC +2%",
        ...     state="pending", requested_by="alice", requested_at=at, expires_at=at,
        ...     from_version="1.1.0"))
        >>> line.split(" at ")[0]
        '#3 pending champion -> ds/churn v1.2.0 (from v1.1.0) asked by alice'
        >>> line.split(": ")[-1]
        'AUC +2%'

    """
    origin = f"from v{item.from_version}" if item.from_version else "unset now"
    origin += ", from any" if item.from_any else ""
    decided = (
        f"; {item.state} by {item.decided_by} at {item.decided_at.isoformat()}"
        + (f" ({item.comment})" if item.comment else "")
        if item.decided_at is not None
        else f", expires {item.expires_at.isoformat()}"
    )
    return (
        f"#{item.id} {item.state} {item.alias} -> {item.repository}/{item.name} v{item.version} "
        f"({origin}) asked by {item.requested_by} at {item.requested_at.isoformat()}{decided}: "
        f"{item.reason}"
    )


def _seconds(value: str) -> int:
    text = value.strip()
    if text.isdigit():
        return int(text)
    if len(text) > 1 and text[:-1].isdigit() and text[-1] in _UNITS:
        return int(text[:-1]) * _UNITS[text[-1]]
    fail(f"--expires must look like 7d, 12h, 30m or a number of seconds, not {value!r}")


def _show(item: ApprovalPublic, as_json: bool) -> None:
    typer.echo(item.model_dump_json(indent=2) if as_json else describe(item))


@approvals_app.command("request")
def request(
    alias: Annotated[str, typer.Argument(help="The protected alias, e.g. champion.")],
    reason: Annotated[str, typer.Option(help="Why this version (shown to the approver).")],
    name: Annotated[str | None, typer.Option(help="Card name (or --uid).")] = None,
    repository: Annotated[str | None, typer.Option(help="Repository of the card.")] = None,
    version: Annotated[str | None, typer.Option(help="Version or spec of the card.")] = None,
    uid: Annotated[str | None, typer.Option(help="The card's uid.")] = None,
    from_any: Annotated[
        bool, typer.Option("--from-any", help="Stay valid even if the alias moves meanwhile.")
    ] = False,
    expires: Annotated[str, typer.Option(help="Lifetime: 7d, 12h, 30m.")] = "7d",
    registry: Registry = "model",
    as_json: AsJson = False,
) -> None:
    """Ask for ALIAS to point at a card version; another person approves it (a write)."""

    def body() -> None:
        from opsml.registry import CardRegistry

        reg = CardRegistry(registry)  # type: ignore[arg-type]
        if uid is None and name is None:
            fail("give --uid, or --name (with --repository and --version) to name the card")
        card = uid if uid is not None else reg.load_card(
            name=name, repository=repository, version=version
        )  # fmt: skip
        done = reg.request_alias(
            card, alias, reason=reason, from_any=from_any, expires_in=_seconds(expires)
        )
        _show(done, as_json)

    run(body)


@approvals_app.command("list")
def list_approvals(
    state: Annotated[
        str | None, typer.Option(help="pending, approved, rejected or expired.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Only this card name.")] = None,
    repository: Annotated[str | None, typer.Option(help="Only this repository.")] = None,
    alias: Annotated[str | None, typer.Option(help="Only this alias.")] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
    registry: Registry = "model",
    as_json: AsJson = False,
) -> None:
    """List approval requests, newest first."""

    def body() -> None:
        from opsml.registry import CardRegistry

        page = CardRegistry(registry).list_approvals(  # type: ignore[arg-type]
            state=state, name=name, repository=repository, alias=alias,  # type: ignore[arg-type]
            limit=limit, cursor=cursor,
        )  # fmt: skip
        echo_page(page, describe, as_json, "no approval requests match")

    run(body)


@approvals_app.command("show")
def show(approval_id: IdArg, registry: Registry = "model", as_json: AsJson = False) -> None:
    """Print one request."""

    def body() -> None:
        from opsml.registry import CardRegistry

        _show(CardRegistry(registry).get_approval(approval_id), as_json)  # type: ignore[arg-type]

    run(body)


def _verdict_command(verdict: Literal["approve", "reject"], doc: str) -> Callable[..., None]:
    def command(
        approval_id: IdArg,
        comment: Comment = None,
        registry: Registry = "model",
        as_json: AsJson = False,
    ) -> None:
        def body() -> None:
            from opsml.registry import CardRegistry

            opened = CardRegistry(registry)  # type: ignore[arg-type]
            decide = opened.approve if verdict == "approve" else opened.reject
            _show(decide(approval_id, comment=comment), as_json)

        run(body)

    command.__name__ = command.__qualname__ = verdict
    command.__doc__ = doc
    return command


approve = approvals_app.command("approve")(
    _verdict_command(
        "approve",
        "Approve request ID: the alias moves now (role approver; never your own request).",
    )
)
reject = approvals_app.command("reject")(
    _verdict_command(
        "reject", "Reject request ID; the alias stays (role approver; never your own request)."
    )
)
