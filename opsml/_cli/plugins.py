"""Commands that other packages add to ``opsml``, through the ``opsml.cli`` entry point group.

The core never imports the packages that provide them: ``opsml server`` comes
from ``opsml_server`` this way. Each entry point's name is the command's name;
its object is a ``typer.Typer`` (a group of subcommands) or a plain function (one
command). An entry point may name the extra it needs (``[server]``): when the
extra's requirements are not installed, the command says how to install them
instead of failing on an import. Plugins are loaded only when their command runs
or ``--help`` lists them.

To add ``opsml ui`` from the server package: define ``ui_app = typer.Typer(...)``
(or a function ``ui``) in ``server/opsml_server/cli.py`` and add one line to
``pyproject.toml``::

    [project.entry-points."opsml.cli"]
    server = "opsml_server.cli:server_app [server]"
    ui = "opsml_server.cli:ui_app [server]"

Example:
    >>> import typer
    >>> app = typer.Typer(cls=PluginGroup)
    >>> "server" in plugin_entry_points()
    True

"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import typer
from typer.core import TyperGroup

ENTRY_POINT_GROUP = "opsml.cli"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """The installed ``opsml.cli`` entry points, by command name.

    Example:
        >>> sorted(plugin_entry_points())  # doctest: +SKIP
        ['server']

    """
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def missing_requirements(entry_point: importlib.metadata.EntryPoint) -> list[str]:
    """The distributions the entry point's extras need that are not installed.

    Example:
        >>> ep = importlib.metadata.EntryPoint("x", "json:dumps", ENTRY_POINT_GROUP)
        >>> missing_requirements(ep)
        []

    """
    dist = entry_point.dist
    if dist is None or not entry_point.extras:
        return []
    missing = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        extra = _EXTRA.search(marker)
        name = _NAME.match(spec)
        if extra is None or extra.group(1) not in entry_point.extras or name is None:
            continue
        try:
            importlib.metadata.version(name.group(1))
        except importlib.metadata.PackageNotFoundError:
            missing.append(name.group(1))
    return sorted(set(missing))


def _unavailable(name: str, entry_point: importlib.metadata.EntryPoint, why: str) -> Any:
    dist = entry_point.dist.metadata["Name"] if entry_point.dist else "opsml-prefect"
    extras = ",".join(entry_point.extras)
    hint = f"pip install '{dist}[{extras}]'" if extras else f"reinstall {dist}"
    message = f"`opsml {name}` is not available ({why}): {hint}"
    stub = typer.Typer()

    @stub.command(
        name=name,
        help=f"Not installed: {hint}.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def _missing() -> None:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)

    return typer.main.get_command(stub)


def load_command(name: str, entry_point: importlib.metadata.EntryPoint) -> Any:
    """The command an entry point provides, or one that explains what to install.

    Args:
        name: the command's name under ``opsml``.
        entry_point: an ``opsml.cli`` entry point (a ``typer.Typer`` or a function).

    Returns:
        A Typer command or group named ``name``.

    Example:
        >>> load_command("server", plugin_entry_points()["server"]).name
        'server'

    """
    missing = missing_requirements(entry_point)
    if missing:
        return _unavailable(name, entry_point, f"missing {', '.join(missing)}")
    try:
        target = entry_point.load()
    except ImportError as exc:
        return _unavailable(name, entry_point, f"cannot import {exc.name or exc}")
    host = typer.Typer(add_completion=False)  # mounts the plugin as a subcommand, not a root
    host.callback()(_no_options)
    if isinstance(target, typer.Typer):
        host.add_typer(target, name=name)
    else:
        host.command(name=name)(target)
    return typer.main.get_command(host).commands[name]  # type: ignore[attr-defined]


def _no_options() -> None:
    """Nothing: the host group only carries the plugin's command."""


class PluginGroup(TyperGroup):
    """The top-level ``opsml`` group: its own commands, then the ``opsml.cli`` plugins.

    Example:
        >>> app = typer.Typer(cls=PluginGroup)

    """

    def list_commands(self, ctx: Any) -> list[str]:
        """Built-in commands, then every plugin's name."""
        names = list(super().list_commands(ctx))
        return names + sorted(n for n in plugin_entry_points() if n not in names)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A built-in command, else the plugin of that name, loaded now."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry_point = plugin_entry_points().get(cmd_name)
        if entry_point is None:
            return None
        command = load_command(cmd_name, entry_point)
        self.commands[cmd_name] = command
        return command
