"""Runs the benchmark: database, seed, servers, load, report."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import profile, seed, state_bench
from bench.common import DIARY_BODY
from bench.load import (
    Replicas,
    RssSampler,
    Server,
    WrkResult,
    cpu_seconds,
    machine,
    rss_mb,
    run_wrk,
    wait_quiet,
    wrk_available,
)
from bench.scenarios import SCENARIOS, Ctx, Scenario, make_ctx

ROOT = Path(__file__).resolve().parent.parent
MAX_PUT_RATE = 15_000  # req/s: sizes the fresh dates each write run gets
MAX_BATCH_RATE = 400
READ_PERCENT = 70  # the mixed workload's share of reads


@dataclass
class Options:
    database_url: str
    patients: int = 10_000
    small: int = 200
    days: int = seed.DAYS
    writers: int = 2048
    duration: float = 3.0
    runs: int = 3
    warmup: float = 1.0
    workers: tuple[int, ...] = (1, 2)
    only: frozenset[str] = frozenset()
    reuse: bool = False
    quick: bool = False
    keep: bool = True
    profile: Path | None = None  # py-spy the first timed run of each scenario into this folder
    replicas: int = 0  # > 0: the multi-worker product scenarios again, replicas behind HAProxy
    command: str = "python -m bench"
    # The interpreter of the environment the product runs in: this one, or a production
    # install without the dev dependencies (`make bench-venv`), whose imports differ.
    product_python: str = sys.executable


@dataclass
class Measured:
    scenario: Scenario
    workers: int
    scale: str
    status: str = "ok"
    runs: list[WrkResult] = field(default_factory=list)
    rss_mb: float | None = None
    idle_mb: float | None = None
    peak_mb: float | None = None
    cpu_ms: float | None = None  # server CPU time per request, all workers
    topology: str = ""  # "" (one server, N workers) or "HAProxy" (N replicas behind it)
    stored: float | None = None  # rows found in the database ÷ rows the answered requests wrote

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.rps > 0

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs) if self.runs else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rps * self.scenario.rows

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs if r.requests)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs if r.requests)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


@dataclass
class Outcome:
    options: Options
    results: list[Measured] = field(default_factory=list)
    seed_notes: list[str] = field(default_factory=list)
    started: str = ""
    seconds: float = 0.0
    postgres: str = ""
    limits_store: str = ""

    def get(self, key: str, workers: int, scale: str = "large") -> Measured | None:
        for m in self.results:
            if (
                m.scenario.key == key
                and m.workers == workers
                and m.scale == scale
                and not m.topology
            ):
                return m
        return None


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- one scenario ---------------------------------------------------------------------------


class Files:
    """The data files one wrk run reads (see requests.lua)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0
        self.last_dates: tuple[str, str] | None = None  # oldest, newest of the last write run

    def write(
        self,
        ctx: Ctx,
        s: Scenario,
        reads: list[tuple[str, str, str]],
        seconds: float,
    ) -> str:
        self.n += 1
        prefix = self.root / f"{s.key}-{self.n}"
        if reads:
            prefix.with_suffix(".req").write_text("".join(f"{m}\t{p}\t{t}\n" for m, p, t in reads))
        if s.mode in ("put", "batch", "mixed"):
            who = ctx.writers
            prefix.with_suffix(".who").write_text("".join(f"{p}\t{t}\n" for p, t in who))
            if s.mode == "batch":
                blocks = math.ceil(MAX_BATCH_RATE * (seconds + 1) / len(who)) + 1
                dates = ctx.alloc_dates(blocks * s.rows)
            else:
                dates = ctx.alloc_dates(math.ceil(MAX_PUT_RATE * (seconds + 1) / len(who)) + 1)
            prefix.with_suffix(".dates").write_text("\n".join(dates) + "\n")
            self.last_dates = (dates[-1], dates[0])
            prefix.with_suffix(".body").write_text(json.dumps(DIARY_BODY, separators=(",", ":")))
        return str(prefix)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def probe(server: Server, ctx: Ctx, s: Scenario, reads: list[tuple[str, str, str]]) -> str:
    """One request made as the load makes them; "ok" or why the scenario cannot run."""
    if s.server == "product" and s.route and not server.has_route(*s.route):
        return "n/a (endpoint missing)"
    requests: list[tuple[str, str, str, Any]] = []
    if reads:
        m, p, t = reads[0]
        requests.append((m, p, t, None))
    if s.mode in ("put", "mixed"):
        pid, tok = ctx.writers[0]
        day = ctx.alloc_dates(1)[0]
        path = s.template.replace("{pid}", pid).replace("{date}", day)
        requests.append(("PUT", path, tok, DIARY_BODY))
    if s.mode == "batch":
        pid, tok = ctx.writers[0]
        items = [{"entry_date": d, **DIARY_BODY} for d in ctx.alloc_dates(s.rows)]
        body = {"symptom_entries": items, "exercise_sessions": [], "deletions": []}
        requests.append(("POST", s.template.replace("{pid}", pid), tok, body))
    for method, path, tok, body in requests:
        try:
            r = httpx.request(method, server.base + path, headers=_auth(tok), json=body, timeout=60)
        except httpx.HTTPError as exc:
            return f"error: {type(exc).__name__}"
        if method == "PUT" and r.status_code != 201:
            return f"error: HTTP {r.status_code} where 201 (created) was expected"
        results = r.json().get("results") if method == "POST" and r.status_code == 200 else None
        if isinstance(results, list):
            bad = [x.get("status") for x in results if x.get("status") != "created"]
            if bad or len(results) != s.rows:
                return f"error: {len(bad)} of {len(results)} batch items not created ({bad[:1]})"
        if r.status_code >= 300:
            title = ""
            if "json" in r.headers.get("content-type", ""):
                title = str(r.json().get("detail") or r.json().get("title") or "")[:60]
            return f"error: HTTP {r.status_code} {title}".rstrip()
    return "ok"


