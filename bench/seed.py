"""The benchmark's database: created fresh, migrated with the product's migrations, and seeded
through the bulk path (COPY via psycopg) with deterministic data.

Patients k = 0 … N-1 each have a daily diary entry for the `days` days ending yesterday (UTC),
written day after day for every patient (the order a live system stores them in, so one
patient's history is spread over the table as in production), 2 backward-walking sessions a
week and a plan. Clinician c looks after patients 200c … 200c+199 (a panel of 200). Writer
patients (no history) receive the benchmark's writes, each to a (patient, date) never used."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from app.auth.security import create_access_token, hash_password

PANEL_SIZE = 200
DAYS = 730
TIMEZONES = ("Europe/London", "America/New_York", "Europe/Berlin", "UTC", "Australia/Sydney")


def _uuid(kind: int, k: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{k:012x}"


def patient_id(k: int) -> str:
    return _uuid(0x10000000, k)


def clinician_id(c: int) -> str:
    return _uuid(0x20000000, c)


def writer_id(w: int) -> str:
    return _uuid(0x30000000, w)


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(url: str) -> None:
    """Drop and create the database named in `url`. Refuses a name without "bench" in it, so
    that a DATABASE_URL pointing at real data is never wiped."""
    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to recreate database {name!r}: its name must contain 'bench'")
    admin = libpq_url(str(parsed.set(database="postgres").render_as_string(hide_password=False)))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = libpq_url(str(parsed.set(database="postgres").render_as_string(hide_password=False)))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def migrate(url: str) -> None:
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)


# --- bulk data --------------------------------------------------------------------------------

ENTRY_COPY = (
    "COPY symptom_entries (id, patient_id, entry_date, version, left_pain, left_stiffness, "
    "left_swelling, left_warmth, left_giving_way, left_flexion, left_extension, left_rom_method, "
    "right_pain, right_stiffness, right_swelling, right_warmth, right_giving_way, right_flexion, "
    "right_extension, right_rom_method, morning_stiffness_minutes, flare, notes, recorded_at, "
    "created_at, updated_at) FROM STDIN"
)
SESSION_COPY = (
    "COPY exercise_sessions (patient_id, id, version, activity, started_at, utc_offset_minutes, "
    "local_date, duration_minutes, distance_m, steps, rpe, pain_before, pain_after, setting, "
    "supervised, falls, near_falls, plan_id, created_at, updated_at) FROM STDIN"
)


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


@dataclass(frozen=True)
class Profile:
    """Per patient: a starting pain level that drifts down over the two years, by patient."""

    pid: str
    pain0: int
    drop: int
    flex0: int


def _profiles(first: int, last: int) -> list[Profile]:
    rng = random.Random(first)
    return [
        Profile(patient_id(k), rng.randint(3, 8), rng.randint(0, 4), rng.randint(95, 125))
        for k in range(first, last)
    ]


NOISE = [random.Random(7).choice((-1, 0, 0, 1)) for _ in range(8191)]


def _entry_lines(profiles: list[Profile], first: int, start: dt.date, days: int) -> Iterator[str]:
    """COPY text, one chunk per day, every patient's entry for that day."""
    for d in range(days):
        day = (start + dt.timedelta(days=d)).isoformat()
        ts = f"{day} 20:00:00+00"
        frac4 = 4 * d // days  # 0..3 across the two years
        out = []
        for i, p in enumerate(profiles):
            k = first + i
            nz = NOISE[(k * 131 + d * 7) % 8191]
            nz2 = NOISE[(k * 17 + d * 29) % 8191]
            pain = _clamp(p.pain0 - p.drop * frac4 // 3 + nz, 0, 10)
            other = _clamp(pain - 2 + nz2, 0, 10)
            flex = _clamp(p.flex0 + 3 * frac4 + nz2, 0, 170)
            swell = pain // 4
            out.append(
                f"{_uuid(0x50000000, k * 1000 + d)}\t{p.pid}\t{day}\t1"
                f"\t{pain}\t{_clamp(pain - 1, 0, 10)}\t{swell}\tf\tf\t{flex}\t{5 - frac4}"
                f"\tsmartphone_app\t{other}\t{_clamp(other - 1, 0, 10)}\t0\tf\tf\t\\N\t\\N\t\\N"
                f"\t{15 + 5 * pain + nz * 5}\t{'t' if pain >= 8 else 'f'}\t\\N"
                f"\t{ts}\t{ts}\t{ts}\n"
            )
        yield "".join(out)


def _session_lines(profiles: list[Profile], first: int, start: dt.date, days: int) -> Iterator[str]:
    """Two backward-walking sessions a week per patient."""
    for d in range(days):
        day = (start + dt.timedelta(days=d)).isoformat()
        ts = f"{day} 10:00:00+00"
        out = []
        for i, p in enumerate(profiles):
            k = first + i
            if (d + k) % 7 not in (1, 4):
                continue
            nz = NOISE[(k * 13 + d * 11) % 8191]
            minutes = 15 + 5 * nz + (d * 10) // days
            out.append(
                f"{p.pid}\t{_uuid(0x60000000, k * 1000 + d)}\t1\tbackward_walking\t{ts}\t0\t{day}"
                f"\t{minutes}\t{minutes * 40}\t{minutes * 90}\t{3 + nz}\t{p.pain0}"
                f"\t{_clamp(p.pain0 - 1 + nz, 0, 10)}\tindoor\tt\t0\t0\t{_uuid(0x70000000, k)}"
                f"\t{ts}\t{ts}\n"
            )
        yield "".join(out)


def _copy(conn: psycopg.Connection, sql: str, chunks: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for chunk in chunks:
            copy.write(chunk)


def _copy_rows(conn: psycopg.Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class Indexes:
    """The indexes and key constraints of a table, dropped for a bulk load and rebuilt after."""

    table: str
    constraints: list[tuple[str, str]]
    indexes: list[str]

    @classmethod
    def drop(cls, conn: psycopg.Connection, table: str) -> Indexes:
        cons = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') "
            "ORDER BY contype = 'f', contype = 'u'",
            (table,),
        ).fetchall()
        idx = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (table, table),
        ).fetchall()
        for name, _ in cons[::-1]:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in idx:
            conn.execute(f'DROP INDEX "{name}"')
        return cls(table, [(n, d) for n, d in cons], [d for _, d in idx])

    def restore(self, conn: psycopg.Connection) -> None:
        for name, definition in self.constraints:
            conn.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')
        for definition in self.indexes:
            conn.execute(definition)


@dataclass
class SeedReport:
    patients: int
    entries: int
    sessions: int
    seconds: float


PASSWORD = "bench-password-not-secret"


def seed_people(
    conn: psycopg.Connection, *, first: int, last: int, writers: int, start: dt.date
) -> None:
    """Users, patient profiles, plans and care teams for patients first … last-1 (and their
    clinicians), plus `writers` writer patients when asked."""
    pw = hash_password(PASSWORD)
    now = dt.datetime.now(dt.UTC)
    users: list[tuple[object, ...]] = []
    patients: list[tuple[object, ...]] = []
    for k in range(first, last):
        pid = patient_id(k)
        users.append(
            (pid, f"p{k}@bench.kneetrack.dev", pw, "patient", f"Patient {k:05d}", now, now)
        )
        patients.append(
            (pid, TIMEZONES[k % len(TIMEZONES)], 1950 + k % 30, "female", "left", now, now)
        )
    for w in range(writers):
        wid = writer_id(w)
        users.append((wid, f"w{w}@bench.kneetrack.dev", pw, "patient", f"Writer {w:05d}", now, now))
        patients.append((wid, "UTC", 1960, "male", "right", now, now))
    first_c, last_c = -(-first // PANEL_SIZE), -(-last // PANEL_SIZE)
    for c in range(first_c, last_c):
        cid = clinician_id(c)
        users.append(
            (cid, f"c{c}@bench.kneetrack.dev", pw, "clinician", f"Clinician {c:03d}", now, now)
        )
    _copy_rows(
        conn,
        "COPY users (id, email, password_hash, role, display_name, created_at, "
        "updated_at) FROM STDIN",
        users,
    )
    _copy_rows(
        conn,
        "COPY patients (id, timezone, birth_year, sex, index_knee, created_at, "
        "updated_at) FROM STDIN",
        patients,
    )
    team = [
        (patient_id(k), clinician_id(k // PANEL_SIZE), "invitation", now)
        for k in range(first, last)
    ]
    _copy_rows(
        conn,
        "COPY care_team_members (patient_id, clinician_id, granted_via, granted_at) FROM STDIN",
        team,
    )
    plans = [
        (
            _uuid(0x70000000, k),
            patient_id(k),
            clinician_id(k // PANEL_SIZE),
            "backward_walking",
            20,
            3,
            start,
            1,
            now,
            now,
        )
        for k in range(first, last)
    ]
    _copy_rows(
        conn,
        "COPY exercise_plans (id, patient_id, clinician_id, activity, "
        "minutes_per_session, sessions_per_week, start_date, version, created_at, "
        "updated_at) FROM STDIN",
        plans,
    )


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def seed(url: str, *, first: int, last: int, writers: int, days: int, end: dt.date) -> SeedReport:
    """Seed patients first … last-1 with `days` days of history ending at `end`. Large loads
    drop the two big tables' indexes and keys first and rebuild them after."""
    t0 = time.perf_counter()
    start = end - dt.timedelta(days=days - 1)
    n = last - first
    bulky = n * days > 500_000
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")  # the load only, not the product
        conn.execute("SET maintenance_work_mem = '512MB'")
        seed_people(conn, first=first, last=last, writers=writers, start=start)
        conn.commit()
        sessions_before = _count(conn, "exercise_sessions")
        dropped = []
        if bulky:
            dropped = [Indexes.drop(conn, t) for t in ("symptom_entries", "exercise_sessions")]
            conn.commit()
        # One day's chunk holds every patient's row of that day (10,000 rows, under 2 MB).
        profiles = _profiles(first, last)
        _copy(conn, ENTRY_COPY, _entry_lines(profiles, first, start, days))
        _copy(conn, SESSION_COPY, _session_lines(profiles, first, start, days))
        conn.commit()
        entries = n * days
        sessions = _count(conn, "exercise_sessions") - sessions_before
        for d in dropped:
            d.restore(conn)
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        # autovacuum may be off: statistics and the visibility map are set explicitly.
        for table in (
            "users",
            "patients",
            "care_team_members",
            "exercise_plans",
            "symptom_entries",
            "exercise_sessions",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")
        # Write the seeded pages out now: otherwise the checkpoint that follows a large COPY
        # runs under the first measurements (a read limit measured at 10 × its value).
        # (Not a superuser: no checkpoint, and the first measurements may share the disk.)
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
    return SeedReport(n, entries, sessions, time.perf_counter() - t0)


BENCH_SECRET = "kneetrack-bench-secret-not-for-production-0123456789"


def use_bench_secret() -> str:
    """The secret the benchmark signs its tokens with and gives its servers: the configured
    one, or a bench secret of its own (`kneetrack serve` never signs with the public default,
    so the default cannot be shared between this process and the servers)."""
    from app.config import DEFAULT_SECRET, get_settings

    if get_settings().secret_key == DEFAULT_SECRET:
        os.environ["KNEETRACK_SECRET_KEY"] = BENCH_SECRET
        get_settings.cache_clear()
    return get_settings().secret_key


def mint_tokens(url: str, accounts: Sequence[tuple[str, str]]) -> list[str]:
    """Access tokens for seeded accounts `(user id, role)`, each with a sign-in of its own
    recorded in the bench database (a token is accepted only for a sign-in issued to its
    account): one connection and one batch of inserts for them all."""
    use_bench_secret()
    now = dt.datetime.now(dt.UTC)
    families = [uuid.uuid4() for _ in accounts]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, "
            "expires_at) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    uuid.uuid4(),
                    uuid.UUID(uid),
                    family,
                    uuid.uuid4().hex * 2,
                    now,
                    now + dt.timedelta(days=2),
                )
                for (uid, _), family in zip(accounts, families, strict=True)
            ],
        )
    return [
        create_access_token(user_id=uuid.UUID(uid), role=role, family_id=family, now=now)[0]
        for (uid, role), family in zip(accounts, families, strict=True)
    ]
