"""The rest of a patient's record on their page: what happened (exercise sessions, falls with
setting and supervision, treatments), pain during exercise by the pain-monitoring model,
function tests, KOOS subscales and the clinical notes. Read straight from the domain tables,
scoped by the patient's id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.models import User
from app.clinical import threshold
from app.dashboard import charts as ch
from app.dashboard.knee_charts import Event
from app.dashboard.period import Window
from app.diary.models import ExerciseSession, SymptomEntry
from app.notes.models import ClinicalNote
from app.questionnaires.models import QuestionnaireResponse
from app.treatments.models import Treatment

ACTIVITY_WORDS = {
    "backward_walking": "backward walking",
    "backward_treadmill": "backward walking (treadmill)",
    "forward_walking": "forward walking",
}
TREATMENT_WORDS = {
    "steroid_injection": "Steroid injection",
    "hyaluronic_injection": "Hyaluronic acid injection",
    "prp_injection": "PRP injection",
    "genicular_artery_embolisation": "Genicular artery embolisation",
    "arthroscopy": "Arthroscopy",
    "arthroplasty": "Arthroplasty",
    "other": "Treatment",
}
KOOS_SUBSCALES = {
    "pain": ("Pain", "koos_pain_mic"),
    "symptoms": ("Symptoms", "koos_symptoms_mic"),
    "adl": ("Daily living (ADL)", "koos_adl_mic"),
    "sport_rec": ("Sport and recreation", "koos_sport_rec_mic"),
    "qol": ("Quality of life", "koos_qol_mic"),
}
NOTES_SHOWN = 20


def activity_words(activity: str) -> str:
    return ACTIVITY_WORDS.get(activity, activity.replace("_", " "))


@dataclass(frozen=True)
class SessionRow:
    day: dt.date
    activity: str
    minutes: int
    pain_before: int | None
    pain_after: int | None
    setting: str | None
    supervised: bool | None
    falls: int
    near_falls: int

    @property
    def circumstances(self) -> str:
        """Where and how: "indoor, supervised" (unknown parts left out)."""
        parts = [self.setting or ""]
        if self.supervised is not None:
            parts.append("supervised" if self.supervised else "unsupervised")
        return ", ".join(p for p in parts if p) or "setting not recorded"


def sessions(session: Session, patient_id: uuid.UUID, w: Window) -> list[SessionRow]:
    S = ExerciseSession
    rows = session.execute(
        select(
            col(S.local_date),
            col(S.activity),
            col(S.duration_minutes),
            col(S.pain_before),
            col(S.pain_after),
            col(S.setting),
            col(S.supervised),
            col(S.falls),
            col(S.near_falls),
        )
        .where(
            col(S.patient_id) == patient_id,
            col(S.deleted_at).is_(None),
            col(S.local_date).between(w.start, w.end),
        )
        .order_by(col(S.started_at))
    ).all()
    return [
        SessionRow(d, a, m, before, after, setting, sup, falls or 0, near or 0)
        for d, a, m, before, after, setting, sup, falls, near in rows
    ]


@dataclass(frozen=True)
class TreatmentRow:
    day: dt.date
    kind: str
    knee: str
    notes: str | None

    @property
    def words(self) -> str:
        return TREATMENT_WORDS.get(self.kind, self.kind)


def treatments(session: Session, patient_id: uuid.UUID, w: Window) -> list[TreatmentRow]:
    T = Treatment
    rows = session.execute(
        select(col(T.date), col(T.kind), col(T.knee), col(T.notes))
        .where(
            col(T.patient_id) == patient_id,
            col(T.deleted_at).is_(None),
            col(T.date).between(w.start, w.end),
        )
        .order_by(col(T.date))
    ).all()
    return [TreatmentRow(*r) for r in rows]


def daily_life_falls(
    session: Session, patient_id: uuid.UUID, w: Window
) -> list[tuple[dt.date, int]]:
    E = SymptomEntry
    rows = session.execute(
        select(col(E.entry_date), col(E.falls))
        .where(
            col(E.patient_id) == patient_id,
            col(E.deleted_at).is_(None),
            col(E.entry_date).between(w.start, w.end),
            col(E.falls) > 0,
        )
        .order_by(col(E.entry_date))
    ).all()
    return [(d, int(n)) for d, n in rows]


def events(
    done: Sequence[SessionRow],
    daily_falls: Sequence[tuple[dt.date, int]],
    treated: Sequence[TreatmentRow],
) -> list[Event]:
    """Every marked event: sessions (ticks), falls and near falls in exercise with setting
    and supervision, falls in daily life, treatments."""
    out = [
        Event(
            s.day,
            "",
            f"{s.day:%-d %b %Y}: {activity_words(s.activity)}, {s.minutes} min",
            "session",
        )
        for s in done
    ]
    for s in done:
        what = f"{activity_words(s.activity)}, {s.circumstances}"
        if s.falls:
            known = s.setting is not None or s.supervised is not None
            label = f"Fall ({s.circumstances})" if known else "Fall"
            out.append(Event(s.day, label, f"Fall on {s.day:%-d %b %Y} during {what}", "fall"))
        elif s.near_falls:
            out.append(
                Event(s.day, "Near fall", f"Near fall on {s.day:%-d %b %Y} during {what}", "near")
            )
    out += [
        Event(d, "Fall (daily life)", f"{n} fall(s) in daily life on {d:%-d %b %Y}", "fall")
        for d, n in daily_falls
    ]
    out += [
        Event(
            t.day,
            t.words,
            f"{t.words}, {t.knee} knee, on {t.day:%-d %b %Y}" + (f": {t.notes}" if t.notes else ""),
            "treatment",
        )
        for t in treated
    ]
    return out


def session_pain_chart(w: Window, done: Sequence[SessionRow]) -> tuple[ch.Chart, str]:
    """Pain after each session against the pain-monitoring model's limit."""
    limit = threshold("session_pain_limit")
    rated = [s for s in done if s.pain_after is not None]
    frame = ch.Frame(w.start, w.end, 0, 10, width=ch.WIDE, height=170)
    chart = ch.Chart(
        id="session_pain",
        title="Pain during exercise (pain-monitoring model)",
        desc=f"Pain after each exercise session, 0 to 10, {w.start:%-d %b %Y} to "
        f"{w.end:%-d %b %Y}, with the model's limit of {ch.fmt(limit)}.",
        frame=frame,
        unit="",
        empty=not rated,
    )
    chart.dots = [
        ch.Dot(
            frame.x(s.day),
            frame.y(s.pain_after or 0),
            f"{s.day:%-d %b %Y}, {activity_words(s.activity)}: pain "
            f"{ch.fmt(s.pain_before)} before, {s.pain_after} after",
            css="daily index" if (s.pain_after or 0) <= limit else "daily over",
        )
        for s in rated
    ]
    chart.hlines.append(ch.HLine(frame.y(limit), f"limit {ch.fmt(limit)}", "limit"))
    chart.legend += [
        ch.LegendItem("pain after a session", "daily index", "dot"),
        ch.LegendItem(
            f"limit of acceptable pain during exercise ({ch.fmt(limit)})", "limit", "dashed"
        ),
    ]
    over = [s for s in rated if (s.pain_after or 0) > limit]
    if not rated:
        text = "No session in this period has its pain recorded."
    else:
        where = (
            f"after {len(over)} of them: " + ", ".join(f"{s.day:%-d %b}" for s in over)
            if over
            else "after none of them"
        )
        text = (
            f"{len(rated)} sessions with pain recorded; pain was above {ch.fmt(limit)} "
            f"{where}. The model accepts pain up to {ch.fmt(limit)} during and after exercise."
        )
    return chart, text