def _expected_rows(m: Measured) -> int:
    return sum(r.requests for r in m.runs) * m.scenario.rows


def stored_rows(url: str, ctx: Ctx, ranges: list[tuple[str, str]]) -> int:
    """Diary rows the writer patients hold in the given date ranges."""
    writers = [uuid.UUID(p) for p, _ in ctx.writers]
    total = 0
    with psycopg.connect(seed.libpq_url(url)) as conn:
        for lo, hi in ranges:
            # a join on the array, not `= ANY(…)`: one index range per writer, never a scan
            row = conn.execute(
                "SELECT count(*) FROM unnest(%s::uuid[]) AS w(id) JOIN symptom_entries e "
                "ON e.patient_id = w.id AND e.entry_date BETWEEN %s AND %s",
                (writers, lo, hi),
            ).fetchone()
            total += row[0] if row else 0
    return total


def run_scenario(server: Server, ctx: Ctx, s: Scenario, opts: Options, files: Files) -> Measured:
    m = Measured(s, server.workers, ctx.scale, topology=server.topology)
    waited = wait_quiet(server.worker_pids())
    if waited > 1:
        log(f"  {s.key:14} waited {waited:.1f} s for the previous scenario's requests to end")
    reads = s.reads(ctx) if s.reads else []
    m.status = probe(server, ctx, s, reads)
    if m.status != "ok":
        log(f"  {s.key:14} {server.workers}w {ctx.scale}: {m.status}")
        return m

    def lua_args(secs: float) -> list[str]:
        prefix = files.write(ctx, s, reads, secs)
        tail = ["close"] if s.reconnect else []
        return [s.mode, prefix, s.template, str(s.rows), str(READ_PERCENT), *tail]

    timeout = 60 if s.rows > 1 or s.memory else 30
    if opts.warmup > 0:
        run_wrk(
            server.base,
            connections=s.conns,
            seconds=opts.warmup,
            args=lua_args(opts.warmup),
            timeout_s=timeout,
        )
    pids = server.worker_pids()
    if s.memory:
        m.idle_mb = max((rss_mb(p) or 0.0) for p in pids)
    cpu0 = sum(cpu_seconds(p) for p in pids)
    ranges: list[tuple[str, str]] = []
    spy = None
    if opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
        stacks = opts.profile / f"{s.key}-{server.workers}w-{ctx.scale}.txt"
        spy = profile.start(pids[0], opts.duration, stacks)
    with RssSampler(pids, interval=0.01 if s.memory else 0.05) as sampler:
        for _ in range(opts.runs):
            args = lua_args(opts.duration)
            if files.last_dates and s.mode != "read":
                ranges.append(files.last_dates)
            m.runs.append(
                run_wrk(
                    server.base,
                    connections=s.conns,
                    seconds=opts.duration,
                    args=args,
                    timeout_s=timeout,
                )
            )
    m.rss_mb = sampler.max_mb
    if spy is not None:
        spy.wait()
        summary = profile.summarise(stacks, ROOT)
        stacks.with_suffix(".summary.txt").write_text("\n".join(summary) + "\n")
        log("\n".join(summary[: profile.TOP + 1]))
    done = sum(r.requests for r in m.runs)
    if done:
        m.cpu_ms = (sum(cpu_seconds(p) for p in pids) - cpu0) * 1000 / done
    if s.memory:
        m.peak_mb = sampler.max_mb
    if not any(r.requests for r in m.runs):
        m.status = f"too slow: no answer within {opts.duration:g} s"
    if ranges and s.mode != "mixed" and s.key != "c_validate":  # mixed: no exact count
        m.stored = stored_rows(opts.database_url, ctx, ranges) / max(1, _expected_rows(m))
    if not m.ok:
        log(f"  {s.key:14} {server.workers}w {ctx.scale}: {m.status}")
        return m
    log(
        f"  {s.key:14} {server.workers}w {ctx.scale}: {m.rps:9.1f} req/s  p50 {m.p50:7.2f} ms"
        f"  p99 {m.p99:7.2f} ms  errors {m.errors}  CPU {m.cpu_ms or 0:.2f} ms/req"
        + (f"  stored {100 * m.stored:.0f} %" if m.stored is not None else "")
    )
    return m


