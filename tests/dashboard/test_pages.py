"""The dashboard over HTTP (no browser): sign-in, sessions, CSRF, access and headers."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from app.dashboard.security import CSP as DASHBOARD_CSP
from tests.conftest import PASSWORD

HTML = {"Accept": "text/html"}
SESSION = "__Host-kneetrack_session"


@pytest.fixture()
def browserish(app):
    """A cookie-keeping client on https (the session cookie is Secure)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False,
                    follow_redirects=False) as c:
        yield c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', html).group(1)


def sign_in(c: TestClient, email: str, password: str = PASSWORD):
    form = c.get("/dashboard/sign-in", headers=HTML)
    assert form.status_code == 200
    return c.post("/dashboard/sign-in", headers=HTML,
                  data={"email": email, "password": password, "csrf_token": _csrf(form.text)})


def test_signed_out_browser_is_sent_to_sign_in_and_api_clients_get_401(browserish):
    r = browserish.get("/dashboard/patients/x", headers=HTML)
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/sign-in?next=/dashboard/patients/x"
    r = browserish.get("/dashboard")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_sign_in_sets_a_secure_httponly_strict_host_cookie(browserish, make_clinician):
    r = sign_in(browserish, make_clinician().email)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith(SESSION))
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= attrs
    assert not any(a.startswith("domain") for a in attrs)
    # The pre-sign-in CSRF cookie is deleted with the attributes a browser requires of a
    # `__Host-` name (without `Secure` the deletion is ignored and the cookie lingers).
    deleted = next(v for v in r.headers.get_list("set-cookie")
                   if v.startswith("__Host-kneetrack_csrf="))
    attrs = {a.strip().lower() for a in deleted.split(";")[1:]}
    assert {"secure", "path=/", "max-age=0"} <= attrs, deleted
    assert browserish.get("/dashboard", headers=HTML).status_code == 200


def test_wrong_password_and_non_clinicians_are_refused(browserish, make_patient, admin,
                                                       make_clinician):
    r = sign_in(browserish, make_clinician().email, "not-the-password")
    assert r.status_code == 401 and "Incorrect email or password." in r.text
    for account in (make_patient(), admin):
        r = sign_in(browserish, account.email)
        assert r.status_code == 401 and "The dashboard is for clinicians." in r.text
        assert SESSION not in browserish.cookies


def test_sign_in_form_without_its_csrf_token_is_refused(browserish, make_clinician):
    clinician = make_clinician()
    browserish.get("/dashboard/sign-in", headers=HTML)
    for token in ("", "forged"):
        r = browserish.post("/dashboard/sign-in", headers=HTML,
                            data={"email": clinician.email, "password": PASSWORD,
                                  "csrf_token": token})
        assert r.status_code == 403
        assert SESSION not in browserish.cookies


def test_cross_site_post_is_refused_even_with_the_token(browserish, make_clinician):
    clinician = make_clinician()
    form = browserish.get("/dashboard/sign-in", headers=HTML)
    r = browserish.post("/dashboard/sign-in", headers={**HTML, "Sec-Fetch-Site": "cross-site"},
                        data={"email": clinician.email, "password": PASSWORD,
                              "csrf_token": _csrf(form.text)})
    assert r.status_code == 403


