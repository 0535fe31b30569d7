"""The ASGI application: `app.main:app`."""

from __future__ import annotations

import gc
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from starlette.middleware.cors import CORSMiddleware

from app import __version__
from app.auth.dependencies import get_current_actor
from app.auth.router import router as auth_router
from app.auth.scopes import mark_api_key_scopes
from app.care.audit_router import router as audit_router
from app.care.guards import ACCESS_DEPENDENCIES, exportable_patient
from app.care.router import router as care_router
from app.care.signup_router import router as signup_router
from app.client_address import is_local_operator
from app.config import Settings, get_settings
from app.dashboard.router import error_page
from app.dashboard.router import router as dashboard_router
from app.dashboard.security import DashboardHeadersMiddleware
from app.dashboard.sessions import PREFIX as DASHBOARD_PREFIX
from app.db import DB_MAX_OVERFLOW, get_engine
from app.diary.plan_router import router as plan_router
from app.diary.router import router as diary_router
from app.errors import PAGE_RENDERERS, NotFound, install_error_handlers
from app.exports.router import export_csv, export_fhir
from app.exports.router import router as exports_router
from app.function_tests.router import router as function_tests_router
from app.logging import configure_logging
from app.memory import limit_malloc_arenas
from app.metrics import MetricsMiddleware, metrics_response, worker_exiting
from app.middleware import (
    BatchLimitMiddleware,
    BodySizeLimitMiddleware,
    ConcurrencyLimitMiddleware,
    RequestContextMiddleware,
)
from app.notes.router import router as notes_router
from app.openapi import PROBLEM_RESPONSES, install_openapi
from app.questionnaires.router import router as questionnaire_router
from app.ratelimit import build_rate_limits
from app.routes import iter_api_routes
from app.sync.router import router as sync_router
from app.treatments.router import router as treatments_router
from app.trends.flags_router import router as flags_router
from app.trends.panel_router import router as panel_router
from app.trends.router import router as trends_router
from app.trends.state_worker import StateWorker

__all__ = ["app", "create_app", "iter_api_routes", "operation_id"]

CORS_METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-API-Key",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID"]

TAGS = [
    {"name": "auth", "description": "Sign-up, sign-in, token refresh and sign-out."},
    {"name": "patients", "description": "A patient's profile and account."},
    {"name": "care-team", "description": "Who may see a patient's record."},
    {"name": "clinicians", "description": "A clinician's panel of patients."},
    {"name": "diary", "description": "Daily symptom entries per knee, with history."},
    {
        "name": "exercise",
        "description": "Exercise sessions (backward walking and others) and exercise plans.",
    },
    {
        "name": "treatments",
        "description": "Treatments such as injections or genicular artery embolisation, "
        "with history; the anchor of baseline=treatment.",
    },
    {
        "name": "function-tests",
        "description": "OARSI performance tests and the Timed Up and Go, with history.",
    },
    {"name": "questionnaires", "description": "KOOS-JR, KOOS, PGIC and PASS, scored when stored."},
    {"name": "notes", "description": "Clinical notes: the care team's record about a patient."},
    {"name": "trends", "description": "Trends, clinically important change, flags, adherence."},
    {
        "name": "sync",
        "description": "Offline apps: batch upload and the changes feed for catching up.",
    },
    {"name": "api-keys", "description": "API keys for integrators, with scopes."},
    {"name": "audit", "description": "Who accessed a patient's record."},
    {"name": "exports", "description": "The record as CSV (spreadsheets) or FHIR R4 (clinics)."},
    {"name": "admin", "description": "Administration: clinician accounts, the audit record."},
    {"name": "operations", "description": "Health and readiness probes, Prometheus metrics."},
]