# --- phases ----------------------------------------------------------------------------------


def _server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env["KNEETRACK_SECRET_KEY"] = seed.use_bench_secret()  # the tokens this process minted
    env["KNEETRACK_ACCESS_TOKEN_MINUTES"] = "1440"  # tokens outlive the run
    # Requests are still counted against the per-principal limit (its cost is measured), but
    # the benchmark's few principals must not be refused for going faster than a person.
    env["KNEETRACK_RATE_LIMIT_PRINCIPAL"] = "100000000/minute"
    env["KNEETRACK_RATE_LIMIT_KEY_PREFIX"] = f"kneetrack-bench-{os.getpid()}"
    # The state worker off: request CPU is the request's own; the worker's refresh per written
    # patient is timed apart (bench/state_bench.py).
    env["KNEETRACK_STATE_INTERVAL_SECONDS"] = "0"
    env.pop("PYTHONSTARTUP", None)
    return env


def _todo(opts: Options, kind: str, workers: int, scale: str) -> list[Scenario]:
    return [
        s
        for s in SCENARIOS
        if s.server == kind
        and workers in s.workers
        and scale in s.scales
        and (not opts.only or s.key in opts.only)
    ]


def run_on(out: Outcome, ctx: Ctx, server: Server, todo: list[Scenario], files: Files) -> None:
    """Start `server`, run `todo` on it, stop it. A scenario that breaks, or a server that
    cannot start, is reported as an error, not fatal."""
    opts = out.options

    def broken(s: Scenario, exc: Exception) -> Measured:
        status = f"error: {str(exc)[:80]}"
        m = Measured(s, server.workers, ctx.scale, status=status, topology=server.topology)
        out.results.append(m)
        return m

    try:
        server.start()
    except RuntimeError as exc:
        for s in todo:
            broken(s, exc)
        log(f"  server did not start: {exc}")
        return
    try:
        ctx.extra["has_trends"] = server.has_route("GET", "/v1/patients/{pid}/trends/{metric}")
        for s in todo:
            try:
                out.results.append(run_scenario(server, ctx, s, opts, files))
            except Exception as exc:
                m = broken(s, exc)
                log(f"  {s.key}: {m.status}\n{server.log_tail(800)}")
    finally:
        server.stop()


def run_phase(
    out: Outcome,
    ctx: Ctx,
    *,
    workers: tuple[int, ...],
    scale: str,
    tmp: Path,
    files: Files,
) -> None:
    opts = out.options
    env = _server_env(opts.database_url)
    for w in workers:
        for kind in ("ceilings", "product"):
            todo = _todo(opts, kind, w, scale)
            if todo:
                log(f"{kind} server, {w} worker(s), {scale} scale")
                python = opts.product_python if kind == "product" else sys.executable
                server = Server(kind, w, env, tmp / f"{kind}-{w}.log", python=python)
                run_on(out, ctx, server, todo, files)
    # The product scenarios measured at 2 workers, again on `--replicas` processes of one
    # worker each behind HAProxy (docs/BENCHMARKS.md says what this shows on a shared machine).
    todo = _todo(opts, "product", 2, scale) if scale == "large" and opts.replicas else []
    if todo:
        log(f"product, {opts.replicas} replicas of 1 worker behind HAProxy, {scale} scale")
        lb = Replicas("product", opts.replicas, env, tmp / "lb.log", python=opts.product_python)
        run_on(out, ctx, lb, todo, files)


def _postgres_version(url: str) -> str:
    with psycopg.connect(seed.libpq_url(url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0]}" if row else "PostgreSQL"


def _seeded(url: str) -> dict[str, Any] | None:
    try:
        with psycopg.connect(seed.libpq_url(url)) as conn:
            row = conn.execute("SELECT meta FROM bench_seed").fetchone()
    except psycopg.Error:
        return None
    return dict(row[0]) if row else None


