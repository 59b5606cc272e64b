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

    Later pull steps can use ``{{ model.model_dir }}``. A deployment's ``parameters:``
    cannot: ``prefect deploy`` templates them when it creates the deployment, before
    any pull step ran (and drops the key), so give the flow the same folder by name
    (``deployments/prefect.yaml`` defines it once, as a YAML anchor).

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsml_prefect.pulling import PullModelOutput, download_model

if TYPE_CHECKING:
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["PullModelOutput", "pull_model"]


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