def test_sign_out_needs_the_session_token_and_ends_the_session(browserish, make_clinician):
    sign_in(browserish, make_clinician().email)
    page = browserish.get("/dashboard", headers=HTML)
    stolen = browserish.cookies[SESSION]
    r = browserish.post("/dashboard/sign-out", headers=HTML, data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert browserish.get("/dashboard", headers=HTML).status_code == 200
    r = browserish.post("/dashboard/sign-out", headers=HTML,
                        data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 303
    # The old cookie, replayed, no longer opens anything: the session was revoked server-side.
    browserish.cookies.set(SESSION, stolen, domain="testserver.local")
    assert browserish.get("/dashboard", headers=HTML).status_code == 303


def test_a_tampered_cookie_is_no_session(browserish, make_clinician, make_patient, link):
    clinician = make_clinician()
    sign_in(browserish, clinician.email)
    family, _user, signature = browserish.cookies[SESSION].split(".")
    other = make_clinician()
    browserish.cookies.set(SESSION, f"{family}.{other.id}.{signature}", domain="testserver.local")
    assert browserish.get("/dashboard", headers=HTML).status_code == 303


def test_the_cookie_does_not_authenticate_the_json_api(browserish, make_clinician):
    sign_in(browserish, make_clinician().email)
    assert browserish.get("/v1/clinicians/me/patients").status_code == 401


def test_only_the_clinicians_own_patients(browserish, make_clinician, make_patient, link, client):
    me, other = make_clinician(), make_clinician()
    mine, theirs = make_patient(), make_patient()
    client.patch("/v1/patients/me", headers=mine.headers, json={"display_name": "Mine Patient"})
    client.patch("/v1/patients/me", headers=theirs.headers, json={"display_name": "Not Mine"})
    link(mine, me)
    link(theirs, other)
    sign_in(browserish, me.email)
    panel = browserish.get("/dashboard", headers=HTML).text
    assert "Mine Patient" in panel and "Not Mine" not in panel
    assert browserish.get(f"/dashboard/patients/{mine.id}", headers=HTML).status_code == 200
    for pid in (theirs.id, str(uuid.uuid4()), "me", "not-a-uuid"):
        r = browserish.get(f"/dashboard/patients/{pid}", headers=HTML)
        assert r.status_code == 404, pid
        assert "Not Mine" not in r.text
    # Revocation takes effect on the next request.
    client.delete(f"/v1/patients/{mine.id}/care-team/{me.id}", headers=mine.headers)
    assert browserish.get(f"/dashboard/patients/{mine.id}", headers=HTML).status_code == 404


def test_next_never_leaves_the_dashboard(browserish, make_clinician):
    clinician = make_clinician()
    for target in ("https://evil.example/", "//evil.example/dashboard", "/v1/patients/me",
                   "/dashboard//evil.example"):
        browserish.cookies.clear()
        form = browserish.get("/dashboard/sign-in", params={"next": target}, headers=HTML)
        r = browserish.post("/dashboard/sign-in", headers=HTML,
                            data={"email": clinician.email, "password": PASSWORD,
                                  "csrf_token": _csrf(form.text), "next": target})
        assert r.headers["location"] == "/dashboard", target


def test_dashboard_pages_carry_a_strict_csp(browserish, make_clinician, client):
    sign_in(browserish, make_clinician().email)
    for path, status in (("/dashboard", 200), ("/dashboard/sign-in", 303),
                         (f"/dashboard/patients/{uuid.uuid4()}", 404),
                         ("/dashboard/static/dashboard.css", 200)):
        r = browserish.get(path, headers=HTML)
        assert r.status_code == status, path
        # A browser enforces every policy it receives: exactly one, the pages' own.
        policies = r.headers.get_list("content-security-policy")
        assert policies == [DASHBOARD_CSP], (path, policies)
        assert "default-src 'none'" in policies[0] and "frame-ancestors 'none'" in policies[0]
        assert "script-src" not in policies[0] and "unsafe" not in policies[0]
        assert "style-src 'self'" in policies[0] and "http" not in policies[0]
        for header in ("cross-origin-resource-policy", "x-content-type-options"):
            assert len(r.headers.get_list(header)) == 1, (path, header)
    # The API keeps its own policy (JSON only: nothing may load), not the pages' one.
    assert client.get("/healthz").headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"period": "7y"}, "Unknown period '7y'"),
        ({"knee": "middle"}, "Unknown knee 'middle'"),
        ({"from": "2026-05-01", "to": "2026-01-01"}, "is before its start"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "it may span at most 1099 days"),
        ({"from": "2026-01-01"}, "needs both 'from' and 'to'"),
        ({"period": "custom"}, "needs both 'from' and 'to'"),
        ({"from": "01/02/2026", "to": "2026-03-01"}, "'from' must be a date written as"),
        ({"from": "1800-01-01", "to": "1800-02-01"}, "'from' must be between 1900-01-01"),
        ({"period": "x" * 300}, "Unknown period 'xxxxxxxxxxxxxxxxxxxx'"),
        ({"knee": "left" * 50}, "Unknown knee 'leftleftleftleftleft'"),
        ({"from": "2026-01-01" * 5, "to": "2026-02-01"}, "'from' must be a date written as"),
    ],
)
def test_a_view_the_page_cannot_show_is_a_400_page_saying_why(
    browserish, make_clinician, make_patient, link, query, words
):
    me, patient = make_clinician(), make_patient()
    link(patient, me)
    sign_in(browserish, me.email)
    for page in ("", "/summary"):
        r = browserish.get(f"/dashboard/patients/{patient.id}{page}", params=query, headers=HTML)
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert "<h1>Check the address</h1>" in r.text and words in html.unescape(r.text), r.text
        assert "Traceback" not in r.text


