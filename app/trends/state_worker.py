"""The state worker: finds the patients whose stored flag state is behind (queued by a
write, past their local midnight, or never computed) and refreshes each in a transaction of
its own (`app.trends.state.refresh`). Every API process runs one in a background thread,
every `KNEETRACK_STATE_INTERVAL_SECONDS` (default 1 s, 0 turns it off); two of them never
refresh one patient at once (the patient's write lock), and a patient found already fresh
is skipped. `rebuild` recomputes from the rows (`kneetrack rebuild-state`)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from app.care.models import Patient
from app.db import utcnow
from app.records.locks import lock_patient
from app.records.models import StateQueue
from app.schemas import DATE_MIN
from app.trends.models import PatientState
from app.trends.state import refresh

log = logging.getLogger("kneetrack.state")


def due(session: Session, now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Patients to refresh: queued (oldest first), then past their local midnight, then
    without a state."""
    queued = select(col(StateQueue.patient_id)).order_by(col(StateQueue.queued_at)).limit(limit)
    stale = (
        select(col(PatientState.patient_id))
        .where(col(PatientState.refresh_after) <= now)
        .order_by(col(PatientState.refresh_after))
        .limit(limit)
    )
    missing = (
        select(col(Patient.id))
        .outerjoin(PatientState, col(PatientState.patient_id) == col(Patient.id))
        .where(col(PatientState.patient_id).is_(None))
        .limit(limit)
    )
    out: dict[uuid.UUID, None] = {}
    for stmt in (queued, stale, missing):
        out.update(dict.fromkeys(session.execute(stmt).scalars()))
    return list(out)[:limit]


def refresh_one(
    engine: Engine, patient_id: uuid.UUID, now: dt.datetime, *, full: bool = False
) -> bool:
    """Refresh one patient if their state is behind (or always, `full`), in a transaction of
    its own. A failure of the patient's data is logged by patient id and error type (never
    values), their state marked `unavailable` and their queue row removed: the next write, or
    an hour later, tries again, and the others are refreshed as usual. A failure of the
    database is raised: the transaction rolls back, so the queue row stays for the next pass."""
    try:
        with Session(engine) as session:
            patient = session.get(Patient, patient_id)
            if patient is None:
                return False
            lock_patient(session, patient_id)
            start = DATE_MIN if full else _from_date(session, patient_id, now)
            if start is None:
                return False
            refresh(session, patient, now, start)
            session.commit()
            return True
    except DBAPIError:
        raise  # the database's failure, not the patient's: the queue row stays, tried next pass
    except Exception as exc:
        log.error(
            "state: refresh failed (%s)", type(exc).__name__, extra={"patient_id": str(patient_id)}
        )
        _mark_unavailable(engine, patient_id, now)
        return False


def _from_date(session: Session, patient_id: uuid.UUID, now: dt.datetime) -> dt.date | None:
    """Where to recompute from, read under the patient's lock: the queued date, else the
    state's own date when it is past its refresh time, else None (fresh)."""
    queued = session.get(StateQueue, patient_id)
    state = session.get(PatientState, patient_id)
    if state is None:
        return DATE_MIN
    dates = [queued.from_date] if queued is not None else []
    if state.refresh_after <= now:
        dates.append(state.as_of)
    return min(dates) if dates else None


def _mark_unavailable(engine: Engine, patient_id: uuid.UUID, now: dt.datetime) -> None:
    with Session(engine) as session:
        session.execute(delete(StateQueue).where(col(StateQueue.patient_id) == patient_id))
        found = session.get(PatientState, patient_id)
        if found is not None:
            found.error, found.refresh_after = "unavailable", now + dt.timedelta(hours=1)
        else:
            session.add(
                PatientState(
                    patient_id=patient_id,
                    as_of=now.date(),
                    error="unavailable",
                    refresh_after=now + dt.timedelta(hours=1),
                    updated_at=now,
                )
            )
        session.commit()


def drain(engine: Engine, now: dt.datetime | None = None, *, limit: int = 100) -> int:
    """One pass: refresh up to `limit` patients that are behind. Returns how many were."""
    now = now or utcnow()
    with Session(engine) as session:
        ids = due(session, now, limit)
    return sum(refresh_one(engine, pid, now) for pid in ids)


def settle(engine: Engine, now: dt.datetime | None = None) -> int:
    """Drain until nothing is behind (tests, the demo, the benchmark)."""
    total = 0
    while n := drain(engine, now):
        total += n
    return total


def rebuild(
    engine: Engine, now: dt.datetime | None = None, patient_ids: Sequence[uuid.UUID] | None = None
) -> int:
    """Recompute every patient's (or these patients') state from their rows."""
    now = now or utcnow()
    if patient_ids is None:
        with Session(engine) as session:
            patient_ids = list(session.execute(select(col(Patient.id))).scalars())
    return sum(refresh_one(engine, pid, now, full=True) for pid in patient_ids)


class StateWorker:
    """`drain` every `interval` seconds in a daemon thread, until `stop`."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine, self.interval = engine, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = drain(self.engine) > 0
            except Exception as exc:  # the database is away: try again next time
                log.warning("state: pass failed (%s)", type(exc).__name__)
                busy = False
            if not busy:
                self._stop.wait(self.interval)
