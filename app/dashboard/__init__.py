"""The clinician dashboard: server-rendered pages under /dashboard."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.errors import PAGE_RENDERERS


def install_dashboard(app: FastAPI) -> None:
    from app.dashboard.router import error_page, router
    from app.dashboard.security import DashboardHeadersMiddleware
    from app.dashboard.sessions import PREFIX

    app.include_router(router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="dashboard-static",
    )
    app.add_middleware(DashboardHeadersMiddleware)
    if error_page not in PAGE_RENDERERS:
        PAGE_RENDERERS.append(error_page)
