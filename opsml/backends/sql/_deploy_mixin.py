"""The deployment methods of :class:`~opsml.backends.sql.SqlBackend` (see
:class:`~opsml.backends._deployments_api.DeploymentsBackend` for the contract).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from opsml.backends.sql import _deployments
from opsml.backends.sql._actor import ActorMixin
from opsml.schemas import build
from opsml.schemas_deployments import (
    DeploymentCreate,
    DeploymentPage,
    DeploymentPublic,
    DeploymentQuery,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Connection

    from opsml.listeners import CommitListeners


class DeploymentsMixin(ActorMixin, abc.ABC):
    """``record_deployment`` / ``list_deployments`` / ``current_deployment`` over SQL."""

    environment: str
    listeners: CommitListeners

    @abc.abstractmethod
    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection in a transaction."""

    def record_deployment(
        self, record: DeploymentCreate, *, actor: str | None = None
    ) -> DeploymentPublic:
        """See :meth:`DeploymentsBackend.record_deployment`."""
        record = build(DeploymentCreate, **record.model_dump())  # validated whoever built it
        held, appended, _card = _deployments.record_retrying(
            lambda: self._connect(write=True), self.environment, record, self._acting(actor)
        )
        for item in appended:
            self.listeners.after_deployment(item)
        return held

    def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        """See :meth:`DeploymentsBackend.list_deployments`."""
        query = build(DeploymentQuery, **query.model_dump())
        with self._connect() as conn:
            return _deployments.listed(conn, query)

    def current_deployment(
        self, target: str, environment: str | None = None
    ) -> DeploymentPublic | None:
        """See :meth:`DeploymentsBackend.current_deployment`."""
        query = build(DeploymentQuery, target=target, environment=environment)
        with self._connect() as conn:
            return _deployments.current(conn, query.environment or self.environment, target)
