"""A load of concurrent clients against a live server, and the bookkeeping that lets a test
compare what the clients saw acknowledged with the rows in the database.

Each client is its own patient and does one thing at a time (as one phone would): diary PUTs
on new and repeated dates, exercise POSTs with an Idempotency-Key (some replayed at once),
sync batches, and reads (list, trends, changes). Every write carries a unique token in
`notes`, so each acknowledged version can be found in the database — in the live row, in
`revisions` when it was replaced, and in `changes` always.

A write answered 503 is retried with the same body (and the same Idempotency-Key), as the
API asks clients to do; a PUT or sync item whose first attempt did land answers `unchanged`
and a POST replays its stored answer, so a retry never makes a second version."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import PASSWORD

ACK_STATUSES = {"created", "updated", "unchanged"}
DAY0 = dt.date(2025, 6, 1)  # entry dates: DAY0 + 0..DATES-1, all in the past
DATES = 40
CLIENT_TIMEOUT = 30.0


@dataclass
class Answer:
    method: str
    route: str
    status: int  # 0: no answer (connection error or client timeout)
    started: float
    took: float
    retry_after: str | None
    problem: bool


@dataclass
class Client:
    name: str
    patient_id: str
    headers: dict[str, str]
    rng: random.Random
    seq: int = 0
    # Acknowledged writes, by token (the `notes` of the version written).
    entry_tokens: dict[str, str] = field(default_factory=dict)  # token -> entry date
    session_tokens: dict[str, str] = field(default_factory=dict)  # token -> session id
    write_requests: int = 0  # acknowledged write requests (a retry counts once)
    replays_checked: int = 0

    def token(self) -> str:
        self.seq += 1
        return f"{self.name}-{self.seq}"


@dataclass
class Report:
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, a: Answer) -> None:
        with self.lock:
            self.answers.append(a)

    def fail(self, msg: str) -> None:
        with self.lock:
            self.errors.append(msg)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)


def register_clients(base: str, n: int, tag: str) -> list[Client]:
    clients = []
    with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT) as http:
        for i in range(n):
            email = f"load-{tag}-{i}@example.org"
            r = http.post("/v1/auth/register", json={
                "email": email, "password": PASSWORD, "display_name": f"L{i}",
                "timezone": "Europe/London"})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            r = http.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            clients.append(Client(f"{tag}{i}", pid, headers, random.Random(f"{tag}-{i}")))
    return clients


class Runner:
    def __init__(self, base: str, report: Report, deadline: float) -> None:
        self.base = base
        self.report = report
        self.deadline = deadline

    # --- one request, timed and recorded ---------------------------------------------------

    def _send(
        self, http: httpx.Client, method: str, route: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        start = time.monotonic()
        try:
            r = http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            took = time.monotonic() - start
            self.report.add(Answer(method, route, 0, start, took, None, False))
            self.report.fail(f"{method} {route}: no answer ({type(exc).__name__}, {took:.1f}s)")
            return None
        self.report.add(Answer(
            method, route, r.status_code, start, time.monotonic() - start,
            r.headers.get("retry-after"),
            r.headers.get("content-type", "").startswith("application/problem+json")))
        return r

    def _until_answered(
        self, http: httpx.Client, method: str, route: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        """Retry after 503 (and after no answer), as a client following Retry-After would
        (waiting less than it says, to keep the load on); give up 60 s after the deadline."""
        while True:
            r = self._send(http, method, route, path, **kw)
            if r is not None and r.status_code != 503:
                return r
            if time.monotonic() > self.deadline + 60:
                self.report.fail(f"{method} {route}: still unanswered 60 s after the run")
                return None
            time.sleep(0.25)

    # --- what a client does -------------------------------------------------------------------

    def put_entry(self, http: httpx.Client, c: Client) -> None:
        day = (DAY0 + dt.timedelta(days=c.rng.randrange(DATES))).isoformat()
        token = c.token()
        body = {"knees": {"left": {"pain": c.rng.randrange(11)}}, "notes": token}
        r = self._until_answered(http, "PUT", "entry", f"/v1/patients/me/symptom-entries/{day}",
                                 headers=c.headers, json=body)
        if r is None:
            return
        if r.status_code in (200, 201) and r.headers.get("etag"):
            c.entry_tokens[token] = day
            c.write_requests += 1
        else:
            self.report.fail(f"PUT entry: {r.status_code} {r.text[:200]}")

    def post_session(self, http: httpx.Client, c: Client) -> None:
        token = c.token()
        body = {"activity": "backward_walking", "duration_minutes": 1 + c.rng.randrange(60),
                "started_at": f"{DAY0 + dt.timedelta(days=c.rng.randrange(DATES))}T09:00:00Z",
                "notes": token}
        headers = {**c.headers, "Idempotency-Key": token}
        r = self._until_answered(http, "POST", "session", "/v1/patients/me/exercise-sessions",
                                 headers=headers, json=body)
        if r is None:
            return
        if r.status_code != 201 or not r.headers.get("etag"):
            self.report.fail(f"POST session: {r.status_code} {r.text[:200]}")
            return
        c.session_tokens[token] = r.json()["id"]
        c.write_requests += 1
        if c.rng.random() < 0.25:  # the client lost the answer and sends it again
            again = self._until_answered(http, "POST", "session",
                                         "/v1/patients/me/exercise-sessions",
                                         headers=headers, json=body)
            c.replays_checked += 1
            if again is None or (again.status_code, again.json()) != (201, r.json()):
                self.report.fail("POST session: the replay differs from the first answer")

    def sync(self, http: httpx.Client, c: Client) -> None:
        entries = []
        for _ in range(2):
            day = (DAY0 + dt.timedelta(days=c.rng.randrange(DATES))).isoformat()
            entries.append({"entry_date": day, "knees": {"right": {"pain": c.rng.randrange(11)}},
                            "notes": c.token()})
        sid = str(uuid.uuid4())
        session = {"id": sid, "activity": "cycling", "duration_minutes": 20,
                   "started_at": f"{DAY0 + dt.timedelta(days=c.rng.randrange(DATES))}T18:00:00Z",
                   "notes": c.token()}
        body = {"symptom_entries": entries, "exercise_sessions": [session]}
        r = self._until_answered(http, "POST", "sync", "/v1/patients/me/sync",
                                 headers=c.headers, json=body)
        if r is None:
            return
        if r.status_code != 200:
            self.report.fail(f"sync: {r.status_code} {r.text[:200]}")
            return
        results = r.json()["results"]
        for item, res in zip([*entries, session], results, strict=True):
            if res["status"] not in ACK_STATUSES or not res.get("etag"):
                self.report.fail(f"sync item: {res}")
            elif "id" in item:
                c.session_tokens[item["notes"]] = sid
            else:
                c.entry_tokens[item["notes"]] = item["entry_date"]
        c.write_requests += 1

    def read(self, http: httpx.Client, c: Client) -> None:
        route, path = c.rng.choice([
            ("list", "/v1/patients/me/symptom-entries?limit=20"),
            ("trend", "/v1/patients/me/trends/pain?from=2025-06-01&to=2025-07-15&bucket=week"),
            ("changes", "/v1/patients/me/changes"),
            ("sessions", "/v1/patients/me/exercise-sessions?limit=20"),
        ])
        r = self._send(http, "GET", route, path, headers=c.headers)
        if r is not None and r.status_code not in (200, 503):
            self.report.fail(f"GET {route}: {r.status_code} {r.text[:200]}")

    def client_loop(self, c: Client) -> None:
        actions = [self.put_entry] * 4 + [self.post_session] * 2 + [self.sync] + [self.read] * 3
        with httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT) as http:
            while time.monotonic() < self.deadline:
                try:
                    c.rng.choice(actions)(http, c)
                except Exception as exc:  # a broken answer body: record it, keep going
                    self.report.fail(f"{c.name}: {type(exc).__name__}: {exc}")


def run_load(base: str, clients: list[Client], seconds: float) -> Report:
    report = Report()
    runner = Runner(base, report, time.monotonic() + seconds)
    threads = [threading.Thread(target=runner.client_loop, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return report


# --- the database against the acknowledgements ----------------------------------------------

CONSISTENCY_SQL = {
    # No version without its entry, no change without its record, no half-applied item.
    "revision without its entry": """
        SELECT count(*) FROM revisions r WHERE r.kind = 'symptom_entry' AND NOT EXISTS (
          SELECT 1 FROM symptom_entries e
          WHERE e.patient_id = r.patient_id AND e.entry_date::text = r.record_key)""",
    "revision of a session (sessions are never replaced here)": """
        SELECT count(*) FROM revisions WHERE kind = 'exercise_session'""",
    "entry whose version is not its number of changes": """
        SELECT count(*) FROM symptom_entries e WHERE e.version <> (
          SELECT count(*) FROM changes c WHERE c.patient_id = e.patient_id
          AND c.kind = 'symptom_entry' AND c.record_key = e.entry_date::text)""",
    "entry whose version is not its revisions + 1": """
        SELECT count(*) FROM symptom_entries e WHERE e.version <> 1 + (
          SELECT count(*) FROM revisions r WHERE r.patient_id = e.patient_id
          AND r.kind = 'symptom_entry' AND r.record_key = e.entry_date::text)""",
    "session without exactly one change": """
        SELECT count(*) FROM exercise_sessions s WHERE 1 <> (
          SELECT count(*) FROM changes c WHERE c.patient_id = s.patient_id
          AND c.kind = 'exercise_session' AND c.record_key = s.id::text)""",
    "change without its record": """
        SELECT count(*) FROM changes c WHERE NOT EXISTS (
          SELECT 1 FROM symptom_entries e WHERE c.kind = 'symptom_entry'
          AND e.patient_id = c.patient_id AND e.entry_date::text = c.record_key)
        AND NOT EXISTS (SELECT 1 FROM exercise_sessions s WHERE c.kind = 'exercise_session'
          AND s.patient_id = c.patient_id AND s.id::text = c.record_key)""",
    "idempotency key without its session": """
        SELECT count(*) FROM idempotency_keys k WHERE k.status_code = 201
        AND k.key LIKE '%-%' AND NOT EXISTS (SELECT 1 FROM exercise_sessions s
          WHERE s.notes = k.key)""",
}


def database_tokens(conn: Any) -> dict[str, Counter[str]]:
    """Every version's token, by where it is found, as multisets."""
    from sqlalchemy import text

    def multiset(sql: str) -> Counter[str]:
        return Counter(row[0] for row in conn.execute(text(sql)))

    return {
        "entries": multiset("SELECT notes FROM symptom_entries")
        + multiset("SELECT payload->>'notes' FROM revisions WHERE kind = 'symptom_entry'"),
        "entry_changes": multiset(
            "SELECT data->>'notes' FROM changes WHERE kind = 'symptom_entry'"),
        "sessions": multiset("SELECT notes FROM exercise_sessions"),
        "session_changes": multiset(
            "SELECT data->>'notes' FROM changes WHERE kind = 'exercise_session'"),
    }


