"""The deployment-record methods of :class:`~opsml.registry.CardRegistry` (docs/design.md §17).

Example:
    >>> from opsml import CardRegistry
    >>> "record_deployment" in dir(CardRegistry)
    True

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsml.schemas import build, check_uid
from opsml.schemas_deployments import (
    DeploymentCreate,
    DeploymentPage,
    DeploymentPublic,
    DeploymentQuery,
    DeploymentState,
)

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.cards.base import Card
    from opsml.schemas import RegistryType


class DeploymentsMixin:
    """``record_deployment``, ``list_deployments`` and ``current_deployment``."""

    registry_type: RegistryType

    if TYPE_CHECKING:

        @property
        def backend(self) -> RegistryBackend:
            """The backend (see :class:`~opsml.registry.CardRegistry`)."""

        def _owned(self, card: Card) -> tuple[Any, RegistryBackend]:
            """The card's public record and the backend, or an error."""

    def record_deployment(
        self,
        card: Card | str,
        *,
        target: str,
        state: DeploymentState,
        environment: str | None = None,
        image: str | None = None,
        image_digest: str | None = None,
        manifests_sha256: str | None = None,
        flow_run_id: str | None = None,
        flow_run_url: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> DeploymentPublic:
        """Record that ``card`` was packaged, deployed, retired or failed on ``target``.

        Records are append-only. ``deployed`` makes the card the target's current
        deployment and retires the previous one in the same transaction (one
        current deployment per target, whatever the concurrency); recording it
        again from the same flow run with the same image changes nothing. A
        ``deployed`` without an image takes the card's latest recorded image in
        that environment (a rollback reuses what was built for the older version).
        A write: ``writer`` on the card's repository, the production token in
        production; audited; emits ``opsml.card.deployed``.

        Args:
            card: a registered card of this registry, or its uid.
            target: where it runs, e.g. ``k8s/ml-prod/iris-api`` (1-255 visible characters).
            state: ``packaged``, ``deployed``, ``retired`` or ``failed``.
            environment: default the registry's own (``APP_ENV``).
            image: the image reference (``name:tag`` or ``name@sha256:…``).
            image_digest: the image's digest, ``sha256:`` and 64 hex characters.
            manifests_sha256: SHA-256 of the applied manifests.
            flow_run_id: the Prefect flow run recording it.
            flow_run_url: a link to that flow run.
            detail: free detail; for ``failed``, the step and the reason.

        Returns:
            The record that holds (the new one, or the unchanged current one).

        Raises:
            InvalidInputError: a malformed field, named in the message.
            CardNotFoundError: the card is not registered (or was deleted).
            DeploymentStateError: an illegal state change (a stale recorder).

        Example:
            >>> registry.record_deployment(card, target="k8s/ml-prod/iris-api",  # doctest: +SKIP
            ...     state="deployed", image="iris:1.2.0", image_digest="sha256:" + "a" * 64)

        """
        uid = check_uid(card) if isinstance(card, str) else self._owned(card)[0].uid
        record = build(
            DeploymentCreate, registry=self.registry_type, uid=uid, target=target, state=state,
            environment=environment, image=image, image_digest=image_digest,
            manifests_sha256=manifests_sha256, flow_run_id=flow_run_id,
            flow_run_url=flow_run_url, detail=detail or {},
        )  # fmt: skip
        return self.backend.record_deployment(record)

    def list_deployments(
        self,
        *,
        card: Card | str | None = None,
        name: str | None = None,
        repository: str | None = None,
        environment: str | None = None,
        target: str | None = None,
        state: DeploymentState | None = None,
        current: bool = False,
        cursor: int | None = None,
        limit: int = 50,
    ) -> DeploymentPage:
        """Deployment records of this registry's cards, newest first, one page at a time.

        ``card`` (a registered card of this registry, or its uid) keeps that card's
        records; ``current=True`` keeps only each target's current deployment (what
        serves now).

        Raises:
            InvalidInputError: a malformed filter, such as a uid not of 32 lowercase hex characters.

        Example:
            >>> page = registry.list_deployments(target="k8s/ml-prod/iris-api")  # doctest: +SKIP
            >>> registry.list_deployments(cursor=page.next_cursor)  # doctest: +SKIP
            >>> registry.list_deployments(current=True).items  # doctest: +SKIP
            >>> registry.list_deployments(card=uid, state="packaged", limit=5)  # doctest: +SKIP

        """
        if card is None or isinstance(card, str):
            uid = None if card is None else check_uid(card)
        else:
            uid = self._owned(card)[0].uid
        query = build(
            DeploymentQuery, registry=self.registry_type, uid=uid, name=name,
            repository=repository, environment=environment, target=target, state=state,
            current=current, cursor=cursor, limit=limit,
        )  # fmt: skip
        return self.backend.list_deployments(query)

    def current_deployment(
        self, *, target: str, environment: str | None = None
    ) -> DeploymentPublic | None:
        """The record of what ``target`` serves now (its latest ``deployed``), or ``None``.

        Example:
            >>> registry.current_deployment(target="k8s/ml-prod/iris-api").version  # doctest: +SKIP
            '1.2.0'

        """
        return self.backend.current_deployment(target, environment)
