"""Deployment steps for the ``pull:`` section of a ``prefect.yaml``.

Steps are plain functions (not tasks): they take what ``prefect.yaml``
templating produces (strings and dicts), load the credentials block by name
(:func:`opsml_prefect.blockref.as_credentials`), and return a ``TypedDict``
whose keys later steps can use as ``{{ step-id.key }}``.

``pull_model`` returns the model's folder as ``model_dir``, never as
``directory``: Prefect changes into the ``directory`` output of the pull steps
before it loads the flow's entrypoint, so a step returning ``directory`` would
make Prefect look for the flow inside the model folder. The step can therefore
stand anywhere in a ``pull:`` section; the working directory stays whatever
``set_working_directory`` (or the worker) chose.

Example:
    ```yaml
    pull:
      - prefect.deployments.steps.set_working_directory:
          directory: /opt/prefect/flows
      - opsml_prefect.deployments.steps.pull_model:
          id: model
          name: iris-classifier
          repository: ds-team
          version: "^1"                 # or `alias: champion` in its place
          directory: model
          credentials: opsml-registry   # the OpsmlCredentials block's name
    ```

    The flow can then take ``model_dir: "{{ model.model_dir }}"`` as a parameter.

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["PullModelOutput", "pull_model"]


class PullModelOutput(TypedDict):
    """What :func:`pull_model` returns (usable as ``{{ <step id>.<key> }}``)."""

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

    The one implementation behind the ``pull_model`` task, its async twin and
    the ``pull_model`` deployment step: :meth:`opsml.ModelCard.pull`, as
    ``opsml models pull --force`` runs it (what ``directory`` held is replaced).

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
    card = registry.load_card(
        name=name,
        repository=repository,
        version=None if version in ("", None) else version,
        alias=alias or None,
    )
    dest = card.pull(Path(directory).resolve(), replace=True, verify=verify)
    return PullModelOutput(
        model_dir=str(dest),
        name=card.name,
        repository=card.repository,
        version=str(card.version),
        uid=str(card.uid),
    )


def pull_model(
    name: str,
    repository: str | None = None,
    version: str | None = None,
    directory: str = "model",
    credentials: OpsmlCredentials | str | dict[str, Any] | None = None,
    alias: str | None = None,
    require_signature: dict[str, Any] | None = None,
) -> PullModelOutput:
    """Deployment step: pull a registered model into ``directory`` before the flow runs.

    Args:
        name: model card name.
        repository: its repository.
        version: version or spec; empty or ``"latest"`` means the highest release.
        directory: folder to write to, relative to the working directory; what it held
            is replaced. Prefect's working directory does not change.
        credentials: the name of a saved ``OpsmlCredentials`` block (loaded when the step
            runs), a block or its fields, or nothing to let the environment
            (``OPSML_TRACKING_URI``) decide.
        alias: an alias (``champion``) in place of ``version`` (never both).
        require_signature: ``{"public_keys": [...]}`` (PEM files' paths, or the PEM):
            refuse, before writing anything, a model not signed by one of them over
            exactly its files (the packaging spec's field of the same name).

    Returns:
        ``model_dir`` (absolute), ``name``, ``repository``, ``version``, ``uid``.

    Example:
        ```yaml
        pull:
          - opsml_prefect.deployments.steps.pull_model:
              id: model
              name: iris-classifier
              repository: ds-team
              version: "^1"
              directory: model
              credentials: opsml-registry
              require_signature:
                public_keys: [keys/release.pub]
        ```

    """
    from opsml_prefect.blockref import as_credentials

    creds = as_credentials(credentials)
    keys = trusted_keys(require_signature)
    return download_model(name, repository, version, directory, creds, alias=alias, verify=keys)


def trusted_keys(require_signature: dict[str, Any] | None) -> list[str] | None:
    """The ``public_keys`` of a ``require_signature:`` mapping (None: not required).

    Example:
        >>> trusted_keys({"public_keys": ["keys/release.pub"]})
        ['keys/release.pub']

    """
    from opsml.errors import InvalidInputError

    if require_signature is None:
        return None
    keys = require_signature.get("public_keys") if isinstance(require_signature, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise InvalidInputError(
            "require_signature needs public_keys: a non-empty list of public keys (PEM files)"
        )
    return keys
