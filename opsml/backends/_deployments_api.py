"""The deployment-record part of the backend interface (docs/design.md §17).

:class:`~opsml.backends.base.RegistryBackend` inherits it, so every backend
(SQL, HTTP) records, lists and reads deployments the same way.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsml.schemas_deployments import (
        DeploymentCreate,
        DeploymentPage,
        DeploymentPublic,
        DeploymentQuery,
    )


class DeploymentsBackend(abc.ABC):
    """Record what runs where; read a target's current deployment and the history."""

    @abc.abstractmethod
    def record_deployment(
        self, record: DeploymentCreate, *, actor: str | None = None
    ) -> DeploymentPublic:
        """Append ``record``; a ``deployed`` one retires the target's previous current one.

        One transaction per record: concurrent recorders of one target leave
        exactly one current deployment. Audited; the backend's deployment
        listeners (:mod:`opsml.listeners`) hear every appended record.
        Recording ``deployed`` again for the current deployment (same card,
        flow run and image digest) changes nothing and returns it.

        Returns:
            The record that holds: the new one, or the unchanged current one.

        Raises:
            CardNotFoundError: no active card ``record.uid``.
            DeploymentStateError: an illegal state change (a retired deployment
                recorded again, ``retired`` for what is not current).
            InvalidInputError: a malformed field (named in the message).

        Example:
            >>> backend.record_deployment(DeploymentCreate(  # doctest: +SKIP
            ...     uid=card.uid, target="k8s/ml-prod/iris-api", state="deployed"))

        """

    @abc.abstractmethod
    def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        """Records matching every filter of ``query``, newest first, with a cursor.

        Example:
            >>> backend.list_deployments(DeploymentQuery(target="t")).items  # doctest: +SKIP

        """

    @abc.abstractmethod
    def current_deployment(
        self, target: str, environment: str | None = None
    ) -> DeploymentPublic | None:
        """The current ``deployed`` record of ``target`` (``environment``: default the
        registry's own), or ``None`` when nothing is deployed there.

        Example:
            >>> backend.current_deployment("k8s/ml-prod/iris-api").version  # doctest: +SKIP
            '1.2.0'

        """
