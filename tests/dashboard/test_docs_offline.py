"""`/docs` and `/redoc` work without internet (issue "The clinician dashboard as a clinician
sees it"): Swagger UI and ReDoc come from this server, in Chromium with every request to
another host refused and recorded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest


@pytest.fixture()
def offline_page(page: Any) -> tuple[Any, list[str]]:
    elsewhere: list[str] = []

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            elsewhere.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    return page, elsewhere


def test_swagger_ui_renders_from_this_server(offline_page, live_server):
    page, elsewhere = offline_page
    r = page.goto(f"{live_server}/docs")
    assert r.status == 200
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 40  # every operation is listed
    assert "KneeTrack API" in page.locator(".info .title").inner_text()
    assert elsewhere == []  # nothing from a CDN (the page fixture fails on console errors)


# ReDoc's sidebar always shows a "docs by Redocly" logo from cdn.redoc.ly; the page's CSP
# blocks it (no request leaves the host) and Chromium reports the block as a console error.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture()
def page(browser: Any) -> Any:
    """As tests/dashboard/conftest.py's `page`, except that the one decorative logo ReDoc
    hard-codes may be blocked; any other console error still fails the test."""
    from tests.dashboard.conftest import watch_console

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    problems = watch_console(pg)
    yield pg
    context.close()
    assert [p for p in problems if REDOCLY_LOGO not in p] == [], problems


def test_redoc_renders_from_this_server(offline_page, live_server):
    page, elsewhere = offline_page
    r = page.goto(f"{live_server}/redoc")
    assert r.status == 200
    page.wait_for_selector("h1:has-text('KneeTrack API')", timeout=30_000)
    page.wait_for_selector("h2:has-text('Sign up as a patient')", timeout=30_000)
    assert page.locator("h2").count() > 40  # every operation has its section
    assert elsewhere == []  # the logo was refused by the CSP before any request
