"""Promotion flow: copy the ``champion`` of the staging registry into prod and set it there.

Each environment has its own registry (its own server). The flow loads the
version the alias points to in staging, copies it into prod (same version,
every digest verified, provenance recorded; a no-op when prod already has the
same content) and moves the same alias in prod, which emits
``opsml.card.alias_set`` there (the deploy gate of ``deployments/prefect.yaml``).
Both registries are named by ``OpsmlCredentials`` blocks (the prod block
carries the production token).

Example:
    >>> from flows.promote import promote
    >>> promote(source="opsml-staging", target="opsml-prod")  # doctest: +SKIP

"""

from __future__ import annotations

import argparse
from typing import Any

from prefect import flow

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
) -> dict[str, Any]:
    """Copy ``alias`` of ``repository/name`` from ``source`` into ``target`` and set it there.

    ``with_lineage=True`` copies the data and run cards it links to first.

    Returns:
        ``version`` and ``uid`` of the promoted card.

    Example:
        >>> promote(name="churn", repository="ds-team")  # doctest: +SKIP

    """
    source_creds, target_creds = as_credentials(source), as_credentials(target)
    assert target_creds is not None, "the target registry must be named"
    card = load_card(
        registry_type, name=name, repository=repository, alias=alias, credentials=source_creds
    )
    copied = copy_card(card, target_creds, credentials=source_creds, with_lineage=with_lineage)
    set_alias(copied, alias, credentials=target_creds)
    print(f"promoted {repository}/{name} v{copied.version} as {alias}")
    return {"version": copied.version, "uid": copied.uid}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="iris-classifier")
    parser.add_argument("--repository", default="ds-team")
    parser.add_argument("--source", default="opsml-staging")
    parser.add_argument("--target", default="opsml-prod")
    args = parser.parse_args()
    promote(name=args.name, repository=args.repository, source=args.source, target=args.target)
