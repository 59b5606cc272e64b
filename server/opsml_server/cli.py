"""``opsml server start``: run the registry server with uvicorn (uvloop, httptools).

``server_app`` arrives under ``opsml server`` through the ``opsml.cli`` entry
point group (``pyproject.toml``; the core never imports this package);
``python -m opsml_server`` runs it too. Every command of this module is
registered there: a new one (``ui_app`` for ``opsml ui``) needs its own line,
and ``tests/unit/test_cli_plugins.py`` fails while one is missing. FastAPI and
uvicorn are imported inside the commands only, so ``opsml --help`` stays fast.
"""

from __future__ import annotations

import typer

server_app = typer.Typer(help="Run the OpsML registry server.", no_args_is_help=True)


@server_app.callback()
def main() -> None:
    """The OpsML registry server (configured by OPSML_* environment variables)."""


@server_app.command()
def start(
    host: str = typer.Option(
        "127.0.0.1",
        envvar="OPSML_SERVER_HOST",
        help="Interface to listen on (0.0.0.0 in a container).",
    ),
    port: int = typer.Option(8080, envvar="OPSML_SERVER_PORT", help="TCP port."),
    workers: int = typer.Option(
        1, envvar="OPSML_SERVER_WORKERS", min=1, help="Worker processes (metrics are per process)."
    ),
) -> None:
    """Serve the registry until SIGTERM/SIGINT (graceful shutdown)."""
    import uvicorn
    from pydantic import ValidationError

    from opsml_server.logs import log_config
    from opsml_server.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        messages = "; ".join(str(e.get("msg")) for e in exc.errors())
        typer.echo(f"invalid server configuration: {messages}", err=True)
        raise typer.Exit(2) from None
    common: dict[str, object] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 30,
        "log_config": log_config(settings.log_level, settings.log_json),
        "server_header": False,
    }
    if workers == 1:
        from opsml_server.app import create_app

        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
    else:
        uvicorn.run("opsml_server.app:create_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]
