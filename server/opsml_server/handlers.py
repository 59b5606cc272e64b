"""One mapping from errors to responses: ``{"error": {"code": ..., "message": ...}}``.

``OpsmlError`` subclasses keep their ``status_code`` and ``code`` (the HTTP
client rebuilds the same class from the code); request validation errors are
400; anything unexpected is a 500 with a generic message, details only in the
server log (never a stack trace, a DSN or a credential in a response).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from opsml.errors import OpsmlError

logger = logging.getLogger("opsml_server.errors")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a message a person can act on."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class RangeNotSatisfiableError(OpsmlError):
    """The requested byte range lies outside the file (416)."""

    code = "range_not_satisfiable"
    status_code = 416

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.headers = {"Content-Range": f"bytes */{size}"}


_HTTP_CODES = {
    400: "invalid_input",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Invalid input or unsafe path."),
        (401, "Auth is on and the credentials are missing, wrong, expired or revoked."),
        (403, "The caller lacks the role on the repository, or (production) the write token."),
        (404, "No such card, artifact or upload session."),
        (413, "The upload is larger than the server accepts."),
        (422, "A transferred file does not match its recorded size or SHA-256."),
        (429, "Too many failed logins for this user or address; retry later."),
        (500, "Unexpected error (details in the server log only)."),
        (503, "Database or storage unavailable."),
    )
}


def conflict(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 409 answer, for the operations that can give one.

    Example:
        >>> conflict("The version is taken.")[409]["description"]
        'The version is taken.'

    """
    return {409: {"model": ErrorBody, "description": description}}


VERSION_TAKEN = conflict("The card's explicit version is taken (versions are never reused).")
"""The 409 of the operations that register a card."""


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error response."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(errors: Any) -> tuple[str, str]:
    parts = []
    code = "invalid_input"
    for err in list(errors)[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        msg = str(err.get("msg", "invalid"))
        if "unsafe artifact path" in msg:
            code = "unsafe_path"
        parts.append(f"{where}: {msg}")
    return code, "; ".join(parts) or "invalid request"


async def _opsml_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpsmlError)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="opsml"'
    if exc.status_code >= 500:
        logger.warning(
            "request failed",
            extra={"code": exc.code, "path": request.url.path, "error": exc.message},
        )
    return error_response(
        exc.status_code, exc.code, exc.public_message or exc.message, headers or None
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, (RequestValidationError, ValidationError)) else []
    code, message = _validation_message(errors)
    return error_response(400, code, message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(exc.status_code, code, detail, dict(exc.headers or {}) or None)


async def _client_abort(request: Request, exc: Exception) -> JSONResponse:
    # nobody reads the answer: the client went away before its body was complete
    logger.warning(
        "request cut short by the client; nothing was stored",
        extra={"path": request.url.path, "method": request.method},
    )
    return error_response(400, "client_abort", "the request body was cut short by the client")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error", exc_info=exc, extra={"path": request.url.path})
    return error_response(
        500,
        "internal_error",
        "the registry server failed unexpectedly; the server log has the details",
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(OpsmlError, _opsml_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_abort)
    app.add_exception_handler(Exception, _unexpected)
