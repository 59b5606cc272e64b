"""OpsML for Prefect: the credentials block, card tasks, a deployment pull step and events.

Registered with Prefect through the ``prefect.collections`` entry point, so the
blocks below are known to ``prefect block register`` once the package is installed.
"""

from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["OpsmlCredentials"]