def test_a_custom_range_shows_those_dates_with_years_on_a_long_axis(
    browserish, make_clinician, make_patient, link
):
    me, patient = make_clinician(), make_patient()
    link(patient, me)
    sign_in(browserish, me.email)
    r = browserish.get(f"/dashboard/patients/{patient.id}", headers=HTML,
                       params={"from": "2025-11-15", "to": "2026-02-20", "knee": "right"})
    assert r.status_code == 200
    assert "<dd>15 Nov 2025 to 20 Feb 2026 (98 days); judged by the right knee</dd>" in r.text
    assert 'value="2025-11-15"' in r.text and 'value="2026-02-20"' in r.text
    # The period links leave the custom range; the knee links keep it.
    assert "?period=4w&amp;knee=right" in r.text
    assert "?period=custom&amp;knee=left&amp;from=2025-11-15&amp;to=2026-02-20" in r.text


def test_a_patient_bearer_token_does_not_open_the_dashboard(client, make_patient):
    patient = make_patient()
    r = client.get(f"/dashboard/patients/{patient.id}", headers=patient.headers)
    assert r.status_code == 403


def test_patient_text_is_escaped(browserish, make_clinician, make_patient, link, client):
    me, patient = make_clinician(), make_patient()
    client.patch("/v1/patients/me", headers=patient.headers,
                 json={"display_name": '<script>alert(1)</script>"x'})
    link(patient, me)
    sign_in(browserish, me.email)
    for path in ("/dashboard", f"/dashboard/patients/{patient.id}"):
        html = browserish.get(path, headers=HTML).text
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_patient_page_follows_the_knee_and_period_and_marks_falls(
    browserish, make_clinician, make_patient, link, client, settle
):
    import datetime as dt

    me, patient = make_clinician(), make_patient(tz="UTC")
    link(patient, me)
    today = dt.datetime.now(dt.UTC).date()
    for n in range(1, 11):
        day = today - dt.timedelta(days=n)
        r = client.put(f"/v1/patients/me/symptom-entries/{day}", headers=patient.headers,
                       json={"knees": {"left": {"pain": 8}, "right": {"pain": 2}}})
        assert r.status_code == 201, r.text
    fall_day = today - dt.timedelta(days=3)
    r = client.post("/v1/patients/me/exercise-sessions", headers=patient.headers,
                    json={"activity": "backward_walking", "duration_minutes": 15, "falls": 1,
                          "started_at": f"{fall_day}T10:00:00+00:00"})
    assert r.status_code == 201, r.text
    settle()  # the state worker's pass: the fall's episode is stored
    sign_in(browserish, me.email)
    url = f"/dashboard/patients/{patient.id}"
    left = browserish.get(url, params={"knee": "left", "period": "4w"}, headers=HTML).text
    right = browserish.get(url, params={"knee": "right", "period": "4w"}, headers=HTML).text
    assert "Left knee: Baseline 8 (7 days from" in left
    assert "Right knee: Baseline 2 (7 days from" in right
    assert re.search(r'aria-current="page">4 weeks<', left)
    assert re.search(r'aria-current="page">Left knee<', left)
    for text in (left, right):
        assert 'id="urgent-heading"' in text
        # Pain and exercise (no stiffness or swelling was recorded, so those draw no chart).
        assert text.count('data-marker="Fall"') == 2
        assert f"<strong>Fall on {fall_day:%-d %b %Y} during backward walking" in text
        # Both knees on the pain chart, whichever knee the page judges by.
        assert "left knee: 7-day mean" in text and "right knee: 7-day mean" in text
        # No index knee: neither is emphasised, but they are drawn apart (solid, dashed).
        assert 'class="line mean index"' in text and 'class="line mean other"' in text
    year = browserish.get(url, params={"period": "1y"}, headers=HTML).text
    start = today - dt.timedelta(days=364)
    assert f"<dd>{start.day} {start:%b %Y} to" in year


