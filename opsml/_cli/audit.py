"""``opsml audit list``: the audit log, newest first, with filters and a cursor."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from opsml._cli.common import fail
from opsml._cli.identity import with_store
from opsml.auth.models import AuditQuery
from opsml.card_kinds import REGISTRY_TYPES

if TYPE_CHECKING:
    from opsml.auth.store import IdentityStore

audit_app = typer.Typer(help="Read the audit log.", no_args_is_help=True)
Filter = Annotated[str | None, typer.Option()]
AUDITED = (*REGISTRY_TYPES, "identity")
"""The audit log's registries: the card kinds, and ``identity`` (users, grants, tokens)."""


@audit_app.command("list")
def audit_list(
    registry: Annotated[
        str | None, typer.Option(help=f"{', '.join(REGISTRY_TYPES)}, or identity (users, tokens).")
    ] = None,
    repository: Filter = None,
    name: Annotated[str | None, typer.Option(help="The card's (or user's, token's) name.")] = None,
    user: Annotated[str | None, typer.Option(help="Who did it (a token: user/token).")] = None,
    action: Annotated[
        str | None,
        typer.Option(
            help="register, update, delete, alias_set, deployment, approval_approve, "
            "user_add, grant, token_create, ..."
        ),
    ] = None,
    card_uid: Annotated[str | None, typer.Option(help="The card's uid (32 hex digits).")] = None,
    since: Annotated[datetime | None, typer.Option(help="ISO time (without a zone: UTC).")] = None,
    cursor: Annotated[int | None, typer.Option(help="The cursor a previous page printed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Audit entries (who did what to which card, when), newest first."""
    # the options are AuditQuery's fields, the query parameters of GET /api/v1/audit
    if registry is not None and registry not in AUDITED:  # a typo would read as an empty log
        fail(f"--registry must be one of {', '.join(AUDITED)}; not {registry!r}")
    try:
        query = AuditQuery(
            registry=registry,
            repository=repository,
            name=name,
            user=user,
            action=action,
            card_uid=card_uid,
            since=since,
            cursor=cursor,
            limit=limit,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"--{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']}")

    def show(store: IdentityStore) -> None:
        page = store.list_audit(query)
        for entry in page.items:
            card = f"{entry.registry}/{entry.repository or '-'}/{entry.name}"
            if entry.version:
                card += f" {entry.version}"
            line = f"{entry.at.isoformat()}\t{entry.actor or '-'}\t{entry.action}\t{card}"
            detail = {key: value for key, value in entry.detail.items() if value is not None}
            if detail:  # what changed: the role granted, the alias and the version before, ...
                line += "\t" + json.dumps(detail, ensure_ascii=False, default=str)
            typer.echo(line)
        if page.next_cursor is not None:
            typer.echo(f"more: --cursor {page.next_cursor}")

    with_store(show)