def compare(conn: Any, clients: list[Client]) -> dict[str, Any]:
    """Acknowledged versions against the database; returns figures, asserts exactness."""
    from sqlalchemy import text

    acked_entries = Counter(t for c in clients for t in c.entry_tokens)
    acked_sessions = Counter(t for c in clients for t in c.session_tokens)
    found = database_tokens(conn)
    for where, acked in (("entries", acked_entries), ("entry_changes", acked_entries),
                         ("sessions", acked_sessions), ("session_changes", acked_sessions)):
        missing = acked - found[where]
        extra = found[where] - acked
        assert not missing and not extra, (where, sorted(missing)[:5], sorted(extra)[:5])
    for what, sql in CONSISTENCY_SQL.items():
        n = conn.execute(text(sql)).scalar_one()
        assert n == 0, (what, n)
    # Session ids: what the clients were told is what is stored.
    stored = dict(conn.execute(text("SELECT notes, id::text FROM exercise_sessions")).all())
    for c in clients:
        for token, sid in c.session_tokens.items():
            assert stored[token] == sid, (token, sid, stored[token])
    audited = conn.execute(text(
        "SELECT count(*) FROM audit_events WHERE action = 'write' AND outcome = 'allowed'"
    )).scalar_one()
    rows = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (
        "symptom_entries", "exercise_sessions", "revisions", "changes")}
    return {
        "acknowledged entry versions": sum(acked_entries.values()),
        "acknowledged sessions": sum(acked_sessions.values()),
        "acknowledged write requests": sum(c.write_requests for c in clients),
        "replays checked": sum(c.replays_checked for c in clients),
        "audit write events (allowed)": audited,
        **{f"rows {t}": n for t, n in rows.items()},
    }