def test_dashboard_reads_are_in_the_patients_access_log(browserish, make_clinician, make_patient,
                                                         link, client):
    me, patient = make_clinician(), make_patient()
    link(patient, me)
    sign_in(browserish, me.email)
    assert browserish.get("/dashboard", headers=HTML).status_code == 200
    assert browserish.get(f"/dashboard/patients/{patient.id}", headers=HTML).status_code == 200
    log = client.get("/v1/patients/me/access-log", headers=patient.headers).json()["items"]
    mine = {(e["resource"], e["action"], e["outcome"]) for e in log if e["actor_id"] == me.id}
    assert ("GET /dashboard", "read", "allowed") in mine
    assert ("GET /dashboard/patients/{pid}", "read", "allowed") in mine


def test_dashboard_sign_in_shares_the_token_endpoints_rate_limit(browserish, make_clinician,
                                                                 app):
    from limits.storage import MemoryStorage

    from app.ratelimit import RateLimits, get_rate_limits

    clinician = make_clinician()
    # The suite runs with generous budgets (tests/conftest.py); this test installs the
    # production default for sign-in per account.
    limits = RateLimits(MemoryStorage(), {"principal": "100000/minute",
                                          "token_ip": "100000/minute",
                                          "token_account": "10/minute"})
    app.dependency_overrides[get_rate_limits] = lambda: limits
    form = browserish.get("/dashboard/sign-in", headers=HTML)
    token = _csrf(form.text)
    statuses = []
    for _ in range(12):
        r = browserish.post("/dashboard/sign-in", headers=HTML, data={
            "email": clinician.email, "password": "wrong-password", "csrf_token": token})
        statuses.append(r.status_code)
    app.dependency_overrides.pop(get_rate_limits, None)
    assert statuses[0] == 401 and statuses[-1] == 429
    assert "Too many attempts" in r.text and int(r.headers["retry-after"]) >= 1


def test_downloads_use_the_api_exports_with_the_cookie(browserish, make_clinician, make_patient,
                                                       link, client):
    import datetime as dt

    me, patient, other = make_clinician(), make_patient(tz="UTC"), make_clinician()
    link(patient, me)
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    client.put(f"/v1/patients/me/symptom-entries/{day}", headers=patient.headers,
               json={"knees": {"left": {"pain": 4}}})
    sign_in(browserish, me.email)
    page = browserish.get(f"/dashboard/patients/{patient.id}?period=4w", headers=HTML).text
    links = re.findall(r'href="([^"]*/export\.[^"]*)"', page)
    assert len(links) == 3
    for href in links:
        r = browserish.get(href.replace("&amp;", "&"))
        assert r.status_code == 200, href
        assert r.headers["content-disposition"].startswith("attachment")
    csv = browserish.get(links[0].replace("&amp;", "&")).text
    assert csv.splitlines()[0].startswith("date") and day.isoformat() in csv
    log = client.get("/v1/patients/me/access-log", headers=patient.headers).json()["items"]
    assert ("GET /dashboard/patients/{pid}/export.csv", "export") in {
        (e["resource"], e["action"]) for e in log if e["actor_id"] == me.id}
    browserish.cookies.clear()
    sign_in(browserish, other.email)
    r = browserish.get(f"/dashboard/patients/{patient.id}/export.csv?kind=symptoms",
                       headers=HTML)
    assert r.status_code == 404


