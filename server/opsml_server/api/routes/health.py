"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (database and storage), ``/metrics``.

``/healthz`` and ``/readyz`` are open even when basic auth is on (Kubernetes
probes carry no credentials); they reveal nothing but ok/unavailable.
``/metrics`` needs the credentials when auth is on (Prometheus' ``basic_auth``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from opsml.errors import OpsmlError
from opsml_server.api.deps import BackendDep, CurrentUser, MetricsDep
from opsml_server.handlers import ErrorBody, error_response

router = APIRouter(tags=["health"])
logger = logging.getLogger("opsml_server.health")

_OK = b'{"status":"ok"}'


class Status(BaseModel):
    """A probe's answer."""

    status: str


@router.get("/healthz", operation_id="healthz", response_model=Status)
async def healthz() -> Response:
    """The process is alive (no database access)."""
    return Response(_OK, media_type="application/json")


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Status,
    responses={503: {"model": ErrorBody, "description": "Database or storage unreachable."}},
)
async def readyz(backend: BackendDep) -> Response:
    """The database and the artifact storage can be reached."""
    try:
        await run_in_threadpool(backend.check)
    except OpsmlError as exc:
        logger.warning("not ready", extra={"code": exc.code, "error": exc.message})
        return error_response(503, "not_ready", "the registry database or storage is not reachable")
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format.",
        }
    },
)
def metrics(user: CurrentUser, server_metrics: MetricsDep) -> Response:
    """Prometheus metrics: requests, latencies, registrations, bytes moved."""
    return Response(server_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
