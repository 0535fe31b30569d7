"""The demo's clinician and five patients, each with the story the trends should tell."""

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
from app.demo import records as r
from app.demo.records import CLINICIAN_EMAIL, DAYS
from app.notes.schemas import ClinicalNoteIn
from app.notes.service import create_note
from app.treatments.schemas import TreatmentIn
from app.treatments.service import create_treatment
from app.trends import flag_review
from app.trends.state_worker import rebuild

PEOPLE = (
    ("maria@demo.kneetrack.dev", "Maria Improving", "Europe/Madrid", "left"),
    ("john@demo.kneetrack.dev", "John Flaring", "America/New_York", "left"),
    ("aiko@demo.kneetrack.dev", "Aiko Quiet", "Asia/Tokyo", "left"),
    ("nora@demo.kneetrack.dev", "Nora Easing", "Europe/Oslo", "left"),
    ("ruth@demo.kneetrack.dev", "Ruth Embolised", "Europe/London", "left"),
)


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
        patients = [
            r.patient(session, email=e, name=n, tz=tz, knee=k, password=password)
            for e, n, tz, k in PEOPLE
        ]
        for p in patients:
            session.add(
                CareTeamMember(patient_id=p.id, clinician_id=clinician.id, granted_via="invitation")
            )
        now = utcnow()
        for story, patient in zip((maria, john, aiko, nora, ruth), patients, strict=True):
            today = now.astimezone(ZoneInfo(patient.timezone)).date()
            story(session, patient, today, rng, clinician.id)
        ids = [p.id for p in patients]
        clinician_id = clinician.id
        session.commit()
        # The rows went in directly, as an import would: compute the stored flag state now.
        rebuild(get_engine(), now, ids)
        review_maria(ids[0], clinician_id, now)
        yield f"clinician: {CLINICIAN_EMAIL} / {password}"
        for (email, name, _, _), p in zip(PEOPLE, patients, strict=True):
            yield f"patient:   {email} / {password}  ({name}, id {p.id})"


def review_maria(patient_id: uuid.UUID, clinician_id: uuid.UUID, now: dt.datetime) -> None:
    """The clinician has seen the pain episode that followed Maria's fall (her fall itself
    stays open, on top of the panel, until someone reviews it)."""
    with Session(get_engine()) as session:
        patient = session.get_one(Patient, patient_id)
        found = flag_review.episodes_out(session, patient_id, statuses=["open"])
        for ep in found:
            if ep.rule == "pain_episode":
                note = "Phoned her: the pain after the fall is settling; plan unchanged."
                flag_review.review(
                    session, patient, ep.id, clinician_id=clinician_id, note=note, now=now
                )
        session.commit()


