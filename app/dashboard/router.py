"""The clinician dashboard's pages (HTML over HTTP only; the data comes from dashboard.service).

Patients are loaded through `ReadablePatient`, the API's own access dependency, so the
dashboard shows exactly the patients the API would, and answers 404 for every other one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.dependencies import ClinicianActor, CurrentActor, remembered_actor
from app.care.guards import CareTeamPatient, ReadablePatient
from app.client_address import client_address
from app.clinical import threshold
from app.clock import Now
from app.dashboard import charts, patient_page, record_views, service, sessions
from app.dashboard import period as period_mod
from app.dashboard.sessions import PREFIX
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.notes import service as notes_service
from app.notes.models import NOTE_MAX_CHARS, TOPIC_MAX_CHARS
from app.notes.schemas import ClinicalNoteIn
from app.ratelimit import RateLimitsDep
from app.trends import flag_review

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(
    prefix=PREFIX,
    fmt=charts.fmt,
    periods=period_mod.PERIODS,
    knees=period_mod.KNEES,
    koos_labels=[label for label, _ in record_views.KOOS_SUBSCALES.values()],
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)
REVIEW_NOTE_MAX = 2000  # as `FlagReviewIn.note`

TITLES = {
    400: "Check the address",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    422: "Invalid address",
    429: "Too many attempts",
}
MESSAGES = {
    404: "There is no such page, or no such patient on your panel.",
}


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    actor = remembered_actor(request)
    signed_in = sessions.signed_in_here(request, actor)
    base = {
        "actor": actor if signed_in else None,
        "csrf": sessions.session_csrf_token(actor) if signed_in and actor else "",
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def error_page(
    request: Request, status: int, detail: str | None, headers: dict[str, str]
) -> Response | None:
    """Errors on dashboard paths, for a browser: a page (or the sign-in form) not JSON."""
    if not sessions.is_dashboard_path(request.url.path) or not _wants_html(request):
        return None
    if status == 401:
        target = request.url.path if request.method == "GET" else PREFIX
        return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target)}", status_code=303)
    message = MESSAGES.get(status) or detail or "Something went wrong."
    page = render(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )
    if "Retry-After" in headers:
        page.headers["Retry-After"] = headers["Retry-After"]
    return page


def _safe_next(target: str | None) -> str:
    # Only a path inside the dashboard: never an open redirect to another site.
    if target and sessions.is_dashboard_path(target) and "//" not in target and "\\" not in target:
        return target
    return PREFIX


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if sessions.actor_from_cookie(request, session) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = sessions.presession_csrf_token(request)
    response = render(request, "sign_in.html", {"csrf": token, "next": _safe_next(next)})
    sessions.remember_presession_token(response, token)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    limits: RateLimitsDep,
    now: Now,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = PREFIX,
) -> Response:
    expected = request.cookies.get(sessions.presession_cookie_name())
    if not sessions.same_origin(request) or not sessions.csrf_valid(expected, csrf_token):
        raise Forbidden("The form has expired or did not come from this site. Please try again.")
    # The same budgets as `POST /v1/auth/token`: per address and per account, counted before
    # the password is checked.
    limits.hit("token_ip", client_address(request).effective)
    limits.hit("token_account", auth_service.normalise_email(email))
    error = None
    try:
        user = auth_service.authenticate(session, email=email, password=password)
    except Unauthorized:
        error = "Incorrect email or password."
    else:
        if user.role != "clinician":
            error = "The dashboard is for clinicians."
    if error is not None:
        return render(
            request,
            "sign_in.html",
            {"csrf": expected, "next": _safe_next(next), "error": error, "email": email},
            status_code=401,
        )
    family_id = auth_service.open_server_session(session, user=user, now=now)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    sessions.set_session_cookie(redirect, family_id, user.id)
    return redirect


@router.post("/sign-out")
def sign_out(
    request: Request,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    _check_form(request, actor, csrf_token, "Sign out from the page you signed in on.")
    assert actor.session_id is not None  # _check_form refuses a call without a session
    auth_service.revoke_family(session, actor.session_id, now)
    response = RedirectResponse(f"{PREFIX}/sign-in?signed_out=1", status_code=303)
    sessions.clear_session_cookie(response)
    return response


@router.get("", response_class=HTMLResponse)
def panel(request: Request, actor: ClinicianActor, session: SessionDep, now: Now) -> Response:
    rows = service.panel(session, actor, now=now)
    audit.record_reads(session, request, actor, [r.patient_id for r in rows])
    important = (
        f"{charts.fmt(threshold('pain_mcid'))} points or "
        f"{charts.fmt(threshold('pain_mcid_percent'))} %"
    )
    return render(request, "panel.html", {"rows": rows, "important_change": important})


def _check_form(
    request: Request,
    actor: Any,
    csrf_token: str,
    elsewhere: str = "Post this form from the dashboard you signed in on.",
) -> None:
    """A state-changing form: from this signed-in dashboard, with its CSRF token, same-site."""
    if not sessions.signed_in_here(request, actor) or actor.session_id is None:
        raise Forbidden(elsewhere)
    expected = sessions.session_csrf_token(actor)
    if not sessions.same_origin(request) or not sessions.csrf_valid(expected, csrf_token):
        raise Forbidden("The form has expired or did not come from this site. Please try again.")


def _text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise period_mod.BadView(f"The {what} is empty: write what was done or decided.")
    if len(text) > limit or "\x00" in text:
        raise period_mod.BadView(f"The {what} may hold at most {limit} characters.")
    return text


def _back(patient_id: uuid.UUID, view: str, anchor: str) -> str:
    # Only our own query keys go back into the address (never an open redirect).
    query = urlencode([(k, v) for k, v in parse_qsl(view) if k in ("period", "knee", "from", "to")])
    return f"{PREFIX}/patients/{patient_id}?{query}#{anchor}"


# Any length: a value the page cannot show is the 400 page naming it (period.py quotes at most
# 20 characters of it), never the generic 422.
ViewQuery = Annotated[str | None, Query()]


def view_window(
    patient: ReadablePatient,
    now: Now,
    period: ViewQuery = None,
    knee: ViewQuery = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: ViewQuery = None,
) -> period_mod.Window:
    """The period and knee a patient's page shows (a 400 page for a view it cannot show)."""
    return period_mod.parse_window(
        patient, now, period=period, knee=knee, date_from=from_, date_to=to
    )


