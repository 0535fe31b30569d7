"""`kneetrack demo`: a small, deterministic data set for trying the API and the dashboard.

A clinician and four patients over the 12 weeks up to today (in each patient's time zone):
one improving on a backward-walking programme prescribed six weeks ago (with one fall last
week that hurt for a few days, and KOOS-JR at the start, midway and now), one in a flare,
one who has stopped logging, and one whose pain eases on its own while she takes up
backward walking halfway (the exercise response must not credit the walking). Range of
motion is measured once a week with a goniometer, as in a clinic."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.models import User
from app.auth.service import create_user
from app.care.models import CareTeamMember, Patient
from app.db import get_engine, utcnow
from app.diary.models import ExerciseSession, SymptomEntry
from app.diary.plan_service import create_plan
from app.diary.schemas import ExercisePlanIn
from app.questionnaires.schemas import QuestionnaireIn
from app.questionnaires.scoring import KOOS_JR_ITEMS
from app.questionnaires.service import create_response

CLINICIAN_EMAIL = "clinician@demo.kneetrack.dev"
DAYS = 84
MARIA_PLAN_WEEKS = 6


def _clamp(v: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(v)))


def _patient(
    session: Session, *, email: str, name: str, tz: str, knee: str, password: str
) -> Patient:
    user = create_user(session, email=email, password=password, role="patient", display_name=name)
    patient = Patient(id=user.id, timezone=tz, index_knee=knee, birth_year=1958, sex="female")
    session.add(patient)
    session.flush()
    return patient


def _entries(
    session: Session,
    patient: Patient,
    today: dt.date,
    rng: random.Random,
    *,
    pain_start: float,
    pain_end: float,
    last_day_offset: int = 0,
    flare_days: int = 0,
    flexion: tuple[float, float] = (105, 120),
    extension: tuple[float, float] = (8, 3),
    hurt_after: dt.date | None = None,
) -> None:
    """Daily diary entries; ROM once a week (Mondays) by goniometer, from `flexion[0]` to
    `flexion[1]` degrees; after `hurt_after` (a fall), pain +2 and swelling +1 for 3 days."""
    now = utcnow()
    for i in range(DAYS - 1, last_day_offset - 1, -1):
        day = today - dt.timedelta(days=i)
        frac = (DAYS - 1 - i) / (DAYS - 1)
        pain = pain_start + (pain_end - pain_start) * frac + rng.gauss(0, 0.7)
        if flare_days and i < flare_days:
            pain += 4
        hurt = hurt_after is not None and 0 < (day - hurt_after).days <= 3
        if hurt:
            pain += 2
        other = pain - 2 + rng.gauss(0, 0.5)
        flex = flexion[0] + (flexion[1] - flexion[0]) * frac + rng.gauss(0, 3)
        ext = extension[0] + (extension[1] - extension[0]) * frac
        weekly = day.weekday() == 0
        session.add(
            SymptomEntry(
                patient_id=patient.id,
                entry_date=day,
                version=1,
                left_pain=_clamp(pain, 0, 10),
                left_stiffness=_clamp(pain - 1, 0, 10),
                left_swelling=_clamp(pain / 3 + (1 if hurt else 0), 0, 3),
                left_warmth=False,
                left_giving_way=rng.random() < 0.05,
                left_flexion=_clamp(flex, 0, 170) if weekly else None,
                left_extension=_clamp(ext + rng.gauss(0, 1.5), -20, 60) if weekly else None,
                left_rom_method="goniometer" if weekly else None,
                right_pain=_clamp(other, 0, 10),
                right_stiffness=_clamp(other - 1, 0, 10),
                right_swelling=0,
                morning_stiffness_minutes=_clamp(35 - 20 * frac + rng.gauss(0, 5), 0, 1440),
                flare=bool(flare_days and i < flare_days),
                recorded_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def _sessions(
    session: Session,
    patient: Patient,
    today: dt.date,
    rng: random.Random,
    *,
    weekdays: tuple[int, ...],
    fall_on: dt.date | None = None,
    plan_id: uuid.UUID | None = None,
    plan_start: dt.date | None = None,
    since_days: int = DAYS - 1,
    near_fall: bool = True,
) -> None:
    now = utcnow()
    tz = ZoneInfo(patient.timezone)
    for i in range(since_days, -1, -1):
        day = today - dt.timedelta(days=i)
        if day.weekday() not in weekdays:
            continue
        fall = day == fall_on
        start = dt.datetime.combine(day, dt.time(10, 0), tzinfo=tz)
        offset = start.utcoffset() or dt.timedelta(0)
        session.add(
            ExerciseSession(
                patient_id=patient.id,
                id=uuid.uuid4(),
                version=1,
                activity="backward_walking",
                started_at=start.astimezone(dt.UTC),
                utc_offset_minutes=int(offset.total_seconds() // 60),
                local_date=day,
                duration_minutes=rng.choice((12, 15, 15, 20)),
                distance_m=rng.choice((300, 400, 500)),
                rpe=3,
                pain_before=4,
                pain_after=3,
                setting="indoor",
                supervised=True,
                falls=1 if fall else 0,
                near_falls=1 if near_fall and i == 30 else 0,
                plan_id=plan_id if plan_start is None or day >= plan_start else None,
                created_at=now,
                updated_at=now,
            )
        )


def _strengthening(session: Session, patient: Patient, today: dt.date, *, weekday: int) -> None:
    """A weekly strengthening session besides the walking, so that exercise shows by activity."""
    now = utcnow()
    tz = ZoneInfo(patient.timezone)
    for i in range(DAYS - 1, -1, -1):
        day = today - dt.timedelta(days=i)
        if day.weekday() != weekday:
            continue
        start = dt.datetime.combine(day, dt.time(17, 0), tzinfo=tz)
        session.add(
            ExerciseSession(
                patient_id=patient.id,
                id=uuid.uuid4(),
                activity="strengthening",
                started_at=start.astimezone(dt.UTC),
                utc_offset_minutes=int(
                    (start.utcoffset() or dt.timedelta(0)).total_seconds() // 60
                ),
                local_date=day,
                duration_minutes=20,
                created_at=now,
                updated_at=now,
            )
        )


def _plan(
    session: Session,
    patient: Patient,
    clinician_id: uuid.UUID,
    start: dt.date,
    per_week: int,
) -> uuid.UUID:
    body = ExercisePlanIn(
        activity="backward_walking",
        minutes_per_session=15,
        sessions_per_week=per_week,
        start_date=start,
        instructions="Walk backwards slowly, indoors, beside a wall or rail; stop if pain "
        "rises above your usual level.",
    )
    return create_plan(session, patient, body, now=utcnow(), clinician_id=clinician_id).id


def _koos_jr(
    session: Session, patient: Patient, today: dt.date, raw_by_day: dict[int, int]
) -> None:
    """KOOS-JR `days ago -> raw sum`, the sum spread over the seven items."""
    for days_ago, raw in raw_by_day.items():
        answers, left = {}, raw
        for item in KOOS_JR_ITEMS:
            answers[item] = min(4, left)
            left -= answers[item]
        body = QuestionnaireIn(
            instrument="koos_jr",
            completed_on=today - dt.timedelta(days=days_ago),
            answers=answers,
        )
        create_response(session, patient, body, now=utcnow())


def first_session_on_or_after(today: dt.date, days_ago: int, weekdays: tuple[int, ...]) -> dt.date:
    """The date of the first session `days_ago` days ago or later (sessions on `weekdays`)."""
    day = today - dt.timedelta(days=days_ago)
    while day.weekday() not in weekdays:
        day += dt.timedelta(days=1)
    return day


def load_demo(*, password: str = "kneetrack-demo") -> Iterator[str]:
    with Session(get_engine()) as session:
        if session.scalars(select(User).where(col(User.email) == CLINICIAN_EMAIL)).first():
            yield "demo data already loaded"
            return
        rng = random.Random(20260301)
        clinician = create_user(
            session,
            email=CLINICIAN_EMAIL,
            password=password,
            role="clinician",
            display_name="Dr Demo Clinician",
        )
        people = [
            ("maria@demo.kneetrack.dev", "Maria Improving", "Europe/Madrid", "left"),
            ("john@demo.kneetrack.dev", "John Flaring", "America/New_York", "left"),
            ("aiko@demo.kneetrack.dev", "Aiko Quiet", "Asia/Tokyo", "left"),
            ("nora@demo.kneetrack.dev", "Nora Easing", "Europe/Oslo", "left"),
        ]
        patients = [
            _patient(session, email=e, name=n, tz=tz, knee=k, password=password)
            for e, n, tz, k in people
        ]
        for p in patients:
            session.add(
                CareTeamMember(patient_id=p.id, clinician_id=clinician.id, granted_via="invitation")
            )
        now = utcnow()
        maria, john, aiko, nora = patients
        t = {p.id: now.astimezone(ZoneInfo(p.timezone)).date() for p in patients}
        maria_days = (0, 2, 4, 5)
        maria_fall = first_session_on_or_after(t[maria.id], 6, maria_days)
        _entries(
            session, maria, t[maria.id], rng, pain_start=6.5, pain_end=2, hurt_after=maria_fall
        )
        # Maria walked on her own at first; the plan was prescribed six weeks ago, so the
        # exercise response can compare before and after it. Her one fall was last week.
        maria_start = t[maria.id] - dt.timedelta(weeks=MARIA_PLAN_WEEKS)
        maria_plan = _plan(session, maria, clinician.id, maria_start, per_week=3)
        _sessions(
            session,
            maria,
            t[maria.id],
            rng,
            weekdays=maria_days,
            fall_on=maria_fall,
            plan_id=maria_plan,
            plan_start=maria_start,
        )
        _strengthening(session, maria, t[maria.id], weekday=1)
        _koos_jr(session, maria, t[maria.id], {DAYS - 1: 15, DAYS // 2: 11, 0: 7})
        _entries(
            session,
            john,
            t[john.id],
            rng,
            pain_start=5,
            pain_end=5,
            flare_days=4,
            flexion=(95, 96),
            extension=(10, 9),
        )
        john_start = t[john.id] - dt.timedelta(days=DAYS - 1)
        john_plan = _plan(session, john, clinician.id, john_start, per_week=3)
        _sessions(session, john, t[john.id], rng, weekdays=(1, 4), plan_id=john_plan)
        _entries(session, aiko, t[aiko.id], rng, pain_start=4, pain_end=4, last_day_offset=10)
        # Nora: pain easing from 7 to 3 on its own; backward walking (no plan) from halfway,
        # with no effect of its own.
        _entries(session, nora, t[nora.id], rng, pain_start=7, pain_end=3, flexion=(110, 114))
        _sessions(
            session,
            nora,
            t[nora.id],
            rng,
            weekdays=(0, 2, 4),
            since_days=DAYS // 2,
            near_fall=False,
        )
        session.commit()
        yield f"clinician: {CLINICIAN_EMAIL} / {password}"
        for (email, name, _, _), p in zip(people, patients, strict=True):
            yield f"patient:   {email} / {password}  ({name}, id {p.id})"
