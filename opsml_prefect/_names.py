"""The names of the collection's Prefect tasks, listed once.

Each task's Prefect name is its function's name (no ``name=`` in the
decorators). Each tuple is what its module exports; :data:`EXPORTS` gathers
them with the block and the lineage helper, and is what ``opsml_prefect``
exports (its ``__all__``) and imports lazily.

Example:
    >>> "register_card" in TASKS
    True
    >>> EXPORTS["opsml_prefect.tasks"] is TASKS
    True

"""

from __future__ import annotations

__all__ = ["APPROVAL_TASKS", "DEPLOY_TASKS", "EXPORTS", "TASKS"]

TASKS: tuple[str, ...] = (
    "register_card",
    "load_card",
    "list_cards",
    "pull_model",
    "set_alias",
    "copy_card",
    "aregister_card",
    "aload_card",
    "alist_cards",
    "apull_model",
    "aset_alias",
)
"""Every task of :mod:`opsml_prefect.tasks` (sync, then the async twins)."""

DEPLOY_TASKS: tuple[str, ...] = ("record_deployment", "arecord_deployment", "record_packaging")
"""The deployment-record tasks and helper of :mod:`opsml_prefect.deploy_tasks`."""

APPROVAL_TASKS: tuple[str, ...] = (
    "request_alias",
    "wait_for_approval",
    "arequest_alias",
    "await_for_approval",
)
"""The protected-alias tasks of :mod:`opsml_prefect.approval_tasks` (sync, then async twins)."""

EXPORTS: dict[str, tuple[str, ...]] = {
    "opsml_prefect.credentials": ("OpsmlCredentials",),
    "opsml_prefect.lineage": ("register_pipeline_card",),
    "opsml_prefect.tasks": TASKS,
    "opsml_prefect.deploy_tasks": DEPLOY_TASKS,
    "opsml_prefect.approval_tasks": APPROVAL_TASKS,
}
"""Every public name of ``opsml_prefect``, by the module that defines it."""
