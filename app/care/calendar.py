"""A patient's calendar: dates are local to the time zone of their profile."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.care.models import Patient
from app.errors import Unprocessable


def local_today(patient: Patient, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(patient.timezone)).date()


def check_not_future(patient: Patient, value: dt.date, now: dt.datetime, *, field: str) -> None:
    today = local_today(patient, now)
    if value > today:
        raise Unprocessable(
            f"{field} is after today ({today.isoformat()}) in the patient's time zone",
            loc=["body", field],
        )
