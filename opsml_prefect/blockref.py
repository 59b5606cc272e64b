"""Credentials as a flow parameter or step input: a block, its name, or its fields.

Deployments name the ``OpsmlCredentials`` block by its **name** (a plain string,
e.g. ``credentials: opsml-registry``), and the flow or step loads it when it
runs. The alternative, ``"{{ prefect.blocks.opsml-credentials.NAME }}"``, is
resolved by ``prefect deploy`` at deploy time and would copy the block's
fields, password included, into the deployment's stored parameters.

Example:
    >>> as_credentials(None) is None
    True

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["as_credentials"]


def as_credentials(
    value: OpsmlCredentials | str | dict[str, Any] | None,
) -> OpsmlCredentials | None:
    """The ``OpsmlCredentials`` block ``value`` stands for (``None``: use the environment).

    Args:
        value: a block, the name of a saved block, a dict of block fields, or nothing.

    Returns:
        The block, or ``None`` when ``value`` is empty.

    Raises:
        InvalidInputError: ``value`` is of another type.
        ValueError: no saved ``OpsmlCredentials`` block has that name (Prefect's error).

    Example:
        >>> as_credentials("opsml-registry").tracking_uri  # doctest: +SKIP
        'http://127.0.0.1:8080'

    """
    if value is None or value == "" or value == {}:
        return None
    from opsml_prefect.credentials import OpsmlCredentials

    if isinstance(value, OpsmlCredentials):
        return value
    if isinstance(value, str):
        return cast("OpsmlCredentials", OpsmlCredentials.load(value))
    if isinstance(value, dict):
        # block references resolved by Prefect carry block metadata keys too
        fields = {k: v for k, v in value.items() if k in OpsmlCredentials.model_fields}
        return OpsmlCredentials.model_validate(fields)
    from opsml.errors import InvalidInputError

    raise InvalidInputError(
        "credentials must be an OpsmlCredentials block, its name or its fields, "
        f"got {type(value).__name__}"
    )