def operation_id(route: APIRoute) -> str:
    """Stable operation ids, `<tag>-<function name>`, for generated clients."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}".replace("_", "-")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    if settings.is_sqlite:
        from app.migrate import upgrade_to_head

        upgrade_to_head()
    build_rate_limits()  # built once here, not raced by the first requests' threads
    _app.state.malloc_arenas_limited = limit_malloc_arenas(settings.malloc_arenas)
    if not settings.is_sqlite:
        # As many request threads as database connections: under overload, requests queue
        # for a thread (no deadline) instead of holding a thread while they wait for a pooled
        # connection, which times out into a 503 although the database is healthy.
        to_thread.current_default_thread_limiter().total_tokens = (
            settings.db_pool_size + DB_MAX_OVERFLOW
        )
    # Objects made at start-up live for the whole process: keep them out of the cyclic GC's
    # generations so that its pauses stay short under load (see PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    worker = None
    if settings.state_interval_seconds > 0:
        worker = StateWorker(get_engine(), settings.state_interval_seconds)
        worker.start()
    yield
    if worker is not None:
        worker.stop()
    get_engine().dispose()
    worker_exiting()


def install_dashboard(app: FastAPI) -> None:
    """The clinician's pages, their static files and their security headers. The API's own
    export endpoints are mounted under the dashboard too, so that the cookie session reaches
    them (the JSON API accepts no cookie): same function, same access policy
    (`ExportablePatient`), same audit record (`export`)."""
    downloads = APIRouter(prefix=DASHBOARD_PREFIX, include_in_schema=False)
    for path, endpoint in (("export.csv", export_csv), ("export.fhir", export_fhir)):
        downloads.add_api_route(f"/patients/{{pid}}/{path}", endpoint, methods=["GET"])
    app.include_router(dashboard_router)
    app.include_router(downloads)
    app.mount(
        f"{DASHBOARD_PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "dashboard" / "static"),
        name="dashboard-static",
    )
    app.add_middleware(DashboardHeadersMiddleware)
    if error_page not in PAGE_RENDERERS:
        PAGE_RENDERERS.append(error_page)


def add_middleware(app: FastAPI, settings: Settings) -> None:
    if not settings.is_sqlite:
        # Never more requests inside than connections, and by default far fewer: see
        # `request_concurrency` in app/config.py.
        limit = min(settings.request_concurrency, settings.db_pool_size + DB_MAX_OVERFLOW)
        app.add_middleware(ConcurrencyLimitMiddleware, limit=limit)
    # Outside the admission limit: a batch waiting for its turn holds no admission slot.
    app.add_middleware(BatchLimitMiddleware, limit=settings.sync_concurrency)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            # Bearer tokens and API keys travel in headers, never in cookies.
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(MetricsMiddleware)


def include_routers(app: FastAPI) -> None:
    for router in (
        signup_router,
        auth_router,
        care_router,
        panel_router,
        flags_router,
        diary_router,
        plan_router,
        treatments_router,
        function_tests_router,
        questionnaire_router,
        notes_router,
        trends_router,
        audit_router,
        sync_router,
        exports_router,
    ):
        app.include_router(router)
    install_dashboard(app)
    mark_api_key_scopes(
        iter_api_routes(app.routes),
        authenticated=(get_current_actor, *ACCESS_DEPENDENCIES),
        export=exportable_patient,
    )


def add_operations_routes(app: FastAPI) -> None:
    """Health and readiness probes, and the Prometheus metrics for operators."""

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:  # on the event loop: answers while threads wait
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database is reachable",
        responses={503: PROBLEM_RESPONSES[503]},
    )
    def readyz() -> dict[str, str]:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ready"}

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics: requests by route template, latency, in flight",
        description="For operators: answers a scraper holding `KNEETRACK_METRICS_TOKEN` "
        "(`Authorization: Bearer …`) or an unforwarded request from the host itself; anyone "
        "else gets 404.",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            404: PROBLEM_RESPONSES[404],
        },
    )
    def metrics(request: Request) -> Response:
        token = get_settings().metrics_token
        given = request.headers.get("authorization", "")
        if not (
            (token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()))
            or is_local_operator(request)
        ):
            raise NotFound("Not found")
        return metrics_response()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # /docs and /redoc serve Swagger UI and ReDoc from the installed package (fastapi-offline):
    # nothing is fetched from a CDN, so they work in an air-gapped clinic network.
    app = FastAPIOffline(
        title="KneeTrack API",
        version=__version__,
        summary="Track knee osteoarthritis: daily symptoms per knee, exercise, and trends that "
        "tell whether a patient is improving by a clinically important amount.",
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        # No call to the public validator service from the docs page.
        swagger_ui_parameters={"validatorUrl": None},
    )
    install_error_handlers(app)
    install_openapi(app)
    add_middleware(app, settings)
    include_routers(app)
    add_operations_routes(app)
    return app


app = create_app()
