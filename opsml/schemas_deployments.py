"""Wire models of deployment records (docs/design.md §17): which card version a target serves.

A record says that a card version was ``packaged`` into an image, ``deployed``
to an environment's target, ``retired`` from it, or ``failed`` there. Records
are append-only; a target's current deployment is its latest ``deployed``,
which a later ``deployed`` (or an explicit ``retired``) replaces.

Example:
    >>> check_target("k8s/ml-prod/iris-api")
    'k8s/ml-prod/iris-api'
    >>> DeploymentCreate(uid="0" * 32, target="k8s/prod/api", state="deployed").state
    'deployed'

"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from opsml.card_kinds import RegistryType
from opsml.schemas_pages import CursorPage
from opsml.schemas_rules import UID_PATTERN

DeploymentState = Literal["packaged", "deployed", "retired", "failed"]
DEPLOYMENT_STATES: tuple[DeploymentState, ...] = ("packaged", "deployed", "retired", "failed")
MAX_TARGET = 255
MAX_ENVIRONMENT = 64
MAX_UIDS = 100
"""Card uids one listing may filter on (``uids``)."""
MAX_DETAIL = 16_384
"""Characters of a record's ``detail`` as JSON."""
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
VISIBLE_PATTERN = r"^[^\s\x00-\x1f\x7f]+$"
"""The rule of a target or environment: visible characters only (published in OpenAPI)."""
_VISIBLE = re.compile(VISIBLE_PATTERN)


def check_target(value: object, field: str = "target", limit: int = MAX_TARGET) -> str:
    """``value`` when it names a target (1-255 visible characters, no whitespace).

    Raises:
        ValueError: empty, whitespace, control characters or too long; the
            message names ``field``.

    Example:
        >>> check_target("k8s/ml-prod/iris-api")
        'k8s/ml-prod/iris-api'

    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must not be empty or whitespace only")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long: at most {limit}")
    if not _VISIBLE.fullmatch(value):
        raise ValueError(f"{field} {value!r} must not contain whitespace or control characters")
    return value


def _check_environment(value: str | None) -> str | None:
    return None if value is None else check_target(value, "environment", MAX_ENVIRONMENT)


def _check_detail(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, default=str))
    if size > MAX_DETAIL:
        raise ValueError(f"detail is {size} characters as JSON: at most {MAX_DETAIL}")
    return value


def _check_optional_target(value: str | None) -> str | None:
    return None if value is None else check_target(value)


Target = Annotated[
    str,
    AfterValidator(check_target),
    Field(json_schema_extra={"pattern": VISIBLE_PATTERN, "maxLength": MAX_TARGET}),
]
Environment = Annotated[
    str | None,
    AfterValidator(_check_environment),
    Field(json_schema_extra={"pattern": VISIBLE_PATTERN, "maxLength": MAX_ENVIRONMENT}),
]
Digest = Annotated[
    str | None,
    Field(default=None, pattern=DIGEST_PATTERN, description="'sha256:' and 64 hex characters."),
]


class DeploymentBase(BaseModel):
    """What a recorder says about one card version on one target."""

    target: Target = Field(description="Where it runs, e.g. 'k8s/ml-prod/iris-api'.")
    state: DeploymentState = Field(description="packaged, deployed, retired or failed.")
    image: str | None = Field(
        default=None, max_length=512, description="Image reference (name:tag or name@digest)."
    )
    image_digest: Digest
    manifests_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the applied manifests."
    )
    flow_run_id: str | None = Field(
        default=None, max_length=64, description="The Prefect flow run that recorded it."
    )
    flow_run_url: str | None = Field(
        default=None, max_length=1024, description="A link to that flow run."
    )
    detail: Annotated[dict[str, Any], AfterValidator(_check_detail)] = Field(
        default_factory=dict, description="Free detail (for a failure: the step and reason)."
    )


class DeploymentCreate(DeploymentBase):
    """Body of ``POST /api/v1/deployments``: a record about the card ``uid``.

    ``environment`` left out means the registry's own (``APP_ENV``). An image
    left out on ``deployed`` is the card's latest recorded image in that
    environment (a rollback reuses the image built for the older version).

    Example:
        >>> DeploymentCreate(uid="0" * 32, target="t", state="failed",
        ...                  detail={"step": "build", "reason": "no base image"}).detail["step"]
        'build'

    """

    registry: RegistryType = "model"
    uid: str = Field(pattern=UID_PATTERN, description="The card's uid.")
    environment: Environment = Field(default=None, description="Default: the registry's own.")


class DeploymentPublic(DeploymentBase):
    """One stored record, with the card it names and who recorded it when.

    Example:
        >>> DeploymentPublic(id=1, registry="model", uid="0" * 32, name="churn",
        ...     repository="ds", version="1.0.0", environment="production", target="t",
        ...     state="deployed", recorded_at=datetime(2026, 1, 1)).version
        '1.0.0'

    """

    id: int = Field(description="Append order: a later record has a larger id.")
    registry: RegistryType
    uid: str = Field(description="The card's uid.")
    name: str
    repository: str
    version: str
    environment: str
    recorded_at: datetime
    actor: str | None = Field(default=None, description="Who recorded it.")


class DeploymentQuery(BaseModel):
    """Filters of a listing of records (newest first) and its cursor.

    Example:
        >>> DeploymentQuery(target="k8s/prod/api", state="deployed").limit
        50

    """

    registry: RegistryType | None = None
    name: str | None = Field(default=None, max_length=128)
    repository: str | None = Field(default=None, max_length=128)
    uid: str | None = Field(default=None, pattern=UID_PATTERN)
    uids: list[Annotated[str, Field(pattern=UID_PATTERN)]] | None = Field(
        default=None, max_length=MAX_UIDS, description="Only records of these cards (at most 100)."
    )
    environment: Environment = None
    target: Annotated[str | None, AfterValidator(_check_optional_target)] = None
    state: DeploymentState | None = None
    current: bool = Field(
        default=False, description="Only the records that are a target's current deployment."
    )
    repositories: list[str] | None = Field(
        default=None, description="Only records of these repositories (what a caller may read)."
    )
    cursor: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="next_cursor of the last page."
    )
    limit: int = Field(default=50, ge=1, le=1000)


class DeploymentPage(CursorPage[DeploymentPublic, int]):
    """A page of records, newest first; ``next_cursor`` continues it.

    Example:
        >>> DeploymentPage(items=[]).next_cursor is None
        True

    """


__all__ = [
    "DEPLOYMENT_STATES",
    "DeploymentCreate",
    "DeploymentPage",
    "DeploymentPublic",
    "DeploymentQuery",
    "DeploymentState",
    "check_target",
]
