"""Deployment records over a registry server (``/api/v1/deployments``).

See :class:`~opsml.backends._deployments_api.DeploymentsBackend` for the
contract; the server validates, checks roles, records and audits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsml.errors import DeploymentNotFoundError
from opsml.schemas import build
from opsml.schemas_deployments import (
    DeploymentCreate,
    DeploymentPage,
    DeploymentPublic,
    DeploymentQuery,
)

if TYPE_CHECKING:
    from opsml.backends.http._transport import Transport

_FILTERS = ("registry", "name", "repository", "uid", "environment", "target", "state", "cursor")


class HttpDeploymentsMixin:
    """``record_deployment`` / ``list_deployments`` / ``current_deployment`` over HTTP."""

    transport: Transport

    def record_deployment(
        self, record: DeploymentCreate, *, actor: str | None = None
    ) -> DeploymentPublic:
        """See :meth:`DeploymentsBackend.record_deployment` (the server knows the actor)."""
        record = build(DeploymentCreate, **record.model_dump())  # refused before any request
        response = self.transport.send_json("POST", self.transport.api("deployments"), record)
        return self.transport.parse(DeploymentPublic, response)

    def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        """See :meth:`DeploymentsBackend.list_deployments`."""
        query = build(DeploymentQuery, **query.model_dump())
        if query.repositories == [] or query.uids == []:  # a query string cannot say "none"
            return DeploymentPage(items=[])
        params: list[tuple[str, str | int]] = [("limit", query.limit)]
        params += [(k, getattr(query, k)) for k in _FILTERS if getattr(query, k) is not None]
        params += [("repositories", repo) for repo in query.repositories or []]
        params += [("uids", uid) for uid in query.uids or []]
        params += [("current", "true")] if query.current else []
        url = self.transport.api("deployments")
        return self.transport.get_model(DeploymentPage, url, params=params)

    def current_deployment(
        self, target: str, environment: str | None = None
    ) -> DeploymentPublic | None:
        """See :meth:`DeploymentsBackend.current_deployment`."""
        build(DeploymentQuery, target=target, environment=environment)
        params = {"target": target, **({"environment": environment} if environment else {})}
        url = self.transport.api("deployments", "current")
        try:
            return self.transport.get_model(DeploymentPublic, url, params=params)
        except DeploymentNotFoundError:
            return None
