"""``python -m opsml_server [start] [--host H] [--port P] [--workers N]``."""

from __future__ import annotations

import sys

from opsml_server.cli import server_app

if __name__ == "__main__":
    if len(sys.argv) == 1 or sys.argv[1].startswith("-"):
        sys.argv.insert(1, "start")
    server_app(prog_name="opsml_server")
