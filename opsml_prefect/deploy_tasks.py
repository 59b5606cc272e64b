"""Prefect tasks that record what runs where (docs/design.md §17): ``record_deployment`` and its
async twin, plus :func:`record_packaging`, the one call a packaging flow makes at its end.

Inside a flow run the record carries the run (``flow_run_id`` and its URL), so a
record links back to the run that made it, and recording ``deployed`` again
from the same run (a task retry) changes nothing. Retries happen only on
transient registry errors, as for the other tasks of the collection.

Example:
    >>> from prefect import flow
    >>> from opsml_prefect.deploy_tasks import record_deployment
    >>> @flow
    ... def deploy(card):
    ...     return record_deployment(card, "k8s/ml-prod/iris-api", "deployed",
    ...                              image_digest="sha256:" + "a" * 64)

"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from prefect import task

from opsml_prefect._names import DEPLOY_TASKS
from opsml_prefect.tasks import _TASK_OPTIONS, _in_thread, _registry

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.schemas_deployments import DeploymentPublic
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = list(DEPLOY_TASKS)


def _run() -> dict[str, str | None]:
    """The current flow run's id and URL (``None`` outside a flow run)."""
    from opsml_prefect.lineage import current_lineage

    lineage = current_lineage()
    return {"flow_run_id": lineage.get("flow_run_id"), "flow_run_url": lineage.get("run_url")}


def _record(
    card: Card | str,
    target: str,
    state: str,
    registry_type: str,
    credentials: OpsmlCredentials | None,
    fields: dict[str, Any],
    run: dict[str, str | None],
) -> DeploymentPublic:
    """The one implementation: the registry call, with the flow run read by the caller."""
    registry = _registry(registry_type, credentials)
    return registry.record_deployment(
        card, target=target, state=state,  # type: ignore[arg-type]
        **{**run, **{k: v for k, v in fields.items() if v is not None}},
    )  # fmt: skip


@task(task_run_name="record-{state}-{target}", **_TASK_OPTIONS)
def record_deployment(
    card: Card | str,
    target: str,
    state: str,
    *,
    registry_type: str = "model",
    environment: str | None = None,
    image: str | None = None,
    image_digest: str | None = None,
    manifests_sha256: str | None = None,
    detail: dict[str, Any] | None = None,
    credentials: OpsmlCredentials | None = None,
) -> DeploymentPublic:
    """Record that ``card`` was ``packaged``, ``deployed``, ``retired`` or ``failed`` on ``target``.

    See :meth:`opsml.CardRegistry.record_deployment`; the current flow run is
    recorded with it. The registry emits ``opsml.card.deployed``.

    Args:
        card: a registered card (or its uid).
        target: where it runs, e.g. ``k8s/ml-prod/iris-api``.
        state: ``packaged``, ``deployed``, ``retired`` or ``failed``.
        registry_type: the card's registry (``model``).
        environment: default the registry's own.
        image: the image reference.
        image_digest: ``sha256:`` and 64 hex characters; left out on ``deployed``,
            the card's latest recorded image in the environment.
        manifests_sha256: SHA-256 of the applied manifests.
        detail: free detail (for ``failed``: the step and the reason).
        credentials: registry credentials; default the environment.

    Returns:
        The record that holds.

    Example:
        >>> record_deployment(card, "k8s/ml-prod/iris-api", "deployed")  # doctest: +SKIP

    """
    fields = {"environment": environment, "image": image, "image_digest": image_digest,
              "manifests_sha256": manifests_sha256, "detail": detail}  # fmt: skip
    return _record(card, target, state, registry_type, credentials, fields, _run())


@task(task_run_name="record-{state}-{target}", **_TASK_OPTIONS)
async def arecord_deployment(
    card: Card | str,
    target: str,
    state: str,
    *,
    registry_type: str = "model",
    environment: str | None = None,
    image: str | None = None,
    image_digest: str | None = None,
    manifests_sha256: str | None = None,
    detail: dict[str, Any] | None = None,
    credentials: OpsmlCredentials | None = None,
) -> DeploymentPublic:
    """Async twin of :func:`record_deployment` (same implementation, in a worker thread).

    Example:
        >>> await arecord_deployment(card, "k8s/ml-prod/iris-api", "deployed")  # doctest: +SKIP

    """
    fields = {"environment": environment, "image": image, "image_digest": image_digest,
              "manifests_sha256": manifests_sha256, "detail": detail}  # fmt: skip
    run = _run()  # read here: the worker thread has no Prefect context
    return await _in_thread(_record, card, target, state, registry_type, credentials, fields, run)


def record_packaging(
    uid: str,
    target: str,
    *,
    image: str | None = None,
    image_digest: str | None = None,
    error: BaseException | None = None,
    step: str | None = None,
    environment: str | None = None,
    credentials: OpsmlCredentials | None = None,
) -> DeploymentPublic | None:
    """What a packaging flow records at its end: ``packaged`` with the image, or ``failed``.

    Call it inside the packaging flow run (it records that run). With
    ``error``, records ``failed`` with ``detail={"step": step, "reason": str(error)}``
    and never raises itself (a registry that cannot be reached is logged: the
    packaging error matters more), returning ``None`` then.

    Args:
        uid: the packaged model card's uid.
        target: the target the image is for (the deploy spec's ``target``).
        image: the image reference.
        image_digest: the image id/digest, ``sha256:`` and 64 hex characters (a bare
            64-hex image id, as ``podman images`` prints it, gets the prefix).
        error: the exception that stopped the packaging, if it failed.
        step: the step that failed (``build``, ``smoke-run``…).
        environment: default the registry's own.
        credentials: registry credentials; default the environment.

    Returns:
        The record (``None`` when recording a failure itself failed).

    Example:
        >>> record_packaging(checked["uid"], "k8s/models/iris-api",  # doctest: +SKIP
        ...                  image=built["image"], image_digest=built["digest"])
        >>> record_packaging(checked["uid"], "k8s/models/iris-api",  # doctest: +SKIP
        ...                  error=exc, step="build")

    """
    if image_digest and re.fullmatch(r"[0-9a-f]{64}", image_digest):
        image_digest = f"sha256:{image_digest}"  # an engine's bare image id
    if error is None:
        return record_deployment(
            uid, target, "packaged", image=image, image_digest=image_digest,
            environment=environment, credentials=credentials,
        )  # fmt: skip
    detail = {"step": step or "unknown", "reason": f"{type(error).__name__}: {error}"[:2000]}
    try:
        return record_deployment.with_options(retries=0)(
            uid, target, "failed", image=image, image_digest=image_digest,
            environment=environment, detail=detail, credentials=credentials,
        )  # fmt: skip
    except Exception:
        from prefect.logging import get_logger

        get_logger("opsml_prefect").warning("could not record the failed packaging", exc_info=True)
        return None
