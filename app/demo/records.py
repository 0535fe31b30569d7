"""The demo's building blocks: accounts, diary entries, sessions, plans, questionnaires,
function tests and treatments, generated for a number of days up to today."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.auth.service import create_user
from app.care.models import Patient
from app.db import utcnow
from app.diary.models import ExerciseSession, SymptomEntry
from app.diary.plans import create_plan
from app.diary.schemas import ExercisePlanIn
from app.function_tests.schemas import FunctionTestIn
from app.function_tests.service import create_test
from app.questionnaires.schemas import QuestionnaireIn
from app.questionnaires.scoring import KOOS_JR_ITEMS, KOOS_SUBSCALES
from app.questionnaires.service import create_response

CLINICIAN_EMAIL = "clinician@demo.kneetrack.dev"
DAYS = 84
MARIA_PLAN_WEEKS = 6


def clamp(v: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(v)))


def patient(
    session: Session, *, email: str, name: str, tz: str, knee: str, password: str
) -> Patient:
    user = create_user(session, email=email, password=password, role="patient", display_name=name)
    patient = Patient(id=user.id, timezone=tz, index_knee=knee, birth_year=1958, sex="female")
    session.add(patient)
    session.flush()
    return patient


def entries(
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
                left_pain=clamp(pain, 0, 10),
                left_stiffness=clamp(pain - 1, 0, 10),
                left_swelling=clamp(pain / 3 + (1 if hurt else 0), 0, 3),
                left_warmth=False,
                left_giving_way=rng.random() < 0.05,
                left_flexion=clamp(flex, 0, 170) if weekly else None,
                left_extension=clamp(ext + rng.gauss(0, 1.5), -20, 60) if weekly else None,
                left_rom_method="goniometer" if weekly else None,
                right_pain=clamp(other, 0, 10),
                right_stiffness=clamp(other - 1, 0, 10),
                right_swelling=0,
                morning_stiffness_minutes=clamp(35 - 20 * frac + rng.gauss(0, 5), 0, 1440),
                flare=bool(flare_days and i < flare_days),
                recorded_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def sessions(
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


def strengthening(session: Session, patient: Patient, today: dt.date, *, weekday: int) -> None:
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


def plan(
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


def koos_jr(session: Session, patient: Patient, today: dt.date, raw_by_day: dict[int, int]) -> None:
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


def koos(session: Session, patient: Patient, day: dt.date, by_subscale: dict[str, int]) -> None:
    """A full KOOS with every item of a subscale answered alike (0 none … 4 extreme)."""
    answers = {i: by_subscale[name] for name, ids in KOOS_SUBSCALES.items() for i in ids}
    body = QuestionnaireIn(instrument="koos", completed_on=day, answers=answers)
    create_response(session, patient, body, now=utcnow())


def first_session_on_or_after(today: dt.date, days_ago: int, weekdays: tuple[int, ...]) -> dt.date:
    """The date of the first session `days_ago` days ago or later (sessions on `weekdays`)."""
    day = today - dt.timedelta(days=days_ago)
    while day.weekday() not in weekdays:
        day += dt.timedelta(days=1)
    return day


def new_entries(session: Session, patient: Patient, today: dt.date) -> dict[int, SymptomEntry]:
    """The patient's diary rows added to the session and not yet flushed (the session holds
    flushed rows only weakly), by days ago."""
    return {
        (today - row.entry_date).days: row
        for row in session.new
        if isinstance(row, SymptomEntry) and row.patient_id == patient.id
    }


def night_pain(session: Session, patient: Patient, today: dt.date, rng: random.Random) -> None:
    """Night pain a little below the day's pain on the index (left) knee."""
    for row in new_entries(session, patient, today).values():
        if row.left_pain is not None:
            row.left_night_pain = clamp(row.left_pain - 1 + rng.gauss(0, 0.7), 0, 10)


def analgesics(
    session: Session, patient: Patient, today: dt.date, doses: dict[int, tuple[int, list[str]]]
) -> None:
    """`days ago -> (doses, kinds)` on the patient's diary rows."""
    rows = new_entries(session, patient, today)
    for days_ago, (n, kinds) in doses.items():
        if days_ago in rows:
            rows[days_ago].analgesic_doses = n
            rows[days_ago].analgesic_kinds = kinds


def function_tests(
    session: Session,
    patient: Patient,
    actor_id: uuid.UUID,
    results: dict[dt.date, dict[str, float]],
) -> None:
    for day, values in results.items():
        for test, value in values.items():
            body = FunctionTestIn.model_validate(
                {"test": test, "performed_on": day, "value": value, "supervised": True}
            )
            create_test(session, patient, body, now=utcnow(), actor_id=actor_id)


def single_items(session: Session, patient: Patient, day: dt.date, change: int, ok: int) -> None:
    for instrument, answers in (("pgic", {"change": change}), ("pass", {"acceptable": ok})):
        body = QuestionnaireIn.model_validate(
            {"instrument": instrument, "completed_on": day, "answers": answers}
        )
        create_response(session, patient, body, now=utcnow())


def after_embolisation(
    session: Session, patient: Patient, today: dt.date, rng: random.Random, gae_days_ago: int
) -> None:
    """Pain about 6.5 until the embolisation, then down to about 3 over two weeks; night pain
    and analgesic use follow."""
    for days_ago, row in new_entries(session, patient, today).items():
        since = gae_days_ago - days_ago  # days since the embolisation (< 0: before)
        level = 6.5 if since < 0 else 6.5 - 3.5 * min(since, 14) / 14
        row.left_pain = clamp(level + rng.gauss(0, 0.6), 0, 10)
        row.left_night_pain = clamp(level - 0.5 + rng.gauss(0, 0.6), 0, 10)
        row.analgesic_doses = 3 if since < 0 else (2 if since < 14 else 1)
        row.analgesic_kinds = ["paracetamol", "nsaid_topical"] if since < 14 else ["paracetamol"]
