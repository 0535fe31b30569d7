"""The request admission limit: at most `limit` requests inside the application at once, the
rest wait their turn (none refused); the liveness probe is never held back."""

from __future__ import annotations

import asyncio
from typing import Any

from app.middleware import BatchLimitMiddleware, ConcurrencyLimitMiddleware


class Inner:
    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.done = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        if scope["path"] != "/healthz":
            await self.release.wait()
        self.inside -= 1
        self.done += 1


def _http(path: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "method": "GET", "headers": []}


async def _noop(*_: Any) -> Any:
    return None


def test_requests_beyond_the_limit_wait_their_turn() -> None:
    async def scenario() -> Inner:
        inner = Inner()
        app = ConcurrencyLimitMiddleware(inner, limit=2)
        tasks = [asyncio.create_task(app(_http("/v1/x"), _noop, _noop)) for _ in range(5)]
        await asyncio.sleep(0.05)
        assert inner.inside == 2  # three are queued, none refused
        probe = asyncio.create_task(app(_http("/healthz"), _noop, _noop))
        await asyncio.wait_for(probe, 1)  # the probe passes while the gate is full
        inner.release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 1)
        return inner

    # In a thread of its own: another test's plugin (Playwright's sync API) may have left an
    # event loop running in this one, where asyncio.run() refuses to start.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        inner = pool.submit(asyncio.run, scenario()).result()
    assert inner.most == 3  # two requests and the probe
    assert inner.done == 6


def test_batch_syncs_beyond_their_limit_wait_before_their_body_is_read() -> None:
    """At most `limit` `POST …/sync` inside at once; a waiting batch's body is not read (its
    memory stays in the socket); other requests pass."""
    reads: list[str] = []

    class ReadsBody(Inner):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await receive()
            await super().__call__(scope, receive, send)

    def _post(path: str) -> dict[str, Any]:
        return {**_http(path), "method": "POST"}

    def receiver(name: str) -> Any:
        async def receive() -> dict[str, Any]:
            reads.append(name)
            return {"type": "http.request", "body": b"{}", "more_body": False}
        return receive

    async def scenario() -> ReadsBody:
        inner = ReadsBody()
        app = BatchLimitMiddleware(inner, limit=2)
        batches = [asyncio.create_task(app(_post("/v1/patients/me/sync"), receiver(f"sync{i}"),
                                           _noop)) for i in range(5)]
        await asyncio.sleep(0.05)
        assert inner.inside == 2 and len(reads) == 2  # three wait, their bodies unread
        others = [app(_post("/v1/patients/me/sessions"), receiver("post"), _noop),
                  app(_http("/v1/patients/me/sync"), receiver("get"), _noop)]
        tasks = [asyncio.create_task(o) for o in others]
        await asyncio.sleep(0.05)
        assert inner.inside == 4 and {"post", "get"} <= set(reads)  # not held back
        inner.release.set()
        await asyncio.wait_for(asyncio.gather(*batches, *tasks), 1)
        return inner

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        inner = pool.submit(asyncio.run, scenario()).result()
    assert inner.most == 4 and inner.done == 7 and len(reads) == 7


def _admission_limit(monkeypatch: Any, **env: str) -> int | None:
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        app = create_app()  # builds the stack; connects to nothing
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    for m in app.user_middleware:
        if m.cls is ConcurrencyLimitMiddleware:
            return int(m.kwargs["limit"])
    return None


def test_a_worker_admits_a_few_requests_and_never_more_than_its_connections(monkeypatch) -> None:
    assert _admission_limit(monkeypatch) == 8
    assert _admission_limit(monkeypatch, KNEETRACK_REQUEST_CONCURRENCY="3") == 3
    # A pool of 1 (+ 5 overflow) caps the setting: every admitted request can get a connection.
    assert _admission_limit(monkeypatch, KNEETRACK_REQUEST_CONCURRENCY="50",
                            KNEETRACK_DB_POOL_SIZE="1") == 6
