"""Prefect tasks to register, find and load cards and to pull models, each with an async twin.

Every task takes an optional :class:`~opsml_prefect.credentials.OpsmlCredentials`;
without it the environment decides (``OPSML_TRACKING_URI``, else the embedded
registry), exactly like ``CardRegistry(registry_type)``.

- Retries happen only on transient failures: :class:`~opsml.errors.BackendUnavailableError`
  and :class:`~opsml.errors.StorageError` (``retry_condition_fn``); a missing
  card or a bad version spec fails at once.
- Nothing is cached or persisted (``cache_policy=NONE``, ``persist_result=False``):
  cards hold registry clients and models.
- The async twins (``aregister_card``…) run the same implementation in a worker
  thread (``anyio.to_thread.run_sync``), so both behave identically.

Cards registered through these tasks (or any registry call) inside a flow run
get the run's lineage and a run artifact through :mod:`opsml_prefect.plugin`.

Example:
    >>> from prefect import flow
    >>> from opsml import ModelCard
    >>> from opsml_prefect.tasks import load_card, pull_model, register_card
    >>> @flow
    ... def publish(model, X):
    ...     card = ModelCard(name="churn", repository="ds-team", contact="ds@x.com",
    ...                      model=model, sample_input=X[:5])
    ...     card = register_card(card, version_type="minor")
    ...     return pull_model("churn", "ds-team", card.version, "out/churn")

"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import anyio.to_thread
from prefect import Task, task
from prefect.cache_policies import NONE

from opsml.errors import BackendUnavailableError, StorageError
from opsml_prefect._names import TASKS
from opsml_prefect.pulling import download_model

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State, TaskRun

    from opsml import CardRegistry
    from opsml.cards.base import Card
    from opsml.schemas import AliasPublic
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = list(TASKS)

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (BackendUnavailableError, StorageError)
"""Errors worth a retry: the registry or its storage could not be reached."""


def is_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """``retry_condition_fn``: retry only when the failure is a transient registry error.

    Example:
        >>> from prefect.states import Failed
        >>> is_transient(None, None, Failed(data=StorageError("storage is down")))
        True

    """
    exc: Any = state.data
    if not isinstance(exc, BaseException):
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as error:  # the result itself could not be read
            exc = error
    return isinstance(exc, TRANSIENT_ERRORS)


_TASK_OPTIONS: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [1, 5, 15],
    "retry_condition_fn": is_transient,
    "cache_policy": NONE,
    "persist_result": False,
}


def _registry(registry_type: str, credentials: OpsmlCredentials | None) -> CardRegistry:
    if credentials is not None:
        return credentials.get_registry(registry_type)  # type: ignore[arg-type]
    from opsml import CardRegistry

    return CardRegistry(registry_type)  # type: ignore[arg-type]


# -- one implementation each ----------------------------------------------------------


def _register_card(card: Card, version_type: str, credentials: OpsmlCredentials | None) -> Card:
    return _registry(card.registry_type, credentials).register_card(card, version_type=version_type)


def _load_card(
    registry_type: str,
    name: str | None,
    repository: str | None,
    version: str | None,
    uid: str | None,
    credentials: OpsmlCredentials | None,
    alias: str | None = None,
) -> Card:
    return _registry(registry_type, credentials).load_card(
        name=name, repository=repository, version=version, uid=uid, alias=alias
    )


def _list_cards(
    registry_type: str,
    name: str | None,
    repository: str | None,
    version: str | None,
    tags: dict[str, str] | None,
    limit: int,
    credentials: OpsmlCredentials | None,
) -> list[Card]:
    return _registry(registry_type, credentials).list_cards(
        name=name, repository=repository, version=version, tags=tags, limit=limit
    )


def _pull_model(
    name: str,
    repository: str | None,
    version: str | None,
    out_dir: str | Path,
    credentials: OpsmlCredentials | None,
    alias: str | None = None,
    verify: list[str] | None = None,
) -> str:
    pulled = download_model(name, repository, version, out_dir, credentials, alias, verify=verify)
    return pulled["model_dir"]


def _set_alias(card: Card, alias: str, credentials: OpsmlCredentials | None) -> AliasPublic:
    return _registry(card.registry_type, credentials).set_alias(card, alias)


@task(task_run_name="copy-{card.name}", **_TASK_OPTIONS)
def copy_card(
    card: Card,
    target: OpsmlCredentials,
    credentials: OpsmlCredentials | None = None,
    with_lineage: bool = False,
) -> Card:
    """Copy a registered card into the registry ``target`` names: same version and digests.

    Idempotent for the same content; the same version with other files fails
    and changes nothing (see :meth:`opsml.CardRegistry.copy_card`).
    ``with_lineage=True`` copies the data and run cards it links to first.

    Example:
        >>> prod_card = copy_card(card, OpsmlCredentials.load("opsml-prod"))  # doctest: +SKIP

    """
    source = _registry(card.registry_type, credentials)
    return source.copy_card(
        card, to=target.get_registry(card.registry_type), with_lineage=with_lineage
    )


# -- sync tasks -----------------------------------------------------------------------


@task(task_run_name="register-{card.name}", **_TASK_OPTIONS)
def register_card(
    card: Card, version_type: str = "minor", credentials: OpsmlCredentials | None = None
) -> Card:
    """Register a card in the registry of its kind; inside a flow run it records the run.

    Args:
        card: a DataCard, ModelCard, RunCard or PipelineCard.
        version_type: ``major``, ``minor``, ``patch``, ``pre`` or ``build``.
        credentials: registry credentials; default the environment.

    Returns:
        The card with ``version``, ``uid`` and ``lineage`` filled in.

    Example:
        >>> card = register_card(DataCard(name="iris", repository="ds", contact="me",
        ...                               data=df))  # doctest: +SKIP

    """
    return _register_card(card, version_type, credentials)


@task(**_TASK_OPTIONS)
def load_card(
    registry_type: str,
    name: str | None = None,
    repository: str | None = None,
    version: str | None = None,
    uid: str | None = None,
    credentials: OpsmlCredentials | None = None,
    alias: str | None = None,
) -> Card:
    """Load one card by uid, or by name (and repository) and a version spec.

    Args:
        registry_type: ``data``, ``model``, ``run`` or ``pipeline``.
        name: card name.
        repository: its repository.
        version: ``"1.0.1"``, ``"^1.2"``, ``"1.*"``, ``">=1,<2"`` or ``None`` for the latest.
        uid: the card's uid instead of name and version.
        credentials: registry credentials; default the environment.
        alias: an alias (``"champion"``) in place of ``version``.

    Returns:
        The card (artifacts are downloaded lazily, verified).

    Example:
        >>> model = load_card("model", name="churn", version="^1").load_model()  # doctest: +SKIP

    """
    return _load_card(registry_type, name, repository, version, uid, credentials, alias)


@task(**_TASK_OPTIONS)
def list_cards(
    registry_type: str,
    name: str | None = None,
    repository: str | None = None,
    version: str | None = None,
    tags: dict[str, str] | None = None,
    limit: int = 50,
    credentials: OpsmlCredentials | None = None,
) -> list[Card]:
    """Cards matching every given filter, newest first.

    Example:
        >>> list_cards("model", repository="ds-team", limit=5)  # doctest: +SKIP

    """
    return _list_cards(registry_type, name, repository, version, tags, limit, credentials)


@task(**_TASK_OPTIONS)
def pull_model(
    name: str,
    repository: str | None = None,
    version: str | None = None,
    out_dir: str | Path = "model",
    credentials: OpsmlCredentials | None = None,
    alias: str | None = None,
    verify: list[str] | None = None,
) -> str:
    """Download a model card's files into ``out_dir`` (digests verified), plus ``card.json``.

    Args:
        name: model card name.
        repository: its repository.
        version: version or spec (default the latest release).
        out_dir: folder to write to (created when missing).
        credentials: registry credentials; default the environment.
        alias: an alias (``"champion"``) in place of ``version``.
        verify: trusted public keys; refuse an unsigned or untrusted card first.

    Returns:
        The absolute path of ``out_dir``.

    Raises:
        ArtifactIntegrityError: a file does not match its recorded digest.

    Example:
        >>> path = pull_model("churn", "ds-team", "^1", "build/model")  # doctest: +SKIP

    """
    return _pull_model(name, repository, version, out_dir, credentials, alias, verify)


@task(task_run_name="alias-{card.name}-{alias}", **_TASK_OPTIONS)
def set_alias(card: Card, alias: str, credentials: OpsmlCredentials | None = None) -> AliasPublic:
    """Point ``alias`` of the card's name at this registered card (create or move it).

    A write (the production token in production), audited; the registry emits
    ``opsml.card.alias_set``, which can trigger a deployment.

    Example:
        >>> set_alias(card, "champion").version  # doctest: +SKIP
        '1.2.0'

    """
    return _set_alias(card, alias, credentials)


# -- async twins ----------------------------------------------------------------------

_P = ParamSpec("_P")
_R = TypeVar("_R")


async def _in_thread(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


@task(task_run_name="register-{card.name}", **_TASK_OPTIONS)
async def aregister_card(
    card: Card, version_type: str = "minor", credentials: OpsmlCredentials | None = None
) -> Card:
    """Async twin of :func:`register_card` (same implementation, in a worker thread).

    Example:
        >>> card = await aregister_card(card, version_type="patch")  # doctest: +SKIP

    """
    return await _in_thread(_register_card, card, version_type, credentials)


@task(**_TASK_OPTIONS)
async def aload_card(
    registry_type: str,
    name: str | None = None,
    repository: str | None = None,
    version: str | None = None,
    uid: str | None = None,
    credentials: OpsmlCredentials | None = None,
    alias: str | None = None,
) -> Card:
    """Async twin of :func:`load_card`.

    Example:
        >>> card = await aload_card("model", name="churn")  # doctest: +SKIP

    """
    return await _in_thread(
        _load_card, registry_type, name, repository, version, uid, credentials, alias
    )


@task(**_TASK_OPTIONS)
async def alist_cards(
    registry_type: str,
    name: str | None = None,
    repository: str | None = None,
    version: str | None = None,
    tags: dict[str, str] | None = None,
    limit: int = 50,
    credentials: OpsmlCredentials | None = None,
) -> list[Card]:
    """Async twin of :func:`list_cards`.

    Example:
        >>> cards = await alist_cards("model", repository="ds-team")  # doctest: +SKIP

    """
    return await _in_thread(
        _list_cards, registry_type, name, repository, version, tags, limit, credentials
    )


@task(**_TASK_OPTIONS)
async def apull_model(
    name: str,
    repository: str | None = None,
    version: str | None = None,
    out_dir: str | Path = "model",
    credentials: OpsmlCredentials | None = None,
    alias: str | None = None,
    verify: list[str] | None = None,
) -> str:
    """Async twin of :func:`pull_model`.

    Example:
        >>> path = await apull_model("churn", "ds-team", "^1", "build/model")  # doctest: +SKIP

    """
    return await _in_thread(
        _pull_model, name, repository, version, out_dir, credentials, alias, verify
    )


@task(task_run_name="alias-{card.name}-{alias}", **_TASK_OPTIONS)
async def aset_alias(
    card: Card, alias: str, credentials: OpsmlCredentials | None = None
) -> AliasPublic:
    """Async twin of :func:`set_alias`.

    Example:
        >>> moved = await aset_alias(card, "champion")  # doctest: +SKIP

    """
    return await _in_thread(_set_alias, card, alias, credentials)
