"""The names of the collection's Prefect tasks, listed once.

Each task's Prefect name is its function's name (no ``name=`` in the
decorators); this tuple is what :mod:`opsml_prefect.tasks` exports and what the
package imports lazily.

Example:
    >>> "register_card" in TASKS
    True

"""

from __future__ import annotations

__all__ = ["APPROVAL_TASKS", "DEPLOY_TASKS", "TASKS"]

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
