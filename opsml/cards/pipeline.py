"""PipelineCard: one orchestrated run and the cards it registered."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from opsml.cards.base import Card


class PipelineCard(Card):
    """One orchestrated (Prefect) run: flow, run id, deployment, and card uids.

    Example:
        >>> card = PipelineCard(name="training", repository="ds-team", contact="ds@example.com",
        ...                     flow_name="training", flow_run_id="1234",
        ...                     card_uids={"data": ["a" * 32], "model": ["b" * 32]})
        >>> card.card_uids["model"]
        ['bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']

    """

    registry_type: ClassVar = "pipeline"
    _metadata_fields: ClassVar[tuple[str, ...]] = (
        "flow_name",
        "flow_run_id",
        "deployment",
        "run_url",
        "card_uids",
        "state",
    )

    flow_name: str | None = Field(default=None, description="Name of the flow.")
    flow_run_id: str | None = Field(default=None, description="Id of the flow run.")
    deployment: str | None = Field(default=None, description="Deployment that ran it.")
    run_url: str | None = Field(default=None, description="Link to the run in the Prefect UI.")
    card_uids: dict[str, list[str]] = Field(
        default_factory=dict, description="Registry type to the uids of cards it registered."
    )
    state: str | None = Field(default=None, description="Final state of the run.")