def maria(
    session: Session, maria: Patient, today: dt.date, rng: random.Random, clinician_id: uuid.UUID
) -> None:
    """Improving on a backward-walking programme prescribed six weeks ago."""
    maria_days = (0, 2, 4, 5)
    # Her one fall, 10 to 12 days ago, hurt for three days: its flag is still active, and
    # the hurt stays out of the current week, whatever weekday the demo is loaded on.
    maria_fall = r.first_session_on_or_after(today, 12, maria_days)
    r.entries(session, maria, today, rng, pain_start=6.5, pain_end=2, hurt_after=maria_fall)
    r.night_pain(session, maria, today, rng)  # before a flush: rows still held
    # Maria walked on her own at first; the plan was prescribed six weeks ago, so the
    # exercise response can compare before and after it.
    maria_start = today - dt.timedelta(weeks=r.MARIA_PLAN_WEEKS)
    maria_plan = r.plan(session, maria, clinician_id, maria_start, per_week=3)
    r.sessions(
        session,
        maria,
        today,
        rng,
        weekdays=maria_days,
        fall_on=maria_fall,
        plan_id=maria_plan,
        plan_start=maria_start,
    )
    r.strengthening(session, maria, today, weekday=1)
    r.koos_jr(session, maria, today, {DAYS - 1: 15, DAYS // 2: 11, 0: 7})
    # The OARSI tests and the TUG at the plan's start (intake) and at week 6 (today).
    r.function_tests(
        session,
        maria,
        clinician_id,
        {
            maria_start: {"chair_stand_30s": 9, "tug": 12.4, "fast_walk_40m": 32.0},
            today: {"chair_stand_30s": 13, "tug": 10.8, "fast_walk_40m": 28.5},
        },
    )
    r.single_items(session, maria, today, change=2, ok=1)
    # The full KOOS at the plan's start and now: pain and daily living improved most.
    r.koos(
        session, maria, maria_start, {"symptoms": 2, "pain": 2, "adl": 2, "sport_rec": 3, "qol": 3}
    )
    r.koos(session, maria, today, {"symptoms": 1, "pain": 1, "adl": 1, "sport_rec": 2, "qol": 2})
    intake = ClinicalNoteIn(
        text="Intake: medial knee pain for two years, worse on stairs. Starting backward "
        "walking 15 min three times a week, indoors beside a rail, supervised at first.",
        topic="intake",
        entry_date=maria_start,
    )
    create_note(session, maria, intake, now=utcnow(), clinician_id=clinician_id)


def john(
    session: Session, john: Patient, today: dt.date, rng: random.Random, clinician_id: uuid.UUID
) -> None:
    """In a flare, taking analgesics every day of its week."""
    john.sex, john.birth_year = "male", 1954
    r.entries(
        session,
        john,
        today,
        rng,
        pain_start=5,
        pain_end=5,
        flare_days=4,
        flexion=(95, 96),
        extension=(10, 9),
    )
    r.night_pain(session, john, today, rng)
    # A week of analgesics around the flare: oral NSAID and paracetamol every day.
    r.analgesics(
        session,
        john,
        today,
        {d: (3 if d < 4 else 2, ["paracetamol", "nsaid_oral"]) for d in range(7)},
    )
    john_plan = r.plan(session, john, clinician_id, today - dt.timedelta(days=DAYS - 1), 3)
    r.sessions(session, john, today, rng, weekdays=(1, 4), plan_id=john_plan)


def aiko(
    session: Session, aiko: Patient, today: dt.date, rng: random.Random, _clinician: uuid.UUID
) -> None:
    """Has stopped logging ten days ago."""
    r.entries(session, aiko, today, rng, pain_start=4, pain_end=4, last_day_offset=10)


def nora(
    session: Session, nora: Patient, today: dt.date, rng: random.Random, _clinician: uuid.UUID
) -> None:
    """Pain easing from 7 to 3 on its own; backward walking (no plan) from halfway, with no
    effect of its own: the exercise response must not credit the walking."""
    r.entries(session, nora, today, rng, pain_start=7, pain_end=3, flexion=(110, 114))
    r.sessions(session, nora, today, rng, weekdays=(0, 2, 4), since_days=DAYS // 2, near_fall=False)


def ruth(
    session: Session, ruth: Patient, today: dt.date, rng: random.Random, clinician_id: uuid.UUID
) -> None:
    """12 weeks of backward walking with pain still about 6.5, then a genicular artery
    embolisation of the left knee six weeks ago (the programme's "when exercise is not enough"
    step), after which her pain, night pain and analgesic use fall."""
    gae_days_ago = 42
    r.entries(session, ruth, today, rng, pain_start=6.5, pain_end=3)
    r.after_embolisation(session, ruth, today, rng, gae_days_ago)
    ruth_plan = r.plan(session, ruth, clinician_id, today - dt.timedelta(days=DAYS - 1), 3)
    r.sessions(session, ruth, today, rng, weekdays=(0, 3, 5), plan_id=ruth_plan)
    gae = TreatmentIn(
        kind="genicular_artery_embolisation",
        knee="left",
        date=today - dt.timedelta(days=gae_days_ago),
        notes="Embolisation of the medial genicular arteries, after 6 weeks of exercise "
        "without enough relief",
    )
    create_treatment(session, ruth, gae, now=utcnow(), actor_id=clinician_id)
