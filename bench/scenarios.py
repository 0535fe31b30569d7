"""What the benchmark runs: the product's scenarios and the ceilings they are compared with."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import seed

BATCH_ROWS = 500
Line = tuple[str, str, str]  # method, path, bearer token


@dataclass
class Ctx:
    """The seeded world a phase runs against."""

    end: dt.date  # the last seeded day (yesterday, UTC)
    days: int
    patients: int  # seeded patients 0 … patients-1
    writers: list[tuple[str, str]]  # (patient id, token), patients without history
    readers: list[tuple[str, str]]  # a sample of seeded patients
    clinicians: list[tuple[str, str]]
    scale: str  # "small" | "large"
    next_offset: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def window(self) -> tuple[str, str]:
        return (self.end - dt.timedelta(days=self.days - 1)).isoformat(), self.end.isoformat()

    def alloc_dates(self, n: int) -> list[str]:
        """Dates never written for any writer patient yet (going back from yesterday)."""
        first = self.next_offset
        self.next_offset += n
        return [(self.end - dt.timedelta(days=first + i)).isoformat() for i in range(n)]


def make_ctx(
    url: str,
    *,
    end: dt.date,
    days: int,
    patients: int,
    writers: int,
    scale: str,
    sample: int = 500,
) -> Ctx:
    rng = random.Random(patients)
    ks = rng.sample(range(patients), min(sample, patients))
    clinicians = range(math.ceil(patients / seed.PANEL_SIZE))
    accounts = (
        [(seed.writer_id(w), "patient") for w in range(writers)]
        + [(seed.patient_id(k), "patient") for k in ks]
        + [(seed.clinician_id(c), "clinician") for c in clinicians]
    )
    tokens = seed.mint_tokens(url, accounts)
    pairs = [(uid, token) for (uid, _), token in zip(accounts, tokens, strict=True)]
    return Ctx(
        end=end,
        days=days,
        patients=patients,
        writers=pairs[:writers],
        readers=pairs[writers : writers + len(ks)],
        clinicians=pairs[writers + len(ks) :],
        scale=scale,
    )


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: str  # "product" | "ceilings"
    mode: str  # read | put | batch | mixed (see requests.lua)
    conns: int
    workers: tuple[int, ...] = (1, 2)
    template: str = ""  # put/batch/mixed: the write path, with {pid} (and {date})
    reads: Callable[[Ctx], list[Line]] | None = None
    route: tuple[str, str] | None = None  # the product route it needs, as in /openapi.json
    rows: int = 1  # rows written per request
    ceiling: str | None = None  # key of the ceiling it is compared with
    compare: str = "throughput"  # throughput: rows/s share; latency: p50 multiple
    memory: bool = False  # export: peak RSS vs idle
    # A new connection for every request (reads under load). With keep-alive, uvicorn's workers
    # accept from one shared socket and the first to wake takes every connection wrk opens at
    # once, so a 2-worker run would measure where the connections landed.
    reconnect: bool = False
    scales: tuple[str, ...] = ("large",)


# --- read request lists --------------------------------------------------------------------


def trend_reads(c: Ctx) -> list[Line]:
    f, t = c.window
    return [("GET", f"/v1/patients/{p}/trends/pain?from={f}&to={t}", tok) for p, tok in c.readers]


def ceiling_trend_reads(c: Ctx) -> list[Line]:
    f, t = c.window
    return [
        ("GET", f"/ceiling/trend/{p}/pain?date_from={f}&date_to={t}", "-") for p, _ in c.readers
    ]


def summary_reads(c: Ctx) -> list[Line]:
    f, t = c.window
    return [("GET", f"/v1/patients/{p}/trends?from={f}&to={t}", tok) for p, tok in c.readers]


def ceiling_summary_reads(c: Ctx) -> list[Line]:
    f, t = c.window
    return [("GET", f"/ceiling/summary/{p}?date_from={f}&date_to={t}", "-") for p, _ in c.readers]


def panel_reads(c: Ctx) -> list[Line]:
    return [
        ("GET", "/v1/clinicians/me/patients?sort=concern&limit=200", t) for _, t in c.clinicians
    ]


def ceiling_panel_reads(c: Ctx) -> list[Line]:
    return [("GET", f"/ceiling/panel/{cid}", "-") for cid, _ in c.clinicians]


def csv_reads(c: Ctx) -> list[Line]:
    return [("GET", f"/v1/patients/{p}/export.csv?kind=symptoms", tok) for p, tok in c.readers]


def fhir_reads(c: Ctx) -> list[Line]:
    return [("GET", f"/v1/patients/{p}/export.fhir", tok) for p, tok in c.readers]


def ceiling_export_reads(c: Ctx) -> list[Line]:
    return [("GET", f"/ceiling/export/{p}", "-") for p, _ in c.readers]


def app_reads(c: Ctx) -> list[Line]:
    """What the app reads: one day's entry, the last 30 entries and (when the endpoint exists)
    the default 90-day pain trend, in turn, across patients."""
    rng = random.Random(1)
    f30 = (c.end - dt.timedelta(days=29)).isoformat()
    lines: list[Line] = []
    with_trend = bool(c.extra.get("has_trends"))
    for p, tok in c.readers:
        day = (c.end - dt.timedelta(days=rng.randrange(c.days))).isoformat()
        lines.append(("GET", f"/v1/patients/{p}/symptom-entries/{day}", tok))
        lines.append(("GET", f"/v1/patients/{p}/symptom-entries?from={f30}&limit=30", tok))
        if with_trend:
            lines.append(("GET", f"/v1/patients/{p}/trends/pain", tok))
    rng.shuffle(lines)
    return lines


PUT_PATH = "/v1/patients/{pid}/symptom-entries/{date}"
PUT_ROUTE = ("PUT", "/v1/patients/{pid}/symptom-entries/{entry_date}")
ONE = (1,)
TWO = (2,)  # read ceilings under load: the 2-worker figures the targets use

SCENARIOS: list[Scenario] = [
    # ceilings
    Scenario(
        "c_validate",
        "(a) framework: validate the diary body, no database",
        "ceilings",
        "put",
        64,
        template="/ceiling/validate/{pid}/{date}",
    ),
    Scenario(
        "c_raw_insert",
        "(b) write limit: one row, raw psycopg, autocommit",
        "ceilings",
        "put",
        64,
        template="/ceiling/insert/raw/{pid}/{date}",
    ),
    Scenario(
        "c_naive",
        "(c) naive peer: SQLModel add + commit",
        "ceilings",
        "put",
        64,
        template="/ceiling/insert/sqlmodel/{pid}/{date}",
    ),
    Scenario(
        "c_executemany",
        "(d) bulk limit: 500 rows, executemany",
        "ceilings",
        "batch",
        16,
        template="/ceiling/bulk/executemany/{pid}",
        rows=BATCH_ROWS,
    ),
    Scenario(
        "c_copy",
        "(d) bulk limit: 500 rows, COPY",
        "ceilings",
        "batch",
        16,
        template="/ceiling/bulk/copy/{pid}",
        rows=BATCH_ROWS,
    ),
    Scenario(
        "c_trend_lat",
        "(e) read limit: 2-year pain series + aggregates",
        "ceilings",
        "read",
        1,
        ONE,
        reads=ceiling_trend_reads,
        scales=("small", "large"),
    ),
    Scenario(
        "c_trend",
        "(e) read limit: 2-year pain series + aggregates",
        "ceilings",
        "read",
        16,
        TWO,
        reads=ceiling_trend_reads,
        reconnect=True,
    ),
    Scenario(
        "c_summary_lat",
        "(e) read limit: 2-year all-metrics aggregates",
        "ceilings",
        "read",
        1,
        ONE,
        reads=ceiling_summary_reads,
        scales=("small", "large"),
    ),
    Scenario(
        "c_summary",
        "(e) read limit: 2-year all-metrics aggregates",
        "ceilings",
        "read",
        16,
        TWO,
        reads=ceiling_summary_reads,
        reconnect=True,
    ),
    Scenario(
        "c_panel_lat",
        "(e) read limit: panel of 200, hand-written SQL",
        "ceilings",
        "read",
        1,
        ONE,
        reads=ceiling_panel_reads,
        scales=("small", "large"),
    ),
    Scenario(
        "c_panel",
        "(e) read limit: panel of 200, hand-written SQL",
        "ceilings",
        "read",
        4,
        TWO,
        reads=ceiling_panel_reads,
        reconnect=True,
    ),
    Scenario(
        "c_export_lat",
        "(e) read limit: 2-year CSV built in memory",
        "ceilings",
        "read",
        1,
        ONE,
        reads=ceiling_export_reads,
    ),
    Scenario(
        "c_export",
        "(e) read limit: 2-year CSV built in memory",
        "ceilings",
        "read",
        8,
        TWO,
        reads=ceiling_export_reads,
        reconnect=True,
    ),
    # the product
    Scenario(
        "diary_put",
        "diary PUT, a new entry each",
        "product",
        "put",
        64,
        template=PUT_PATH,
        route=PUT_ROUTE,
        ceiling="c_raw_insert",
    ),
    Scenario(
        "sync_500",
        "sync, batches of 500 new entries",
        "product",
        "batch",
        16,
        template="/v1/patients/{pid}/sync",
        route=("POST", "/v1/patients/{pid}/sync"),
        rows=BATCH_ROWS,
        ceiling="c_executemany",
    ),
    Scenario(
        "trend_lat",
        "2-year pain trend, 1 connection",
        "product",
        "read",
        1,
        ONE,
        reads=trend_reads,
        route=("GET", "/v1/patients/{pid}/trends/{metric}"),
        ceiling="c_trend_lat",
        compare="latency",
        scales=("small", "large"),
    ),
    Scenario(
        "trend",
        "2-year pain trend",
        "product",
        "read",
        16,
        reads=trend_reads,
        route=("GET", "/v1/patients/{pid}/trends/{metric}"),
        ceiling="c_trend",
        reconnect=True,
    ),
    Scenario(
        "summary_lat",
        "2-year all-metrics summary, 1 connection",
        "product",
        "read",
        1,
        ONE,
        reads=summary_reads,
        route=("GET", "/v1/patients/{pid}/trends"),
        ceiling="c_summary_lat",
        compare="latency",
        scales=("small", "large"),
    ),
    Scenario(
        "summary",
        "2-year all-metrics summary",
        "product",
        "read",
        16,
        reads=summary_reads,
        route=("GET", "/v1/patients/{pid}/trends"),
        ceiling="c_summary",
        reconnect=True,
    ),
    Scenario(
        "panel_lat",
        "clinician panel of 200, 1 connection",
        "product",
        "read",
        1,
        ONE,
        reads=panel_reads,
        route=("GET", "/v1/clinicians/me/patients"),
        ceiling="c_panel_lat",
        compare="latency",
        scales=("small", "large"),
    ),
    Scenario(
        "panel",
        "clinician panel of 200",
        "product",
        "read",
        4,
        reads=panel_reads,
        route=("GET", "/v1/clinicians/me/patients"),
        ceiling="c_panel",
        reconnect=True,
    ),
    Scenario(
        "csv_lat",
        "CSV export of 2 years, 1 connection",
        "product",
        "read",
        1,
        ONE,
        reads=csv_reads,
        route=("GET", "/v1/patients/{pid}/export.csv"),
        ceiling="c_export_lat",
        compare="latency",
        memory=True,
    ),
    Scenario(
        "csv",
        "CSV export of 2 years",
        "product",
        "read",
        8,
        reads=csv_reads,
        route=("GET", "/v1/patients/{pid}/export.csv"),
        ceiling="c_export",
        reconnect=True,
    ),
    Scenario(
        "fhir_lat",
        "FHIR export of 2 years, 1 connection",
        "product",
        "read",
        1,
        ONE,
        reads=fhir_reads,
        route=("GET", "/v1/patients/{pid}/export.fhir"),
        ceiling="c_export_lat",
        compare="latency",
        memory=True,
    ),
    Scenario(
        "fhir",
        "FHIR export of 2 years",
        "product",
        "read",
        8,
        reads=fhir_reads,
        route=("GET", "/v1/patients/{pid}/export.fhir"),
        ceiling="c_export",
        reconnect=True,
    ),
    Scenario(
        "mixed",
        "mixed app workload, 70 % reads",
        "product",
        "mixed",
        64,
        template=PUT_PATH,
        reads=app_reads,
        route=PUT_ROUTE,
        ceiling="c_validate",
    ),
]

BY_KEY = {s.key: s for s in SCENARIOS}
