"""Flow-run lineage of cards: what the plugin records, and the run's PipelineCard.

Inside a Prefect flow run, every card registered in the process gets
``card.lineage`` = ``flow_run_id``, ``flow_name``, ``deployment`` (``flow/name``,
when the run came from a deployment) and ``run_url`` (the run in the Prefect
UI, as Prefect's own ``url_for("flow-run", obj_id=...)`` builds it).
After registration the run gets a markdown artifact naming the card
(registry, name, repository, version, uid, registry location) and the uid is
remembered, so that :func:`register_pipeline_card` can list every card the run
registered.

Cards are remembered per flow run in this process: cards registered by tasks
running in other processes (a Dask or Ray task runner) are not listed; pass
them with ``extra_uids``.

This module imports Prefect; :mod:`opsml_prefect.plugin` imports it only when
Prefect is already loaded.

Example:
    >>> from prefect import flow
    >>> from opsml_prefect import register_card, register_pipeline_card
    >>> @flow
    ... def train():
    ...     register_card(make_datacard())
    ...     register_pipeline_card(name="train", repository="ds-team", contact="ds@x.com")

"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext
from prefect.utilities.urls import url_for

if TYPE_CHECKING:
    from opsml.cards import PipelineCard
    from opsml.cards.base import Card
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = [
    "cards_registered_in",
    "current_lineage",
    "record_card",
    "register_pipeline_card",
]

_lock = threading.Lock()
_lineage_cache: dict[str, dict[str, str]] = {}
_registered: dict[str, dict[str, list[str]]] = {}


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def current_lineage() -> dict[str, str]:
    """Lineage of the current flow run (``{}`` outside a flow run).

    Returns:
        ``flow_run_id``, ``flow_name``, ``run_url`` and, for deployment runs,
        ``deployment`` (``flow-name/deployment-name``).

    Example:
        >>> current_lineage()  # outside a flow run
        {}

    """
    run_id = _flow_run_id()
    if run_id is None:
        return {}
    with _lock:
        cached = _lineage_cache.get(run_id)
    if cached is not None:
        return dict(cached)
    from prefect.runtime import deployment, flow_run

    lineage = {"flow_run_id": run_id}
    ctx = FlowRunContext.get()
    flow_name = ctx.flow.name if ctx is not None and ctx.flow is not None else flow_run.flow_name
    if flow_name:
        lineage["flow_name"] = str(flow_name)
    try:
        deployment_name = deployment.name
    except Exception:  # the API may not know the deployment (yet); lineage is best effort
        deployment_name = None
    if deployment_name:
        lineage["deployment"] = f"{flow_name}/{deployment_name}" if flow_name else deployment_name
    url = url_for("flow-run", obj_id=run_id)  # Prefect's own UI route: .../runs/flow-run/<id>
    if url:
        lineage["run_url"] = str(url)
    with _lock:
        _lineage_cache[run_id] = dict(lineage)
    return lineage


def _artifact_key(card: Card) -> str:
    raw = f"opsml-{card.registry_type}-{card.repository}-{card.name}".lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


def _registry_location(card: Card) -> str:
    if card.registry_location is not None:
        return card.registry_location
    from opsml.config import get_settings, redact_uri

    return redact_uri(get_settings().resolved_tracking_uri())


def card_markdown(card: Card) -> str:
    """The markdown of the run artifact for a registered card.

    Example:
        >>> print(card_markdown(card))  # doctest: +SKIP

    """
    rows = [
        ("registry", card.registry_type),
        ("name", card.name),
        ("repository", card.repository),
        ("version", card.version or ""),
        ("uid", card.uid or ""),
        ("location", _registry_location(card)),
    ]
    links = [
        (label, uid)
        for label, uid in (
            ("data card", getattr(card, "datacard_uid", None)),
            ("run card", getattr(card, "runcard_uid", None)),
        )
        if uid
    ]
    lines = [
        f"### OpsML {card.registry_type} card `{card.repository}/{card.name}` v{card.version}",
        "",
        "| field | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | `{v}` |" for k, v in [*rows, *links]]
    lines += [
        "",
        f"Load it with `CardRegistry({card.registry_type!r}).load_card(uid={card.uid!r})`.",
    ]
    return "\n".join(lines)


def record_card(card: Card) -> None:
    """Remember a registered card for the current flow run and attach a run artifact.

    Called by the plugin's listener after every registration inside a flow run.

    Args:
        card: the registered card (``uid`` and ``version`` set).

    Example:
        >>> record_card(registered_card)  # doctest: +SKIP

    """
    run_id = card.lineage.get("flow_run_id") or _flow_run_id()
    if not run_id or not card.uid:
        return
    with _lock:
        kinds = _registered.setdefault(run_id, {})
        uids = kinds.setdefault(card.registry_type, [])
        if card.uid not in uids:
            uids.append(card.uid)
    if _flow_run_id() != run_id:
        return  # not in that run's context any more: no artifact
    from prefect.artifacts import create_markdown_artifact

    # _sync=True: this runs in worker threads of async flows and tasks too (the async
    # twins), where Prefect would otherwise hand back an un-awaited coroutine
    create_markdown_artifact(  # type: ignore[call-arg]
        _sync=True,
        markdown=card_markdown(card),
        key=_artifact_key(card),
        description=f"OpsML {card.registry_type} card {card.repository}/{card.name} "
        f"v{card.version} (uid {card.uid})",
    )


def cards_registered_in(flow_run_id: str | None = None) -> dict[str, list[str]]:
    """Registry type to uids of the cards this process registered in a flow run.

    Args:
        flow_run_id: the run; default the current one.

    Example:
        >>> cards_registered_in("00000000-0000-0000-0000-000000000000")
        {}

    """
    run_id = flow_run_id or _flow_run_id()
    if run_id is None:
        return {}
    with _lock:
        return {kind: list(uids) for kind, uids in _registered.get(run_id, {}).items()}


def _register_pipeline_card(
    name: str | None,
    repository: str,
    contact: str,
    version_type: str,
    tags: dict[str, str] | None,
    description: str | None,
    extra_uids: dict[str, list[str]] | None,
    state: str | None,
    credentials: OpsmlCredentials | None,
) -> PipelineCard:
    from opsml.cards import PipelineCard
    from opsml_prefect.tasks import _registry

    lineage = current_lineage()
    if not lineage:
        from opsml.errors import InvalidInputError

        raise InvalidInputError(
            "register_pipeline_card must run inside a Prefect flow run (it lists the cards "
            "the run registered)"
        )
    uids = cards_registered_in(lineage["flow_run_id"])
    for kind, more in (extra_uids or {}).items():
        uids[kind] = [*uids.get(kind, []), *(u for u in more if u not in uids.get(kind, []))]
    card = PipelineCard(
        name=name or lineage.get("flow_name", "pipeline").replace(" ", "-"),
        repository=repository,
        contact=contact,
        tags=tags or {},
        description=description,
        flow_name=lineage.get("flow_name"),
        flow_run_id=lineage["flow_run_id"],
        deployment=lineage.get("deployment"),
        run_url=lineage.get("run_url"),
        card_uids=uids,
        state=state,
    )
    _registry("pipeline", credentials).register_card(card, version_type=version_type)
    get_run_logger().info(
        "registered pipeline card %s/%s v%s listing %s",
        card.repository,
        card.name,
        card.version,
        {k: len(v) for k, v in uids.items()},
    )
    return card


@task(cache_policy=NONE, persist_result=False)
def register_pipeline_card(
    repository: str,
    contact: str,
    name: str | None = None,
    version_type: str = "minor",
    tags: dict[str, str] | None = None,
    description: str | None = None,
    extra_uids: dict[str, list[str]] | None = None,
    state: str | None = "Running",
    credentials: OpsmlCredentials | None = None,
) -> PipelineCard:
    """Register a PipelineCard for the current flow run, listing every card it registered.

    Call it last in the flow. The card records the flow name, run id,
    deployment and run URL; ``card_uids`` maps registry type to the uids of the
    cards registered in this run (in this process) plus ``extra_uids``.

    Args:
        repository: repository of the pipeline card.
        contact: who to ask about it.
        name: card name (default: the flow name).
        version_type: ``major``, ``minor``, ``patch``, ``pre`` or ``build``.
        tags: free labels.
        description: free text.
        extra_uids: more cards to list (registered by other processes).
        state: the run's state to record (the run is still running when called).
        credentials: registry credentials; default the environment.

    Returns:
        The registered :class:`~opsml.PipelineCard`.

    Raises:
        InvalidInputError: called outside a flow run.

    Example:
        >>> @flow
        ... def training():
        ...     ...
        ...     register_pipeline_card(repository="ds-team", contact="ds@example.com")

    """
    return _register_pipeline_card(
        name, repository, contact, version_type, tags, description, extra_uids, state, credentials
    )
