"""Seeding for trend tests: diary rows, sessions, plans and questionnaires written with the ORM
through the `engine` fixture (plans and questionnaires have no endpoints here), then read
back over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlmodel import Session

TODAY = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def day(offset: int) -> dt.date:
    """TODAY + offset days (offset ≤ 0 in the past)."""
    return TODAY + dt.timedelta(days=offset)


class Seeder:
    """Rows written with the ORM, as an import would: each call then recomputes the patient's
    stored flag state from the rows (`kneetrack rebuild-state --patient`) as of NOW."""

    def __init__(self, engine: Any, patient_id: str) -> None:
        self.engine = engine
        self.pid = uuid.UUID(patient_id)

    def rebuild(self, now: dt.datetime = NOW) -> None:
        from app.trends.state_worker import rebuild

        assert rebuild(self.engine, now, [self.pid]) == 1

    def entries(self, rows: dict[dt.date, dict[str, Any]]) -> None:
        from app.diary.models import SymptomEntry

        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        with Session(self.engine) as s:
            for d, values in rows.items():
                s.add(SymptomEntry(patient_id=self.pid, entry_date=d, recorded_at=at, **values))
            s.commit()
        self.rebuild()

    def pain(self, values: dict[dt.date, int | None], knee: str = "left") -> None:
        self.entries({d: {f"{knee}_pain": v} for d, v in values.items()})

    def sessions(self, *items: tuple[dt.date, str, int], **extra: Any) -> None:
        from app.diary.models import ExerciseSession

        with Session(self.engine) as s:
            for d, activity, minutes in items:
                s.add(ExerciseSession(
                    patient_id=self.pid, id=uuid.uuid4(), activity=activity,
                    started_at=dt.datetime.combine(d, dt.time(10), tzinfo=dt.UTC),
                    utc_offset_minutes=0, local_date=d, duration_minutes=minutes, **extra))
            s.commit()
        self.rebuild()

    def plan(self, activity: str, start: dt.date, minutes: int = 15, per_week: int = 3,
             end: dt.date | None = None) -> uuid.UUID:
        from app.diary.models import ExercisePlan

        with Session(self.engine) as s:
            plan = ExercisePlan(patient_id=self.pid, activity=activity, minutes_per_session=minutes,
                                sessions_per_week=per_week, start_date=start, end_date=end)
            s.add(plan)
            s.commit()
            plan_id = plan.id
        self.rebuild()
        return plan_id

    def koos_jr(self, d: dt.date, score: float, instrument: str = "koos_jr") -> None:
        from app.questionnaires.models import QuestionnaireResponse

        with Session(self.engine) as s:
            s.add(QuestionnaireResponse(patient_id=self.pid, instrument=instrument,
                                        completed_on=d, answers={}, score=score))
            s.commit()

    def function_test(self, d: dt.date, test: str, value: float, **extra: Any) -> None:
        from app.function_tests.models import FunctionTest

        with Session(self.engine) as s:
            s.add(FunctionTest(patient_id=self.pid, id=uuid.uuid4(), test=test, performed_on=d,
                               value=value, **extra))
            s.commit()


@pytest.fixture()
def seeded(app, engine, make_patient, pinned_now):
    """A patient (Europe/London, today = 2026-03-01) and a Seeder for their record."""
    from app.clock import get_now

    def _make(**kw: Any) -> tuple[Any, Seeder]:
        # Sign in on the real clock (tokens carry the instant they were issued), then pin.
        app.dependency_overrides.pop(get_now, None)
        p = make_patient(**kw)
        pinned_now(NOW)
        return p, Seeder(engine, p.id)

    return _make


@pytest.fixture()
def care_clinician(app, make_clinician, link, pinned_now):
    """`care_clinician(*patients)`: a clinician on those patients' care teams (signed in and
    linked on the real clock, then the clock is pinned again)."""
    from app.clock import get_now

    def _make(*patients: Any) -> Any:
        app.dependency_overrides.pop(get_now, None)
        c = make_clinician()
        for p in patients:
            link(p, c)
        pinned_now(NOW)
        return c

    return _make
