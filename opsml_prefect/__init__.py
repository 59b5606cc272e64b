"""OpsML for Prefect: the credentials block, card tasks, a deployment pull step and events.

Registered with Prefect through the ``prefect.collections`` entry point, so the
blocks below are known to ``prefect block register`` once the package is installed.

Importing this package does not import Prefect by itself: ``opsml_prefect.plugin``
(loaded by opsml in every registering process, the registry server included)
lives here and must stay cheap. When Prefect is already loaded (it imports its
collections on start-up) the block is imported eagerly, so Prefect knows it;
otherwise every public name is imported on first use.

Example:
    >>> from opsml_prefect import OpsmlCredentials, register_card  # doctest: +SKIP

"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from opsml_prefect._names import APPROVAL_TASKS, DEPLOY_TASKS, TASKS

if TYPE_CHECKING:
    from opsml_prefect.approval_tasks import (
        arequest_alias,
        await_for_approval,
        request_alias,
        wait_for_approval,
    )
    from opsml_prefect.credentials import OpsmlCredentials
    from opsml_prefect.deploy_tasks import arecord_deployment, record_deployment, record_packaging
    from opsml_prefect.lineage import register_pipeline_card
    from opsml_prefect.tasks import (
        alist_cards,
        aload_card,
        apull_model,
        aregister_card,
        list_cards,
        load_card,
        pull_model,
        register_card,
    )

_LAZY = {
    "OpsmlCredentials": "opsml_prefect.credentials",
    "register_pipeline_card": "opsml_prefect.lineage",
    **dict.fromkeys(TASKS, "opsml_prefect.tasks"),
    **dict.fromkeys(DEPLOY_TASKS, "opsml_prefect.deploy_tasks"),
    **dict.fromkeys(APPROVAL_TASKS, "opsml_prefect.approval_tasks"),
}

__all__ = [
    "OpsmlCredentials",
    "alist_cards",
    "aload_card",
    "apull_model",
    "arecord_deployment",
    "aregister_card",
    "arequest_alias",
    "await_for_approval",
    "list_cards",
    "load_card",
    "pull_model",
    "record_deployment",
    "record_packaging",
    "register_card",
    "register_pipeline_card",
    "request_alias",
    "wait_for_approval",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opsml_prefect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if "prefect" in sys.modules:  # loaded as a Prefect collection: register the block class now
    from opsml_prefect.credentials import OpsmlCredentials
