"""The stored flag state in the benchmark (docs/flags.md): built for every seeded patient after
the COPY (`kneetrack rebuild-state`'s code, in two processes), and three costs timed on the
seeded database at the service level, one transaction each — a rebuild of one patient's two
years, the worker's refresh after one new diary entry, and a clinician's review of an episode.

Request CPU in the write scenarios is the request's own: the product servers run with the
state worker off (`KNEETRACK_STATE_INTERVAL_SECONDS=0`), and the worker's work per written
patient is the refresh timed here."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sqlmodel import Session

from bench import seed


def _engine(url: str):  # type: ignore[no-untyped-def]
    from app.db import build_engine

    return build_engine(seed.libpq_url(url).replace("postgresql://", "postgresql+psycopg://", 1))


def _rebuild_chunk(url: str, ids: Sequence[str]) -> int:
    from app.trends.state_worker import rebuild

    engine = _engine(url)
    try:
        return rebuild(engine, None, [uuid.UUID(i) for i in ids])
    finally:
        engine.dispose()


def build_state(url: str, *, first: int, last: int, processes: int = 2) -> float:
    """Compute the stored state of patients first … last-1; returns the seconds it took."""
    t0 = time.perf_counter()
    ids = [seed.patient_id(k) for k in range(first, last)]
    chunks = [ids[i::processes] for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        done = sum(pool.map(_rebuild_chunk, [url] * processes, chunks))
    assert done == len(ids), f"state built for {done} of {len(ids)} patients"
    return time.perf_counter() - t0


@dataclass(frozen=True)
class StateCosts:
    rebuild_ms: float  # p50, one patient's two years from the rows
    refresh_ms: float  # p50, the worker's refresh after one new entry
    review_ms: float  # p50, a review of an episode
    n: int

    def lines(self) -> list[str]:
        return [
            f"flag state, p50 of {self.n} patients, one transaction each (bench/state_bench.py): "
            f"rebuild of a 2-year patient {self.rebuild_ms:.1f} ms; the worker's refresh after "
            f"one new entry {self.refresh_ms:.1f} ms; a review {self.review_ms:.1f} ms",
        ]


def time_costs(url: str, *, patients: int, n: int = 30) -> StateCosts:
    """Time the three costs on n seeded patients (their state rebuilt, one entry written for
    tomorrow's refresh, a review of their first open episode)."""
    from app.care.models import Patient
    from app.db import utcnow
    from app.records.changes import enqueue_state
    from app.trends import flag_review
    from app.trends.state_worker import refresh_one

    engine = _engine(url)
    now = utcnow()
    rebuild, refresh, review = [], [], []
    try:
        for k in range(0, patients, max(1, patients // n))[:n]:
            pid = uuid.UUID(seed.patient_id(k))
            t = time.perf_counter()
            refresh_one(engine, pid, now, full=True)
            rebuild.append(time.perf_counter() - t)
            with Session(engine) as s:  # what a diary PUT of today enqueues
                enqueue_state(s, pid, now.date(), now=now)
                s.commit()
            t = time.perf_counter()
            refresh_one(engine, pid, now)
            refresh.append(time.perf_counter() - t)
            with Session(engine) as s:
                patient = s.get_one(Patient, pid)
                open_ = flag_review.episodes_out(s, pid, statuses=["open"])
                if not open_:
                    continue
                t = time.perf_counter()
                clinician = uuid.UUID(seed.clinician_id(k // seed.PANEL_SIZE))
                flag_review.review(
                    s, patient, open_[0].id, clinician_id=clinician, note="seen", now=now
                )
                s.commit()
                review.append(time.perf_counter() - t)
    finally:
        engine.dispose()

    def p50(xs: list[float]) -> float:
        return 1000 * statistics.median(xs) if xs else float("nan")

    return StateCosts(p50(rebuild), p50(refresh), p50(review), len(rebuild))
