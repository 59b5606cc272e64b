"""Prometheus metrics of one app (its own registry, so that apps built in tests never clash).

With several worker processes (``opsml server start --workers N``) the values
live in ``PROMETHEUS_MULTIPROC_DIR`` (see :mod:`opsml_server.metrics_dir`) and
:meth:`ServerMetrics.exposition` sums every worker's. Replicas are told apart
by the labels Prometheus adds per scraped pod (``pod``, ``instance``) and by
``opsml_server_info{replica=...}``; counts are never labelled per worker.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from opsml_server.metrics_dir import MULTIPROC_ENV

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("opsml_server.access")


class ServerMetrics:
    """Request counts and latencies, registrations and bytes moved.

    Example:
        >>> m = ServerMetrics(replica="pod-a")
        >>> m.bytes_moved.labels(direction="upload").inc(10)
        >>> b'opsml_server_info{replica="pod-a"' in m.exposition()
        True

    """

    def __init__(self, replica: str = "", version: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.info = Gauge(
            "opsml_server_info",
            "1 for each replica: its name (the pod) and the server version.",
            ["replica", "version"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.info.labels(replica, version).set(1)
        self.requests = Counter(
            "opsml_http_requests_total",
            "HTTP requests served.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "opsml_http_request_duration_seconds",
            "Time to serve a request (until the response starts for streamed bodies).",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
        )
        self.registrations = Counter(
            "opsml_registrations_total",
            "Cards registered.",
            ["registry"],
            registry=self.registry,
        )
        self.bytes_moved = Counter(
            "opsml_artifact_bytes_total",
            "Artifact bytes received (upload) or sent (download).",
            ["direction"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The Prometheus text of this app: every worker's values summed in multiprocess mode."""
        if os.environ.get(MULTIPROC_ENV):
            summed = CollectorRegistry()
            MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(summed))
        return bytes(generate_latest(self.registry))


class MetricsMiddleware:
    """Pure ASGI middleware: counts, latency and one structured access-log line per request."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and record it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO) and template not in ("/healthz", "/metrics"):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "user": scope.get("state", {}).get("user"),
                        "client": (scope.get("client") or ("", 0))[0],
                    },
                )
