"""The malloc arena limit (app/memory.py): applied at start-up, and it does limit glibc."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from app.memory import limit_malloc_arenas

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="malloc arenas are glibc's",
)

# Eight threads allocate at once, then glibc describes its arenas (`malloc_info`: one <heap>
# element per arena besides the main one).
COUNT_ARENAS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from app.memory import limit_malloc_arenas
    applied = limit_malloc_arenas(int(sys.argv[1]))
    start = threading.Barrier(8)
    def work():
        start.wait()
        for _ in range(200):
            blocks = [bytearray(256) for _ in range(500)]
            del blocks
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.fclose.argtypes = (ctypes.c_void_p,)
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        fp = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        print(applied, open(out.name).read().count("<heap nr="))
    """
)


def _arenas(limit: int) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, str(limit)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    return out[0], int(out[1])


@glibc
def test_the_limit_caps_the_arenas_that_threads_make():
    applied, limited = _arenas(1)
    assert applied == "True"
    assert limited == 1
    applied, default = _arenas(0)  # glibc's default: an arena per thread, up to 8 per core
    assert applied == "False"
    assert default > 1


def test_zero_leaves_the_default():
    assert limit_malloc_arenas(0) is False


@glibc
def test_the_app_applies_the_setting_at_start_up(app, client):
    # `client` has run the app's lifespan, which applies KNEETRACK_MALLOC_ARENAS (default 2).
    assert client.get("/healthz").status_code == 200
    assert app.state.malloc_arenas_limited is True


# 100 MB in blocks below glibc's mmap threshold (they stay in the heap when freed), one block
# kept at the end so that the heap cannot shrink by itself; then the RSS before and after
# `release_free_memory`.
TRIM = textwrap.dedent(
    """
    import sys
    from app.memory import release_free_memory
    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    blocks = [bytearray(64 * 1024) for _ in range(1600)]
    keep = bytearray(64 * 1024)
    del blocks
    before = rss()
    released = release_free_memory()
    print(before, rss(), released)
    """
)


@glibc
def test_release_gives_freed_memory_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", TRIM], capture_output=True, text=True, check=True)
    before, after, released = out.stdout.split()
    assert released == "True"
    assert int(before) - int(after) >= 50, out.stdout


def test_a_batch_sync_releases_what_it_freed(monkeypatch):
    """BatchLimitMiddleware trims after each `POST …/sync`, and after nothing else."""
    import asyncio

    import app.middleware as middleware

    calls: list[str] = []
    monkeypatch.setattr(middleware, "release_free_memory", lambda: calls.append("trim"))

    async def inner(scope, receive, send):
        calls.append(scope["path"])

    gate = middleware.BatchLimitMiddleware(inner, limit=2)

    async def requests():
        for method, path in (("POST", "/v1/patients/me/sync"), ("GET", "/v1/patients/me/sync"),
                             ("POST", "/v1/patients/me/exercise-sessions")):
            await gate({"type": "http", "method": method, "path": path, "headers": []},
                       None, None)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, requests()).result()
    assert calls == ["/v1/patients/me/sync", "trim", "/v1/patients/me/sync",
                     "/v1/patients/me/exercise-sessions"]
