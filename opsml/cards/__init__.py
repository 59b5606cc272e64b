"""Cards: what data scientists describe and register."""

from opsml.cards.base import Card
from opsml.cards.data import DataCard
from opsml.cards.model import ModelCard
from opsml.cards.pipeline import PipelineCard
from opsml.cards.run import RunCard

CARD_TYPES: dict[str, type[Card]] = {
    "data": DataCard,
    "model": ModelCard,
    "run": RunCard,
    "pipeline": PipelineCard,
}

__all__ = ["CARD_TYPES", "Card", "DataCard", "ModelCard", "PipelineCard", "RunCard"]
