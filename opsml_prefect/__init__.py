"""OpsML for Prefect: the credentials block, card tasks, a deployment pull step and events.

Registered with Prefect through the ``prefect.collections`` entry point, so the
blocks below are known to ``prefect block register`` once the package is installed.

Importing this package does not import Prefect by itself: ``opsml_prefect.plugin``
(loaded by opsml in every registering process, the registry server included)
lives here and must stay cheap. When Prefect is already loaded (it imports its
collections on start-up) the block is imported eagerly, so Prefect knows it;
otherwise every public name is imported on first use.

The public names are those of :data:`opsml_prefect._names.EXPORTS`, where each
is written once; ``__all__`` and the lazy imports are built from it.

Example:
    >>> from opsml_prefect import OpsmlCredentials, register_card  # doctest: +SKIP

"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from opsml_prefect._names import EXPORTS

if TYPE_CHECKING:
    # Type checkers cannot read a computed __all__: these re-exports (``X as X``) give them
    # the same names with their types. tests/unit/test_prefect_exports.py keeps them equal
    # to EXPORTS.
    from opsml_prefect.approval_tasks import (
        arequest_alias as arequest_alias,
    )
    from opsml_prefect.approval_tasks import (
        await_for_approval as await_for_approval,
    )
    from opsml_prefect.approval_tasks import (
        request_alias as request_alias,
    )
    from opsml_prefect.approval_tasks import (
        wait_for_approval as wait_for_approval,
    )
    from opsml_prefect.credentials import OpsmlCredentials as OpsmlCredentials
    from opsml_prefect.deploy_tasks import (
        arecord_deployment as arecord_deployment,
    )
    from opsml_prefect.deploy_tasks import (
        record_deployment as record_deployment,
    )
    from opsml_prefect.deploy_tasks import (
        record_packaging as record_packaging,
    )
    from opsml_prefect.lineage import register_pipeline_card as register_pipeline_card
    from opsml_prefect.tasks import (
        alist_cards as alist_cards,
    )
    from opsml_prefect.tasks import (
        aload_card as aload_card,
    )
    from opsml_prefect.tasks import (
        apull_model as apull_model,
    )
    from opsml_prefect.tasks import (
        aregister_card as aregister_card,
    )
    from opsml_prefect.tasks import (
        aset_alias as aset_alias,
    )
    from opsml_prefect.tasks import (
        copy_card as copy_card,
    )
    from opsml_prefect.tasks import (
        list_cards as list_cards,
    )
    from opsml_prefect.tasks import (
        load_card as load_card,
    )
    from opsml_prefect.tasks import (
        pull_model as pull_model,
    )
    from opsml_prefect.tasks import (
        register_card as register_card,
    )
    from opsml_prefect.tasks import (
        set_alias as set_alias,
    )

_LAZY: dict[str, str] = {name: module for module, names in EXPORTS.items() for name in names}
"""Each public name and the module it is imported from on first use."""

__all__ = sorted(_LAZY)


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
    from opsml_prefect.credentials import OpsmlCredentials as OpsmlCredentials
