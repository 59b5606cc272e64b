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

``set_project_directory`` is the first step of a ``pull:`` section that runs flows from
a project folder named by ``OPSML_PROJECT_DIR`` (``prefect.deployments.steps.
set_working_directory`` with a check): a worker without the variable, or with one naming a
folder that does not hold the flows, fails there, saying what to set and to what, instead
of passing every pull step and crashing later with a ``FileNotFoundError`` in the run's
temporary folder.

Example:
    ```yaml
    pull:
      - opsml_prefect.deployments.steps.set_project_directory:
          directory: "{{ $OPSML_PROJECT_DIR }}"
          expects: [flows/package_model.py, flows/model_spec.yaml]
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

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from opsml.errors import ConfigurationError
from opsml_prefect.pulling import PullModelOutput, download_model

if TYPE_CHECKING:
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = ["ProjectDirectoryOutput", "PullModelOutput", "pull_model", "set_project_directory"]

PROJECT_VARIABLE = "OPSML_PROJECT_DIR"
"""The worker's variable naming the project folder (the checkout, or an image's WORKDIR)."""


class ProjectDirectoryOutput(TypedDict):
    """What :func:`set_project_directory` returns: Prefect loads the flow from ``directory``."""

    directory: str


def set_project_directory(
    directory: str | None = None, expects: list[str] | str | None = None
) -> ProjectDirectoryOutput:
    """Deployment step: check that the project folder holds the flows, then change into it.

    Args:
        directory: the project folder, an absolute path; ``"{{ $OPSML_PROJECT_DIR }}"`` in a
            ``prefect.yaml`` (Prefect fills it with an empty string on a worker without the
            variable). Not given: ``OPSML_PROJECT_DIR`` as the worker has it.
        expects: files the folder must hold, relative to it (the flows' entrypoints, the
            spec files they read).

    Returns:
        ``directory`` (absolute): Prefect loads the flow's entrypoint from there.

    Raises:
        ConfigurationError: the folder is not given, not absolute, not there, or lacks one
            of ``expects``; the message says what to set ``OPSML_PROJECT_DIR`` to. Nothing
            changed (not even the working directory).

    Example:
        >>> set_project_directory("", expects=["flows/training.py"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        opsml.errors.ConfigurationError: OPSML_PROJECT_DIR is not set on this worker...

    """
    path = check_project_directory(directory, expects)
    os.chdir(path)
    return {"directory": str(path)}


def check_project_directory(directory: str | None, expects: list[str] | str | None) -> Path:
    """The project folder :func:`set_project_directory` changes into, checked (see there)."""
    needs = [expects] if isinstance(expects, str) else list(expects or [])
    holding = ", ".join(needs) or "the flows"
    to = (
        f"set {PROJECT_VARIABLE} to the absolute path of the project folder, the checkout (or "
        f"the image's WORKDIR) holding {holding}, in the worker's environment or the work "
        f"pool's `env` job variable: `{PROJECT_VARIABLE}=/path/to/checkout prefect worker "
        "start --pool ...`"
    )
    value = (os.environ.get(PROJECT_VARIABLE, "") if directory is None else directory).strip()
    if not value or "{{" in value:
        raise ConfigurationError(
            f"{PROJECT_VARIABLE} is not set on this worker, so Prefect would run the flow from "
            f"the run's temporary folder, where its code is not: {to}"
        )
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ConfigurationError(
            f"{_named(value)} is not an absolute path (each run starts in a temporary folder): {to}"
        )
    if not path.is_dir():
        raise ConfigurationError(f"{_named(value)} is not a folder on this worker: {to}")
    missing = [rel for rel in needs if not (path / rel).exists()]
    if missing:
        raise ConfigurationError(
            f"{_named(value)} does not hold the project ({', '.join(missing)} missing): {to}"
        )
    return path.resolve()


def _named(value: str) -> str:
    """Where the folder came from: the worker's variable, or a value frozen at deploy time."""
    if os.environ.get(PROJECT_VARIABLE, "").strip() == value:
        return f"{PROJECT_VARIABLE}={value}"
    return (
        f"the pull step's directory {value!r} (not this worker's {PROJECT_VARIABLE}: written "
        f"in prefect.yaml, or frozen into the deployment by a `prefect deploy` run with "
        f"{PROJECT_VARIABLE} set; deploy again from a shell without it)"
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