ViewWindow = Annotated[period_mod.Window, Depends(view_window)]


@router.get("/patients/{pid}", response_class=HTMLResponse)
@router.get("/patients/{pid}/summary", response_class=HTMLResponse)
def patient(
    request: Request,
    patient: ReadablePatient,
    actor: ClinicianActor,
    session: SessionDep,
    now: Now,
    w: ViewWindow,
) -> Response:
    """A patient's page, or (`…/summary`) the printable visit summary of the same view: one
    patient, the chosen period, on two A4 pages at most."""
    page = patient_page.patient_page(session, actor, patient, now=now, w=w)
    if request.url.path.endswith("/summary"):
        return render(request, "summary.html", {"page": page, "printed": now})
    return render(request, "patient.html", {"page": page})


@router.post("/patients/{pid}/flags/{flag_id}/review")
def review_flag(
    request: Request,
    flag_id: uuid.UUID,
    patient: CareTeamPatient,
    actor: ClinicianActor,
    session: SessionDep,
    now: Now,
    note: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    view: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Mark a flag episode reviewed with a note: the API's own use case (SPEC §5)."""
    _check_form(request, actor, csrf_token)
    text = _text(note, "review note", REVIEW_NOTE_MAX)
    flag_review.review(session, patient, flag_id, clinician_id=actor.user_id, note=text, now=now)
    return RedirectResponse(_back(patient.id, view, f"flag-{flag_id}"), status_code=303)


@router.post("/patients/{pid}/notes")
def write_note(
    request: Request,
    patient: CareTeamPatient,
    actor: ClinicianActor,
    session: SessionDep,
    now: Now,
    text: Annotated[str, Form(max_length=NOTE_MAX_CHARS * 2)] = "",
    topic: Annotated[str, Form(max_length=TOPIC_MAX_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    view: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Write a clinical note: the API's own use case (`POST /v1/patients/{pid}/notes`)."""
    _check_form(request, actor, csrf_token)
    body = ClinicalNoteIn(
        text=_text(text, "note", NOTE_MAX_CHARS),
        topic=_text(topic, "topic", TOPIC_MAX_CHARS) if topic.strip() else None,
    )
    notes_service.create_note(session, patient, body, now=now, clinician_id=actor.user_id)
    return RedirectResponse(_back(patient.id, view, "notes"), status_code=303)
