"""Templates, filters, static files and the security headers of every UI response.

Example:
    >>> human_size(1536)
    '1.5 KiB'
    >>> SECURITY_HEADERS["Content-Security-Policy"].split(";")[0]
    "default-src 'self'"

"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from opsml_server.ui.deployview import ago, breakable, safe_link, short_digest

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def human_size(size: int) -> str:
    """Bytes as B, KiB, MiB, GiB or TiB with one decimal."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def when(value: datetime | str | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC``."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def scalar(value: Any) -> str:
    """A metadata value for a table cell (numbers trimmed, ``None`` as a dash)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(human_size=human_size, when=when, scalar=scalar)
templates.env.filters.update(
    short_digest=short_digest, ago=ago, safe_link=safe_link, breakable=breakable
)
templates.env.globals["static_version"] = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted((HERE / "static").iterdir()))
).hexdigest()[:12]


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a template with the security headers."""
    return templates.TemplateResponse(
        request, name, context, status_code=status, headers=SECURITY_HEADERS
    )


class StaticFiles:
    """The UI's CSS and JavaScript, read once, served with a long cache."""

    def __init__(self, folder: Path) -> None:
        self.files = {
            p.name: (p.read_bytes(), STATIC_TYPES[p.suffix])
            for p in folder.iterdir()
            if p.suffix in STATIC_TYPES
        }

    def response(self, name: str) -> Response:
        """The file, or a 404 naming what exists."""
        if name not in self.files:
            return Response(
                f"no static file {name!r}",
                status_code=404,
                media_type="text/plain",
                headers=SECURITY_HEADERS,
            )
        body, media_type = self.files[name]
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"}
        return Response(body, media_type=media_type, headers=headers)


static_files = StaticFiles(HERE / "static")
