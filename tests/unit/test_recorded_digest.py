"""The packaging flow finds the image it recorded for a version, however many others came after.

A rollback packages a version packaged before; its recorded ``packaged`` digest
lets the engine reuse the image. Newer packagings of other versions of the same
model must not push that record out of the lookup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.model_packaging import ModelApiSpec
from flows.package_model import _recorded_digest
from opsml import CardRegistry, ModelCard

TARGET = "k8s/models/iris-api"
IMAGE = "registry.example.com/ds-team/iris-api"
OURS, THEIRS = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def _model_card() -> ModelCard:
    from sklearn.linear_model import LogisticRegression

    x = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    return ModelCard(
        name="iris", repository="ds-team", contact="ds@example.com", model=model, sample_input=x[:2]
    )


def _checked(uid: str) -> dict[str, Any]:
    spec = ModelApiSpec.model_validate(
        {"model": {"name": "iris", "repository": "ds-team"}, "api": {"image": IMAGE}}
    )
    return {"spec": spec, "uid": uid}


def test_the_digest_is_found_behind_many_newer_packagings_of_other_versions(
    embedded: Path,
) -> None:
    registry = CardRegistry("model")
    old = registry.register_card(_model_card())
    new = registry.register_card(_model_card())
    registry.record_deployment(
        old, target=TARGET, state="packaged", image=f"{IMAGE}:1.0.0", image_digest=OURS
    )
    for _ in range(60):
        registry.record_deployment(
            new, target=TARGET, state="packaged", image=f"{IMAGE}:1.1.0", image_digest=THEIRS
        )
    assert _recorded_digest(_checked(old.uid), f"{IMAGE}:1.0.0", None) == OURS
    assert _recorded_digest(_checked(new.uid), f"{IMAGE}:1.1.0", None) == THEIRS


def test_a_record_of_another_image_is_not_this_images_digest(embedded: Path) -> None:
    registry = CardRegistry("model")
    card = registry.register_card(_model_card())
    registry.record_deployment(
        card, target=TARGET, state="packaged", image=f"{IMAGE}:1.0.0", image_digest=OURS
    )
    for _ in range(3):
        registry.record_deployment(
            card, target=TARGET, state="packaged", image="elsewhere/iris:1.0.0",
            image_digest=THEIRS,
        )  # fmt: skip
    registry.record_deployment(card, target=TARGET, state="failed", detail={"step": "build"})
    assert _recorded_digest(_checked(card.uid), f"{IMAGE}:1.0.0", None) == OURS
    assert _recorded_digest(_checked(card.uid), f"{IMAGE}:2.0.0", None) is None
