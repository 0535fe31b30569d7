from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any


def reset_caches() -> None:
    from app.auth.security import hashing_slots, password_hasher
    from app.config import get_settings
    from app.db import get_engine
    from app.ratelimit import build_rate_limits

    with contextlib.suppress(Exception):
        get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
    password_hasher.cache_clear()
    hashing_slots.cache_clear()
    build_rate_limits.cache_clear()


def entry(pain: int = 3, **extra: Any) -> dict[str, Any]:
    return {"knees": {"left": {"pain": pain}}, **extra}


def session_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "activity": "backward_walking",
        "started_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "duration_minutes": 15,
    }
    body.update(extra)
    return body


def assert_problem(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    for f in fields:
        locs = [".".join(str(p) for p in e["loc"]) for e in body.get("errors") or []]
        assert any(loc.endswith(f) for loc in locs), f"{f} not named in {locs}"
    return body


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(
    env: dict[str, str], *, workers: int = 1, log: Any = None
) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, until it answers /readyz; yields
    its base URL and stops it afterwards. `log`: a path for the server's output."""
    with uvicorn_process(env, workers=workers, log=log) as (base, _server):
        yield base


@contextlib.contextmanager
def uvicorn_process(
    env: dict[str, str], *, workers: int = 1, log: Any = None
) -> Iterator[tuple[str, Any]]:
    """As `uvicorn_server`, yielding the base URL and the server's process (`Popen`)."""
    import subprocess
    import sys
    from pathlib import Path

    port = free_port()
    out = open(log, "w") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, log)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log is not None:
            out.close()
def wait_until_ready(base: str, server: Any, log: Any = None) -> None:
    """Wait (120 s at most) until the server process at `base` answers /readyz with 200. On a
    loaded machine (several suites on 2 cores) a started server can take seconds to answer."""
    import time
    from pathlib import Path

    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start"
                               + (f": {Path(log).read_text()}" if log else ""))
        time.sleep(0.2)


def request_count(metrics_text: str, method: str, route: str, status: int) -> float:
    """The value of `kneetrack_http_requests_total` for one method, route template and status
    in a Prometheus exposition (0 when absent)."""
    import re

    labels = f'method="{method}",route="{route}",status="{status}"'
    pattern = re.compile(r"^kneetrack_http_requests_total\{" + re.escape(labels) + r"\} (\S+)$",
                         re.M)
    m = pattern.search(metrics_text)
    return float(m.group(1)) if m else 0.0
