"""Prometheus metrics at `GET /metrics` (prometheus_client).

Requests are labelled by the *route template* (`/v1/patients/{pid}/trends/{metric}`), never
by the raw path: a raw path would carry patient ids and dates, and would give every patient a
time series of their own. Requests that match no route share the label `<unmatched>`.

Several worker processes (`kneetrack serve --workers N`) each count their own requests; to
report their sum, set `PROMETHEUS_MULTIPROC_DIR` to a writable, empty directory before the
server starts (prometheus_client's multiprocess mode). `kneetrack serve` empties it on start.
Without it, each scrape sees one worker's counts only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from app.middleware import HTTPMiddleware

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"

REQUESTS = Counter(
    "kneetrack_http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "kneetrack_http_request_duration_seconds",
    "Time to answer an HTTP request (until the last body byte), by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SINGLE_HOP = Counter(
    "kneetrack_single_hop_puts_total",
    "PUTs that tried the single-hop path (app/care/single_hop.py), by route template and "
    "outcome: served there, or deferred to the general path",
    ["route", "outcome"],
)
IN_FLIGHT = Gauge(
    "kneetrack_http_requests_in_flight",
    "HTTP requests being answered now, by method (the route is known only once routed)",
    ["method"],
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir() -> None:
    """Called once by the parent before workers start: stale files from an earlier run would
    add their counts to this one's."""
    path = multiprocess_dir()
    if path is None:
        return
    Path(path).mkdir(parents=True, exist_ok=True)
    for f in Path(path).glob("*.db"):
        f.unlink()


def worker_exiting() -> None:
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def metrics_response() -> Response:
    registry = REGISTRY
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware(HTTPMiddleware):
    """Counts and times every HTTP request under its route template."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_flight = IN_FLIGHT.labels(method)
        in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            in_flight.dec()
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - start)
