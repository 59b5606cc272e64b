r"""Promotion flow: copy the ``champion`` of the staging registry into prod and set it there.

Each environment has its own registry (its own server). The flow loads the
version the alias points to in staging, copies it into prod (same version,
every digest verified, provenance recorded; a no-op when prod already has the
same content) and moves the same alias in prod, which emits
``opsml.card.alias_set`` there (the deploy gate of ``deployments/prefect.yaml``).
Both registries are named by ``OpsmlCredentials`` blocks (the prod block
carries the production token), or, from the shell, by their URIs::

    OPSML_SOURCE_TRACKING_URI=http://127.0.0.1:8080 \
    OPSML_TARGET_TRACKING_URI=http://127.0.0.1:8081 OPSML_TARGET_PROD_TOKEN=… \
    python flows/promote.py --name churn --repository ds-team [--with-lineage]

Where the alias is protected in prod (``OPSML_PROTECTED_ALIASES``, docs/design.md §19),
``request=True`` (``--request --reason …``) asks for the move instead of making
it: the run shows the request as an artifact (``opsml-approval``), waits until
another person approves or rejects it (polling, ``wait_timeout`` seconds) and
then finishes; a rejection fails the run with the approver's comment.

Example:
    >>> from flows.promote import promote
    >>> promote(source="opsml-staging", target="opsml-prod")  # doctest: +SKIP

"""

from __future__ import annotations

import argparse
import os
from typing import Any

from prefect import flow

from opsml_prefect.approval_tasks import request_alias, wait_for_approval
from opsml_prefect.blockref import as_credentials
from opsml_prefect.credentials import OpsmlCredentials
from opsml_prefect.tasks import copy_card, load_card, set_alias


@flow(name="opsml-promote", log_prints=True)
def promote(
    name: str = "iris-classifier",
    repository: str = "ds-team",
    alias: str = "champion",
    source: OpsmlCredentials | str = "opsml-staging",
    target: OpsmlCredentials | str = "opsml-prod",
    registry_type: str = "model",
    with_lineage: bool = False,
    request: bool = False,
    reason: str | None = None,
    wait_timeout: float = 24 * 3600.0,
    poll_interval: float = 10.0,
) -> dict[str, Any]:
    """Copy ``alias`` of ``repository/name`` from ``source`` into ``target`` and set it there.

    ``with_lineage=True`` copies the data and run cards it links to first.
    ``request=True`` asks for the alias move in ``target`` (a protected alias)
    and waits for another person's decision instead of moving it.

    Returns:
        ``version`` and ``uid`` of the promoted card (with ``request``: also
        ``approval`` and ``approved_by``).

    Example:
        >>> promote(name="churn", repository="ds-team")  # doctest: +SKIP

    """
    source_creds, target_creds = as_credentials(source), as_credentials(target)
    assert target_creds is not None, "the target registry must be named"
    card = load_card(
        registry_type, name=name, repository=repository, alias=alias, credentials=source_creds
    )
    copied = copy_card(card, target_creds, credentials=source_creds, with_lineage=with_lineage)
    if not request:
        set_alias(copied, alias, credentials=target_creds)
        print(f"promoted {repository}/{name} v{copied.version} as {alias}")
        return {"version": copied.version, "uid": copied.uid}
    why = reason or f"promote {repository}/{name} v{copied.version} from staging"
    asked = request_alias(copied, alias, why, registry_type=registry_type, credentials=target_creds)
    show_request(asked, target_creds)
    done = wait_for_approval(
        asked.id, timeout=wait_timeout, poll_interval=poll_interval,
        registry_type=registry_type, credentials=target_creds,
    )  # fmt: skip
    print(f"{done.decided_by} approved request #{done.id}: {alias} -> v{copied.version}")
    return {"version": copied.version, "uid": copied.uid, "approval": done.id,
            "approved_by": done.decided_by}  # fmt: skip


def approval_link(approval_id: int, credentials: OpsmlCredentials) -> str:
    """Where a person sees request ``approval_id``: the target server's page, or the command.

    Example:
        >>> approval_link(3, OpsmlCredentials(tracking_uri="http://prod:8080"))
        'http://prod:8080/api/v1/approvals/3'
        >>> approval_link(3, OpsmlCredentials(tracking_uri="sqlite:///r.db"))
        'opsml approvals show 3'

    """
    uri = credentials.tracking_uri or ""
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/api/v1/approvals/{approval_id}"
    return f"opsml approvals show {approval_id}"


def show_request(asked: Any, credentials: OpsmlCredentials) -> None:
    """A markdown artifact on the run (key ``opsml-approval``) naming the request and its link."""
    from prefect.artifacts import create_markdown_artifact

    link = approval_link(asked.id, credentials)
    create_markdown_artifact(
        key="opsml-approval",
        markdown=(
            f"**Approval request #{asked.id}**: `{asked.alias}` -> "
            f"`{asked.repository}/{asked.name}` v{asked.version} "
            f"(now: {asked.from_version or 'unset'}), asked by `{asked.requested_by}`, "
            f"expires {asked.expires_at.isoformat()}.\n\n{link}"
        ),
        description=f"approve with: opsml approvals approve {asked.id}",
    )
    print(f"waiting for another person to approve request #{asked.id}: {link}")


def registry_arg(value: str, prod_token: str | None = None) -> OpsmlCredentials | str:
    """A block name as it is, or a registry URI (``http://…``, a database URL) as credentials.

    Example:
        >>> registry_arg("opsml-prod")
        'opsml-prod'
        >>> registry_arg("http://127.0.0.1:8080").tracking_uri
        'http://127.0.0.1:8080'

    """
    if "://" not in value:
        return value
    return OpsmlCredentials(tracking_uri=value, prod_token=prod_token)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the flow from the shell: blocks by name, or URIs from the arguments or environment."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="iris-classifier")
    parser.add_argument("--repository", default="ds-team")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--registry", default="model")
    parser.add_argument("--with-lineage", action="store_true")
    parser.add_argument("--request", action="store_true", help="ask for the move, then wait")
    parser.add_argument("--reason", default=None, help="why (with --request)")
    parser.add_argument("--wait-timeout", type=float, default=24 * 3600.0)
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument(
        "--source", default=env("OPSML_SOURCE_TRACKING_URI", "opsml-staging"),
        help="block name or registry URI (default: $OPSML_SOURCE_TRACKING_URI, else opsml-staging)",
    )  # fmt: skip
    parser.add_argument(
        "--target", default=env("OPSML_TARGET_TRACKING_URI", "opsml-prod"),
        help="block name or registry URI (default: $OPSML_TARGET_TRACKING_URI, else opsml-prod); "
        "a URI target takes its production token from $OPSML_TARGET_PROD_TOKEN",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return promote(
        name=args.name, repository=args.repository, alias=args.alias,
        source=registry_arg(args.source), registry_type=args.registry,
        target=registry_arg(args.target, env("OPSML_TARGET_PROD_TOKEN")),
        with_lineage=args.with_lineage, request=args.request, reason=args.reason,
        wait_timeout=args.wait_timeout, poll_interval=args.poll_interval,
    )  # fmt: skip


if __name__ == "__main__":
    main()