def _fall(client, patient, day):
    r = client.post("/v1/patients/me/exercise-sessions", headers=patient.headers,
                    json={"activity": "backward_walking", "duration_minutes": 15, "falls": 1,
                          "setting": "outdoor", "supervised": False,
                          "started_at": f"{day}T10:00:00+00:00"})
    assert r.status_code == 201, r.text


def test_a_flag_is_reviewed_from_the_page_with_a_note(
    browserish, make_clinician, make_patient, link, client, settle
):
    import datetime as dt

    me, other, patient = make_clinician(), make_clinician(), make_patient(tz="UTC")
    link(patient, me)
    link(make_patient(), other)
    _fall(client, patient, dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2))
    settle()
    sign_in(browserish, me.email)
    url = f"/dashboard/patients/{patient.id}"
    page = browserish.get(url, params={"period": "4w", "knee": "right"}, headers=HTML).text
    assert "Fall (outdoor, unsupervised)" in page
    action = re.search(r'action="(/dashboard/patients/[^"]*/flags/([^"/]*)/review)"', page)
    form = {"csrf_token": _csrf(page), "note": "  Phoned: no injury.  ",
            "view": "period=4w&knee=right&evil=https://x.example"}
    for bad, status in (({"note": " "}, 400), ({"csrf_token": "forged"}, 403)):
        r = browserish.post(action.group(1), headers=HTML, data={**form, **bad})
        assert r.status_code == status, r.text
    r = browserish.post(action.group(1).replace(action.group(2), str(uuid.uuid4())),
                        headers=HTML, data=form)
    assert r.status_code == 404
    r = browserish.post(action.group(1), headers=HTML, data=form)
    assert r.status_code == 303
    assert r.headers["location"] == f"{url}?period=4w&knee=right#flag-{action.group(2)}"
    flags = client.get(f"/v1/patients/{patient.id}/flags", headers=me.headers).json()["items"]
    fall = next(f for f in flags if f["id"] == action.group(2))
    assert fall["status"] == "reviewed" and fall["review_note"] == "Phoned: no injury."
    assert fall["reviewed_by"] == me.id
    page = browserish.get(url, params={"period": "4w"}, headers=HTML).text
    assert "Reviewed" in page and "Phoned: no injury." in page
    assert 'id="urgent-heading"' not in page
    log = client.get("/v1/patients/me/access-log", headers=patient.headers).json()["items"]
    assert ("POST /dashboard/patients/{pid}/flags/{flag_id}/review", "write", "allowed") in {
        (e["resource"], e["action"], e["outcome"]) for e in log if e["actor_id"] == me.id}
    # A clinician who is not on the care team: the same 404 as the API's.
    browserish.cookies.clear()
    sign_in(browserish, other.email)
    r = browserish.post(action.group(1), headers=HTML,
                        data={**form, "csrf_token": _csrf(browserish.get(
                            "/dashboard", headers=HTML).text)})
    assert r.status_code == 404


def test_clinical_notes_are_written_and_read_on_the_page(
    browserish, make_clinician, make_patient, link, client
):
    me, patient = make_clinician(), make_patient()
    link(patient, me)
    sign_in(browserish, me.email)
    url = f"/dashboard/patients/{patient.id}"
    page = browserish.get(url, headers=HTML).text
    assert "No notes yet." in page
    data = {"csrf_token": _csrf(page), "text": "Knee <b>better</b>; keep walking.",
            "topic": "review", "view": "period=1y"}
    r = browserish.post(f"{url}/notes", headers=HTML, data=data)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?period=1y#notes"
    assert browserish.post(f"{url}/notes", headers=HTML,
                           data={**data, "text": ""}).status_code == 400
    assert browserish.post(f"{url}/notes", headers=HTML,
                           data={**data, "text": "x" * 4001}).status_code == 400
    # The patient reads it through the API, written by this clinician.
    notes = client.get("/v1/patients/me/notes", headers=patient.headers).json()["items"]
    assert [(n["text"], n["topic"], n["clinician_id"]) for n in notes] == [
        ("Knee <b>better</b>; keep walking.", "review", me.id)]
    page = browserish.get(url, headers=HTML).text
    assert "Knee &lt;b&gt;better&lt;/b&gt;; keep walking." in page