@dataclass(frozen=True)
class KoosRow:
    day: dt.date
    scores: tuple[float | None, ...]  # in the order of KOOS_SUBSCALES


def koos_subscales(
    session: Session, patient_id: uuid.UUID, since: dt.date, until: dt.date
) -> tuple[list[KoosRow], list[str]]:
    """Full KOOS responses (oldest first) and, per subscale, the change from the first to the
    last against its minimal important change."""
    Q = QuestionnaireResponse
    rows = session.execute(
        select(col(Q.completed_on), col(Q.subscales))
        .where(
            col(Q.patient_id) == patient_id,
            col(Q.instrument) == "koos",
            col(Q.completed_on).between(since, until),
        )
        .order_by(col(Q.completed_on), col(Q.id))
    ).all()
    out = [KoosRow(d, tuple((s or {}).get(k) for k in KOOS_SUBSCALES)) for d, s in rows]
    changes = []
    if len(out) > 1:
        for n, (name, key) in enumerate(KOOS_SUBSCALES.values()):
            first, last = out[0].scores[n], out[-1].scores[n]
            if first is None or last is None:
                continue
            mic = threshold(key)
            change = last - first
            verdict = "at least" if abs(change) >= mic else "less than"
            changes.append(
                f"{name} {'+' if change > 0 else ''}{ch.fmt(change)} ({verdict} the minimal "
                f"important change of {ch.fmt(mic)})"
            )
    return out, changes


@dataclass(frozen=True)
class NoteRow:
    written: dt.datetime
    author: str
    topic: str | None
    entry_date: dt.date | None
    text: str


def notes(session: Session, patient_id: uuid.UUID) -> list[NoteRow]:
    """The latest clinical notes, newest first, with their author's name."""
    N = ClinicalNote
    rows = session.execute(
        select(
            col(N.created_at), col(User.display_name), col(N.topic), col(N.entry_date), col(N.text)
        )
        .outerjoin(User, col(User.id) == col(N.clinician_id))
        .where(col(N.patient_id) == patient_id)
        .order_by(col(N.created_at).desc(), col(N.id).desc())
        .limit(NOTES_SHOWN)
    ).all()
    return [NoteRow(c, a or "a former clinician", t, e, x) for c, a, t, e, x in rows]
