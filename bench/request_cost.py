"""What each part of a request costs: server CPU per request for one sequential client.

`python -m bench.request_cost [--request put|entry|trend] [--seconds 5]` starts the product
(one uvicorn worker, as `kneetrack serve` runs it) on a fresh PostgreSQL database once per
variant below, each with one part of the request switched off by a patch in the server process,
and drives it with wrk over one connection (requests one after another: no queueing, no thread
contention, so the figure is the request's own cost). It prints server CPU per request and the
difference from the full request in microseconds.

A measuring tool only: the variants drop guarantees (the audit record, the change feed, rate
limits) that the product never runs without. Needs wrk and PostgreSQL (database
`kneetrack_bench_cost`, dropped and created again)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from bench import seed
from bench.common import DIARY_BODY
from bench.load import cpu_seconds, free_port

URL = "postgresql://postgres@127.0.0.1:5432/kneetrack_bench_cost"
PASSWORD = "correct horse battery staple 42"

# variant -> what its patch switches off
VARIANTS = {
    "full": "nothing: the request as served",
    "no_ping": "the pooled connection's ping on checkout",
    "no_rate_limit": "the per-principal rate limit (a Redis round trip with REDIS_URL)",
    "no_audit": "the audit event (its INSERT at commit)",
    "no_change_feed": "the change-feed row and the flag-state queue upsert (writes)",
    "no_access_log": "the JSON access log line",
    "no_metrics": "the Prometheus counters and histogram",
    "general_path": "the single-hop PUT (every request on the general path)",
}
ALL_OFF = "no_all"

PUT_LUA = """
local n = 0
local token, body = os.getenv("TOKEN"), os.getenv("BODY")
local base = os.time{year=2026, month=1, day=1, hour=12}
request = function()
  n = n + 1
  local d = os.date("!%Y-%m-%d", base - n * 86400)
  return wrk.format("PUT", "/v1/patients/me/symptom-entries/" .. d,
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
"""
GET_LUA = """
local token, path = os.getenv("TOKEN"), os.getenv("PATHQ")
request = function()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
"""
READS = {
    "entry": "/v1/patients/me/symptom-entries/2025-12-01",
    "trend": "/v1/patients/me/trends/pain?from=2024-01-02&to=2025-12-31",
}


def patch(variant: str) -> None:
    """Switch one part off in this (the server's) process."""
    names = set(VARIANTS) - {"full", "general_path"} if variant == ALL_OFF else {variant}
    if "general_path" in names:
        os.environ["KNEETRACK_SINGLE_HOP_WRITES"] = "false"  # read when the app starts
    if "no_ping" in names:
        import app.db

        app.db._ping_before_use = lambda *_a, **_k: None  # read when the engine is built
    if "no_rate_limit" in names:
        import app.ratelimit

        app.ratelimit.RateLimits.hit = lambda *_a, **_k: None  # type: ignore[method-assign]
    if "no_audit" in names:
        import app.audit.service
        import app.care.single_hop

        app.audit.service.record = lambda *_a, **_k: None
        setattr(app.care.single_hop, "_record_audit", lambda *_a, **_k: None)  # noqa: B010
    if "no_change_feed" in names:
        import app.care.single_hop
        import app.records.versioned

        setattr(app.records.versioned, "record_changes", lambda *_a, **_k: None)  # noqa: B010
        setattr(app.care.single_hop, "_record_change", lambda *_a, **_k: None)  # noqa: B010
    if "no_access_log" in names:
        import app.middleware

        class _Silent:
            def info(self, *_a: Any, **_k: Any) -> None:
                return None

        app.middleware.log = _Silent()
    if "no_metrics" in names:
        import app.metrics

        async def passthrough(self: Any, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

        app.metrics.MetricsMiddleware.http = passthrough  # type: ignore[method-assign]


def serve(variant: str, port: int) -> None:
    import uvicorn

    patch(variant)
    uvicorn.run(
        "app.main:app",
        host="127.0.0.1",
        port=port,
        workers=1,
        proxy_headers=False,
        server_header=False,
        log_config=None,
        access_log=False,
    )


def _wrk(script: Path, base: str, seconds: int, env: dict[str, str]) -> int:
    out = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{seconds}s", "-s", str(script), base],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    if "Non-2xx" in out.stdout:
        raise RuntimeError(f"errors under load: {out.stdout}")
    line = next(ln for ln in out.stdout.splitlines() if "requests in" in ln)
    return int(line.split()[0])


def measure(variant: str, request: str, seconds: int, tmp: Path) -> float:
    """Server CPU ms per request of `request` with `variant`'s part switched off."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": URL,
        "KNEETRACK_SECRET_KEY": seed.use_bench_secret(),
        "KNEETRACK_RATE_LIMIT_PRINCIPAL": "100000000/minute",
        "KNEETRACK_RATE_LIMIT_SIGNUP_IP": "100000/minute",
        "KNEETRACK_STATE_INTERVAL_SECONDS": "0",
    }
    log = (tmp / f"{variant}.log").open("wb")
    cmd = [sys.executable, "-m", "bench.request_cost", "serve", variant, str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        email = f"cost-{uuid.uuid4().hex[:12]}@example.org"
        signup = {"email": email, "password": PASSWORD, "display_name": "Cost", "timezone": "UTC"}
        httpx.post(base + "/v1/auth/register", json=signup, timeout=30).raise_for_status()
        form = {"grant_type": "password", "username": email, "password": PASSWORD}
        token = httpx.post(base + "/v1/auth/token", data=form, timeout=30).json()["access_token"]
        wenv = {**os.environ, "TOKEN": token, "BODY": json.dumps(DIARY_BODY)}
        put, get = tmp / "put.lua", tmp / "get.lua"
        put.write_text(PUT_LUA)
        get.write_text(GET_LUA)
        # Writes: 1 s to warm up, then measured. Reads: two years of entries first.
        script = put if request == "put" else get
        _wrk(put, base, 1 if request == "put" else 4, wenv)
        wenv["PATHQ"] = READS.get(request, "")
        if request != "put":
            _wrk(get, base, 1, wenv)
        before = cpu_seconds(server.pid)
        done = _wrk(script, base, seconds, wenv)
        return (cpu_seconds(server.pid) - before) * 1000 / done
    finally:
        server.terminate()
        server.wait()


cli = typer.Typer(add_completion=False)


@cli.command("run")
def run(
    request: Annotated[str, typer.Option(help="put | entry | trend")] = "put",
    seconds: Annotated[int, typer.Option(help="Measured seconds per variant")] = 5,
    rounds: Annotated[int, typer.Option(help="Rounds over all variants (median)")] = 2,
) -> None:
    """Server CPU per request, full and with each part switched off."""
    seed.create_database(URL)
    seed.migrate(URL)
    variants = [*VARIANTS, ALL_OFF]
    figures: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="kneetrack-cost-") as tmpdir:
        for _ in range(rounds):
            for v in variants:
                figures[v].append(measure(v, request, seconds, Path(tmpdir)))
                typer.echo(f"  {v:15} {figures[v][-1]:.3f} ms", err=True)
    seed.drop_database(URL)
    full = sorted(figures["full"])[len(figures["full"]) // 2]
    cmd = f"python -m bench.request_cost run --request {request} --seconds {seconds}"
    typer.echo(f"`{cmd} --rounds {rounds}`: server CPU per {request} request, one client")
    typer.echo("\n| switched off | CPU ms/req | vs the full request |\n| --- | --- | --- |")
    for v in variants:
        ms = sorted(figures[v])[len(figures[v]) // 2]
        what = "all of the optional parts above" if v == ALL_OFF else VARIANTS[v]
        delta = "" if v == "full" else f"{(ms - full) * 1000:+.0f} µs"
        typer.echo(f"| {what} | {ms:.3f} | {delta} |")


@cli.command("serve", hidden=True)
def serve_command(variant: str, port: int) -> None:
    serve(variant, port)


if __name__ == "__main__":
    cli()
