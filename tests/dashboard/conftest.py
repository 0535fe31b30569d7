"""End-to-end fixtures: the app under a real uvicorn on a free loopback port, against the test
database, driven by Debian's Chromium through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import uvicorn_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The same password as the other tests that load the demo into this database.
DEMO_PASSWORD = "demo-password-1"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(app: Any, database_url: str) -> Iterator[str]:
    """The app under a real uvicorn process on a free loopback port, on the test database."""
    with uvicorn_server({**os.environ, "DATABASE_URL": database_url}) as base:
        yield base


@dataclass
class Demo:
    clinician_email: str
    password: str
    patients: dict[str, str]  # display name -> patient id


@pytest.fixture(scope="session")
def demo(client: Any) -> Demo:
    """`kneetrack demo`'s data set, loaded into the test database once per backend."""
    from sqlalchemy import select, update
    from sqlmodel import Session, col

    from app.auth.models import User
    from app.auth.security import hash_password
    from app.db import get_engine
    from app.demo import CLINICIAN_EMAIL, load_demo

    list(load_demo(password=DEMO_PASSWORD))
    with Session(get_engine()) as s:
        # Another test may have loaded the demo first, with its own password.
        s.execute(
            update(User)
            .where(col(User.email) == CLINICIAN_EMAIL)
            .values(password_hash=hash_password(DEMO_PASSWORD))
        )
        s.commit()
        rows = s.execute(
            select(col(User.display_name), col(User.id)).where(
                col(User.email).like("%@demo.kneetrack.dev"), col(User.role) == "patient"
            )
        ).all()
    return Demo(CLINICIAN_EMAIL, DEMO_PASSWORD, {name: str(uid) for name, uid in rows})


def watch_console(pg: Any) -> list[str]:
    """Every console error and uncaught page error, as the browser reports them. Chromium logs a
    Content-Security-Policy violation (a blocked stylesheet, image or favicon) as a console
    error, so a page that a policy breaks fails here even when its DOM is right."""
    problems: list[str] = []
    documents: set[str] = set()

    def on_response(response: Any) -> None:
        if response.request.resource_type == "document":
            documents.add(response.url)
        elif response.status >= 400:
            problems.append(f"{response.status} for {response.url}")

    def on_console(message: Any) -> None:
        # A page served with an error status (a 404 page) is logged as a failed load of the
        # document itself: that status is what the test asked for, not a broken asset.
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") in documents
        ):
            return
        problems.append(message.text)

    pg.on("response", on_response)
    pg.on("console", on_console)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def assert_styled(pg: Any) -> None:
    """Every stylesheet the page links loaded and applies rules: a blocked sheet has none."""
    sheets = pg.evaluate(
        "() => Array.from(document.styleSheets, s => {"
        " try { return [s.href, s.cssRules.length]; } catch (e) { return [s.href, -1]; } })"
    )
    assert sheets, "the page links no stylesheet"
    for href, rules in sheets:
        assert rules > 0, f"stylesheet {href} applies no rules"
    font = pg.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert "Times" not in font, font


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    problems = watch_console(pg)
    yield pg
    context.close()
    assert problems == [], problems


@pytest.fixture(scope="session")
def clinician_state(browser: Any, live_server: str, demo: Demo) -> dict[str, Any]:
    """The demo clinician signed in once per database (sign-in is rate limited per account,
    10 a minute by default): the browser's cookies, for tests that do not sign out."""
    context = browser.new_context()
    sign_in(context.new_page(), live_server, demo.clinician_email, demo.password)
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


@pytest.fixture()
def signed_in_page(browser: Any, clinician_state: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  storage_state=clinician_state)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    problems = watch_console(pg)
    yield pg
    context.close()
    assert problems == [], problems


def sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/dashboard")
    assert "/dashboard/sign-in" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/dashboard")
