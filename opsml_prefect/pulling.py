"""Pulling a registered model into a folder: the one implementation of the collection.

The ``pull_model`` task and its async twin (:mod:`opsml_prefect.tasks`) and the
``pull_model`` deployment step (:mod:`opsml_prefect.deployments.steps`) all call
:func:`download_model`. Nothing here imports Prefect.

Example:
    >>> from opsml_prefect.pulling import download_model
    >>> download_model("iris-classifier", "ds-team", "^1", "model")["version"]  # doctest: +SKIP
    '1.2.0'

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opsml import ModelCard
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["PullModelOutput", "download_model"]


class PullModelOutput(TypedDict):
    """What :func:`download_model` returns (and the deployment step, as ``{{ <id>.<key> }}``)."""

    model_dir: str
    """Absolute path of the folder holding the model files and ``card.json``.

    Deliberately not ``directory``: Prefect would change into it before loading the flow.
    """
    name: str
    repository: str
    version: str
    uid: str


def download_model(
    name: str,
    repository: str | None,
    version: str | None,
    directory: str | Path,
    credentials: OpsmlCredentials | None = None,
    alias: str | None = None,
    *,
    verify: Sequence[str] | None = None,
) -> PullModelOutput:
    """Download a model card's files (digests verified) and its ``card.json`` into ``directory``.

    :meth:`opsml.ModelCard.pull`, as ``opsml models pull --force`` runs it (what
    ``directory`` held is replaced).

    Args:
        name: model card name.
        repository: its repository (needed when the name exists in several).
        version: version or spec (``"1.2.0"``, ``"^1"``, ``"latest"``/``None``).
        directory: folder to write to (created when missing).
        credentials: registry credentials; default the environment.
        alias: an alias (``"champion"``) instead of ``version``; empty means none.
        verify: trusted public keys: refuse, before writing anything, a card that is
            unsigned or not signed by one of them over exactly its files.

    Returns:
        The folder, name, repository, version and uid of the pulled card.

    Raises:
        CardNotFoundError: no model card matches.
        ArtifactIntegrityError: a downloaded file does not match its digest.
        SignatureVerificationError: ``verify`` is given and the signature does not hold.

    Example:
        >>> download_model("iris-classifier", "ds-team", "^1", "model")  # doctest: +SKIP

    """
    from opsml import CardRegistry

    registry = credentials.get_registry("model") if credentials else CardRegistry("model")
    card = cast(
        "ModelCard",  # the model registry loads model cards
        registry.load_card(
            name=name,
            repository=repository,
            version=None if version in ("", None) else version,
            alias=alias or None,
        ),
    )
    dest = card.pull(Path(directory).resolve(), replace=True, verify=verify)
    return PullModelOutput(
        model_dir=str(dest),
        name=card.name,
        repository=card.repository,
        version=str(card.version),
        uid=str(card.uid),
    )
