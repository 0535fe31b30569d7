from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any


def reset_caches() -> None:
    from app.auth.security import password_hasher
    from app.config import get_settings
    from app.db import get_engine
    from app.ratelimit import get_rate_limits

    with contextlib.suppress(Exception):
        get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
    password_hasher.cache_clear()
    get_rate_limits.cache_clear()


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
