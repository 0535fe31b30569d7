"""The dashboard in a real headless Chromium (Debian's), against a live uvicorn on loopback."""

from __future__ import annotations

import re
import uuid

from tests.dashboard.conftest import DOCS, assert_styled, sign_in


def test_clinician_journey(page, live_server, demo, backend):
    base = live_server
    sign_in(page, base, demo.clinician_email, demo.password)

    rows = page.locator("#panel tbody tr")
    # Concern order: Maria's fall (urgent), John's flare (warnings), then by the 28-day change
    # in pain: Nora's and Ruth's (both falling), then Aiko's (unknown: she stopped).
    assert rows.locator("th a").all_inner_texts() == [
        "Maria Improving", "John Flaring", "Nora Easing", "Ruth Embolised", "Aiko Quiet"]
    assert_styled(page)
    assert "URGENT" in rows.nth(0).locator(".badge-urgent").inner_text().upper()
    assert rows.nth(1).locator(".badge-warning").count() >= 1
    if backend == "sqlite":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "dashboard-panel.png"), full_page=True)

    page.get_by_role("link", name="Maria Improving").click()
    page.wait_for_url(re.compile(r"/dashboard/patients/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Maria Improving"
    assert_styled(page)

    page.get_by_role("navigation", name="Period").get_by_role("link", name="4 weeks").click()
    page.wait_for_url(re.compile(r"period=4w"))
    current = page.get_by_role("navigation", name="Period").locator("[aria-current=page]")
    assert current.inner_text().strip().endswith("4 weeks")
    fall = page.locator("#chart-pain [data-marker=Fall]")
    assert fall.count() == 1 and fall.is_visible()
    assert "Fall" in fall.text_content()
    assert page.locator("#falls").inner_text().startswith("Falls in this period: Fall on")
    assert "Urgent" in page.get_by_role("region", name="Urgent").inner_text()
    if backend == "sqlite":
        page.screenshot(path=str(DOCS / "dashboard-patient.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard/sign-in"))
    assert page.get_by_role("status").inner_text() == "You have signed out."
    page.goto(f"{base}/dashboard")
    assert "/dashboard/sign-in" in page.url


def test_another_clinicians_patient_is_a_404_page(
    signed_in_page, live_server, make_patient, make_clinician, link
):
    page = signed_in_page
    other_patient = make_patient()
    link(other_patient, make_clinician())
    for pid in (other_patient.id, str(uuid.uuid4()), "me"):
        response = page.goto(f"{live_server}/dashboard/patients/{pid}")
        assert response.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"
        assert "Test Patient" not in page.content()


def test_session_cookie_is_secure_httponly_strict_and_hidden_from_scripts(
    page, live_server, demo
):
    sign_in(page, live_server, demo.clinician_email, demo.password)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-kneetrack_session"]
    assert session["httpOnly"] is True
    assert session["secure"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/"
    assert demo.clinician_email.split("@")[0] not in session["value"]
    assert page.evaluate("document.cookie") == ""


def test_forged_form_posts_do_not_sign_out(signed_in_page, live_server):
    page, base = signed_in_page, live_server
    # Same browser, wrong token (as a script on another tab could try): refused.
    r = page.context.request.post(f"{base}/dashboard/sign-out", form={"csrf_token": "forged"},
                                  headers={"Accept": "text/html"})
    assert r.status == 403
    # A cross-site page posting a form: the browser withholds the Strict cookie and names the
    # site, so the post carries no session and changes nothing.
    forger = page.context.new_page()
    forger.set_content(
        f'<form method="post" action="{base}/dashboard/sign-out">'
        '<input name="csrf_token" value="x"><button>go</button></form>'
    )
    forger.get_by_role("button").click()
    forger.wait_for_load_state()
    assert "/dashboard/sign-in" in forger.url
    page.goto(f"{base}/dashboard")
    assert page.url == f"{base}/dashboard"
    assert page.get_by_role("heading", level=1).inner_text() == "Your patients"


def test_keyboard_and_tablet_width(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server}/dashboard")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    page.get_by_role("link", name="John Flaring").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/patients/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
