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
        1,
        envvar="OPSML_SERVER_WORKERS",
        min=1,
        help="Worker processes (/metrics sums them through PROMETHEUS_MULTIPROC_DIR).",
    ),
    graceful_timeout: float = typer.Option(
        30.0,
        envvar="OPSML_SERVER_GRACEFUL_TIMEOUT",
        min=1.0,
        help="On SIGTERM, seconds to let requests in flight (an upload) finish; keep it below "
        "the pod's terminationGracePeriodSeconds.",
    ),
) -> None:
    """Serve the registry until SIGTERM/SIGINT (graceful shutdown)."""
    import uvicorn
    from pydantic import ValidationError

    from opsml_server import metrics_dir
    from opsml_server.logs import log_config
    from opsml_server.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        messages = "; ".join(str(e.get("msg")) for e in exc.errors())
        typer.echo(f"invalid server configuration: {messages}", err=True)
        raise typer.Exit(2) from None
    metrics_dir.prepare(workers)  # before any worker imports prometheus_client
    common: dict[str, object] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "proxy_headers": True,
        "timeout_graceful_shutdown": graceful_timeout,
        "log_config": log_config(settings.log_level, settings.log_json),
        "server_header": False,
    }
    if workers == 1:
        from opsml_server.app import create_app

        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
    else:
        uvicorn.run("opsml_server.app:create_app", factory=True, workers=workers, **common)  # type: ignore[arg-type]


ui_app = typer.Typer(
    help="Browse the registry in a web browser.", invoke_without_command=True, no_args_is_help=False
)


@ui_app.callback()
def ui(
    port: int = typer.Option(8765, "--port", "-p", help="TCP port on 127.0.0.1."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
) -> None:
    """Serve the web UI over OPSML_TRACKING_URI (embedded SQLite by default) on loopback."""
    import threading
    import webbrowser

    import uvicorn

    from opsml.backends import backend_scheme, build_backend
    from opsml.config import get_settings
    from opsml.errors import OpsmlError
    from opsml_server.ui.standalone import create_ui_app

    try:
        settings = get_settings()
        backend = build_backend(settings)
    except OpsmlError as exc:
        typer.echo(f"cannot open the registry: {exc}", err=True)
        raise typer.Exit(2) from None
    url = f"http://127.0.0.1:{port}/ui/"
    server = backend_scheme(settings.resolved_tracking_uri()) == "http"
    where = "a registry server" if server else "a SQL registry"
    typer.echo(f"OpsML UI over {where} on {url} (Ctrl+C to stop)")
    if not no_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    uvicorn.run(
        create_ui_app(backend),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
