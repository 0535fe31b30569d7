from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.helpers import session_body

KOOS_JR_ANSWERS = {"stiffness": 2, "pain_twisting": 1, "pain_straightening": 1,
                   "pain_stairs": 2, "pain_standing": 1, "difficulty_rising": 1,
                   "difficulty_bending": 2}


def add_koos_jr(patient_id: str, completed_on: dt.date, score: float) -> None:
    """Questionnaires are stored by their own capability; exports only read the table."""
    from sqlmodel import Session

    from app.db import get_engine
    from app.questionnaires.models import QuestionnaireResponse

    with Session(get_engine()) as s:
        s.add(QuestionnaireResponse(patient_id=uuid.UUID(patient_id), instrument="koos_jr",
                                    completed_on=completed_on, answers=KOOS_JR_ANSWERS,
                                    score=score))
        s.commit()


@pytest.fixture()
def history(client, make_patient) -> Any:
    """A patient with three diary days (both knees, ROM, negative extension, a formula-looking
    note), two exercise sessions (backward walking with a fall) and one KOOS-JR."""
    p = make_patient(birth_year=1956, sex="female", index_knee="left")
    h = p.headers
    days = {
        "2026-01-05": {"knees": {"left": {"pain": 6, "stiffness": 5, "swelling": 2,
                                          "warmth": True, "giving_way": False,
                                          "flexion_degrees": 110, "extension_degrees": -5,
                                          "rom_method": "goniometer"},
                                 "right": {"pain": 2}},
                       "morning_stiffness_minutes": 25, "flare": True,
                       "notes": "=HYPERLINK(\"http://evil.example\",\"x\")"},
        "2026-01-06": {"knees": {"left": {"pain": 5, "swelling": 0}},
                       "notes": "-2 better today"},
        "2026-01-07": {"knees": {"right": {"stiffness": 3, "flexion_degrees": 125,
                                           "rom_method": "smartphone_app"}},
                       "notes": "@SUM(A1:A2)"},
    }
    for day, body in days.items():
        r = client.put(f"/v1/patients/me/symptom-entries/{day}", headers=h, json=body)
        assert r.status_code == 201, r.text
    sessions = [
        session_body(started_at="2026-01-05T10:00:00+01:00", duration_minutes=20,
                     distance_m=450.0, falls=1, near_falls=2, rpe=3.5, setting="indoor",
                     supervised=True, notes="+ slow, with rail",
                     exercises=[{"name": "retro walk", "sets": 3, "reps": 20}]),
        session_body(activity="cycling", started_at="2026-01-07T18:30:00-00:00",
                     duration_minutes=30),
    ]
    for body in sessions:
        assert client.post("/v1/patients/me/exercise-sessions", headers=h,
                           json=body).status_code == 201
    add_koos_jr(p.id, dt.date(2026, 1, 6), 70.7)
    return p