def _mark_seeded(url: str, meta: dict[str, Any]) -> None:
    with psycopg.connect(seed.libpq_url(url)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_seed (meta jsonb)")
        conn.execute("DELETE FROM bench_seed")
        conn.execute("INSERT INTO bench_seed VALUES (%s)", (json.dumps(meta),))


def _used_offset(url: str, end: dt.date) -> int:
    """Writer 0 receives the first (patient, date) of every allocation, so its oldest entry
    bounds the dates used so far (plus one allocation's span)."""
    with psycopg.connect(seed.libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT min(entry_date) FROM symptom_entries WHERE patient_id = %s",
            (seed.writer_id(0),),
        ).fetchone()
    oldest = row[0] if row and row[0] else end
    return (end - oldest).days + 5_000


def _state_note(
    out: Outcome, url: str, first: int, last: int, progress: Callable[[str], None]
) -> None:
    seconds = state_bench.build_state(url, first=first, last=last)
    out.seed_notes.append(
        f"flag state built for {last - first:,} patients in {seconds:.0f} s "
        f"(`kneetrack rebuild-state`'s code in 2 processes: "
        f"{1000 * 2 * seconds / max(1, last - first):.0f} ms of a process per patient)"
    )
    progress(out.seed_notes[-1])


def run(opts: Options, progress: Callable[[str], None] = log) -> Outcome:
    if not wrk_available():
        raise SystemExit("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    os.environ["KNEETRACK_ACCESS_TOKEN_MINUTES"] = "1440"
    from app.config import get_settings

    get_settings.cache_clear()
    t0 = time.perf_counter()
    out = Outcome(opts, started=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    url = opts.database_url
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    meta = {
        "patients": opts.patients,
        "days": opts.days,
        "end": end.isoformat(),
        "writers": opts.writers,
    }
    reuse = opts.reuse and _seeded(url) == meta
    try:
        with tempfile.TemporaryDirectory(prefix="kneetrack-bench-") as tmpdir:
            tmp = Path(tmpdir)
            files = Files(tmp)
            small = min(opts.small, opts.patients)
            if not reuse:
                progress(f"creating database {url.rsplit('/', 1)[-1]} and migrating")
                seed.create_database(url)
                seed.migrate(url)
                progress(f"seeding {small} patients × {opts.days} days (COPY)")
                r = seed.seed(
                    url, first=0, last=small, writers=opts.writers, days=opts.days, end=end
                )
                out.seed_notes.append(
                    f"{r.patients:,} patients, {r.entries:,} diary entries and {r.sessions:,} "
                    f"exercise sessions in {r.seconds:.0f} s"
                )
                progress(out.seed_notes[-1])
                _state_note(out, url, 0, small, progress)
                ctx = make_ctx(
                    url,
                    end=end,
                    days=opts.days,
                    patients=small,
                    writers=opts.writers,
                    scale="small",
                )
                run_phase(out, ctx, workers=(1,), scale="small", tmp=tmp, files=files)
                offset = ctx.next_offset
                if opts.patients > small:
                    progress(f"seeding {opts.patients - small:,} more patients (COPY)")
                    r = seed.seed(
                        url, first=small, last=opts.patients, writers=0, days=opts.days, end=end
                    )
                    out.seed_notes.append(
                        f"then {r.patients:,} more patients, {r.entries:,} diary entries and "
                        f"{r.sessions:,} exercise sessions in {r.seconds:.0f} s"
                    )
                    progress(out.seed_notes[-1])
                    _state_note(out, url, small, opts.patients, progress)
                costs = state_bench.time_costs(url, patients=opts.patients)
                out.seed_notes += costs.lines()
                progress(out.seed_notes[-1])
                _mark_seeded(url, meta)
            else:
                progress("reusing the seeded database (--reuse), migrated to head")
                seed.migrate(url)
                offset = 0
            ctx = make_ctx(
                url,
                end=end,
                days=opts.days,
                patients=opts.patients,
                writers=opts.writers,
                scale="large",
            )
            # a reused database already holds earlier runs' writes: start beyond them
            ctx.next_offset = offset if not reuse else _used_offset(url, end)
            run_phase(out, ctx, workers=opts.workers, scale="large", tmp=tmp, files=files)
        out.postgres = _postgres_version(url)
        redis = os.environ.get("REDIS_URL") or os.environ.get("KNEETRACK_REDIS_URL")
        out.limits_store = "Redis (REDIS_URL)" if redis else "process memory (no REDIS_URL)"
        out.seconds = time.perf_counter() - t0
    finally:
        if not opts.keep:  # the smoke run's own database goes, even after a crash
            seed.drop_database(url)
    return out


def describe_machine() -> str:
    return machine()
