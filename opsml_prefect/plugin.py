"""The opsml plugin of the Prefect collection: lineage, run artifacts and the registered event.

Loaded through the ``opsml.plugins`` entry point in every process that
registers cards (notebooks, flows, the registry server), so importing it costs
nothing: Prefect is never imported here at module level. It adds three hooks to
:mod:`opsml.hooks`:

1. a **context provider** that, when Prefect is loaded and a flow run is
   active, fills ``card.lineage`` with ``flow_run_id``, ``flow_name``,
   ``deployment`` and ``run_url`` (keys the user already set are kept);
2. a **listener** that, inside a flow run, creates a markdown artifact naming
   the card, registry, version and uid, and records the uid for
   :func:`opsml_prefect.lineage.register_pipeline_card`;
3. a **commit listener** that emits ``opsml.card.registered``, and an **alias
   listener** that emits ``opsml.card.alias_set`` on every committed alias move,
   and a **deployment listener** that emits ``opsml.card.deployed`` on every
   committed deployment record (:mod:`opsml_prefect.events`), and an **approval
   listener** that emits ``opsml.approval.requested|approved|rejected``
   (:mod:`opsml_prefect.approval_events`), when a Prefect API is configured
   (``PREFECT_API_URL`` in the environment, in the active Prefect profile, or
   in Prefect's settings when Prefect is loaded).

Exactly once: commit listeners run only where the registration is committed.
With the embedded client (SQLite or a database URL) that is the client process;
with a registry server it is the **server**, and the HTTP client emits nothing.
So give the registry server ``PREFECT_API_URL`` (and ``PREFECT_API_KEY`` for
Prefect Cloud) to get events for registrations made through it, from flows and
from plain scripts alike.

Example:
    >>> import opsml_prefect.plugin  # registers the hooks; importing prefect is deferred
    >>> prefect_api_configured() in (True, False)
    True

"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from opsml import hooks

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_approvals import ApprovalPublic
    from opsml.schemas_deployments import DeploymentPublic

__all__ = ["describe_event_target", "prefect_api_configured"]

logger = logging.getLogger("opsml_prefect.plugin")


def _profile_api_url() -> str | None:
    """``PREFECT_API_URL`` of the active profile in ``profiles.toml``, read without Prefect.

    Asked on every commit: the file is parsed again only when its inode, size
    or modification time changed (one ``stat`` otherwise).
    """
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    path = home / "profiles.toml"
    try:
        stat = path.stat()
    except OSError:
        return None
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return _api_url_of_profile(path, version, os.environ.get("PREFECT_PROFILE"))


@functools.lru_cache(maxsize=8)
def _api_url_of_profile(
    path: Path, version: tuple[int, int, int], profile_name: str | None
) -> str | None:
    """The active profile's API URL in ``path`` as it was at ``version`` (the cache key)."""
    try:
        import tomllib

        data = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return None
    active = profile_name or data.get("active") or "ephemeral"
    profile = (data.get("profiles") or {}).get(active) or {}
    url = profile.get("PREFECT_API_URL")
    return str(url) if url else None


def prefect_api_configured() -> bool:
    """Whether a Prefect API (server or Cloud) is configured for this process.

    Checked cheaply: the ``PREFECT_API_URL`` environment variable, Prefect's
    current settings when Prefect is already imported (the test harness sets
    them), else the active profile file.

    Example:
        >>> isinstance(prefect_api_configured(), bool)
        True

    """
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)
    return _profile_api_url() is not None


def _event_api_url() -> str | None:
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url
        return str(url) if url else None
    return _profile_api_url()


def describe_event_target() -> str:
    """One line saying whether this process emits ``opsml.card.registered``, and to which API.

    Logged by the registry server at start-up (when this plugin is installed).
    User name, password and query string are never shown; neither is ``PREFECT_API_KEY``.

    Example:
        >>> import os
        >>> os.environ["PREFECT_API_URL"] = "http://user:secret@prefect:4200/api?key=x"
        >>> describe_event_target()
        'Prefect events: opsml.card.registered is emitted to http://prefect:4200/api'
        >>> del os.environ["PREFECT_API_URL"]

    """
    from urllib.parse import urlsplit, urlunsplit

    url = _event_api_url()
    if not url:
        return (
            "Prefect events: off (no PREFECT_API_URL in the environment or the Prefect "
            "profile): registrations emit no opsml.card.registered"
        )
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return (
        "Prefect events: opsml.card.registered is emitted to "
        f"{urlunsplit((parts.scheme, netloc, parts.path, '', ''))}"
    )


def _in_prefect() -> bool:
    return "prefect" in sys.modules


def provide_lineage(card: Card) -> None:
    """Context provider: add the current flow run to ``card.lineage`` (no-op outside one)."""
    if not _in_prefect():
        return
    from opsml_prefect.lineage import current_lineage

    lineage = current_lineage()
    if lineage:
        card.lineage = {**lineage, **card.lineage}


def on_registered(card: Card) -> None:
    """Listener: inside a flow run, attach an artifact and remember the card's uid."""
    if not _in_prefect() or not card.lineage.get("flow_run_id"):
        return
    from opsml_prefect.lineage import record_card

    record_card(card)


def on_commit(card: CardPublic) -> None:
    """Commit listener: emit ``opsml.card.registered`` when a Prefect API is configured."""
    if not prefect_api_configured():
        return
    from opsml_prefect.events import emit_card_registered

    emit_card_registered(card)


def on_alias_set(card: CardPublic, alias: AliasPublic) -> None:
    """Alias listener: emit ``opsml.card.alias_set`` when a Prefect API is configured."""
    if not prefect_api_configured():
        return
    from opsml_prefect.events import emit_alias_set

    emit_alias_set(card, alias)


def on_deployment(record: DeploymentPublic) -> None:
    """Deployment listener: emit ``opsml.card.deployed`` when a Prefect API is configured."""
    if not prefect_api_configured():
        return
    from opsml_prefect.events import emit_card_deployed

    emit_card_deployed(record)


def on_approval(request: ApprovalPublic) -> None:
    """Approval listener: emit ``opsml.approval.*`` when a Prefect API is configured."""
    if not prefect_api_configured():
        return
    from opsml_prefect.approval_events import emit_approval

    emit_approval(request)


def _warm_up() -> None:
    """Import Prefect's event client in the background (a registry server emitting events)."""
    try:
        import prefect.events  # noqa: F401
    except Exception:  # pragma: no cover - only a warm-up
        logger.debug("could not pre-import prefect.events", exc_info=True)


hooks.add_context_provider(provide_lineage)
hooks.add_listener(on_registered)
hooks.add_commit_listener(on_commit)
hooks.add_alias_listener(on_alias_set)
hooks.add_deployment_listener(on_deployment)
hooks.add_approval_listener(on_approval)

if "opsml_server" in sys.modules:  # the registry server loads plugins at start-up
    logger.info(describe_event_target())

if (
    os.environ.get("PREFECT_API_URL")
    and "opsml_server" in sys.modules
    and "prefect.events" not in sys.modules
):
    # Importing Prefect takes ~2 s: in a registry server, do it off the request path.
    threading.Thread(target=_warm_up, name="opsml-prefect-warmup", daemon=True).start()
