"""Memory and latency of `kneetrack serve` under a sign-up flood (hardening finding 3).

Starts a real server on a temporary SQLite database with the production Argon2 cost (time 3,
64 MiB), sends N sign-ups at once (distinct emails; the per-address sign-up budget raised so
that every one reaches the hash), samples the server's resident memory every 10 ms and times
a cheap authenticated read during the flood. Runs it with the hashing-slot limit at the
default (2) and effectively unbounded (64), and prints a table.

Run: `.venv/bin/python bench/signup_flood.py [N]` (default 12)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

N = int(sys.argv[1]) if len(sys.argv) > 1 else 12


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(concurrency: int) -> tuple[float, float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/flood.db",
            "KNEETRACK_SECRET_KEY": "b" * 40,
            "KNEETRACK_LOG_LEVEL": "WARNING",
            "KNEETRACK_PASSWORD_HASH_CONCURRENCY": str(concurrency),
            "KNEETRACK_PASSWORD_HASH_WAIT_SECONDS": "30",
            "KNEETRACK_RATE_LIMIT_SIGNUP_IP": "100000/minute",
            "KNEETRACK_RATE_LIMIT_TOKEN_IP": "100000/minute",
        }
        for k in ("KNEETRACK_PASSWORD_TIME_COST", "KNEETRACK_PASSWORD_MEMORY_KIB", "REDIS_URL"):
            env.pop(k, None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            email = f"r-{uuid.uuid4().hex[:8]}@example.org"
            body = {
                "email": email,
                "password": "a-long-bench-password",
                "display_name": "R",
                "timezone": "Europe/London",
            }
            httpx.post(f"{base}/v1/auth/register", json=body, timeout=60)
            token = httpx.post(
                f"{base}/v1/auth/token",
                timeout=60,
                data={"username": email, "password": "a-long-bench-password"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            httpx.get(f"{base}/v1/patients/me", headers=auth)
            idle = rss_mib(proc.pid)
            peak = [idle]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mib(proc.pid))
                    time.sleep(0.01)

            def signup(i: int) -> int:
                return httpx.post(
                    f"{base}/v1/auth/register",
                    timeout=120,
                    json={**body, "email": f"f{i}-{uuid.uuid4().hex[:8]}@example.org"},
                ).status_code

            sampler = threading.Thread(target=sample)
            sampler.start()
            with ThreadPoolExecutor(N) as pool:
                futures = [pool.submit(signup, i) for i in range(N)]
                time.sleep(0.3)  # the flood is under way
                t0 = time.perf_counter()
                assert (
                    httpx.get(f"{base}/v1/patients/me", headers=auth, timeout=120).status_code
                    == 200
                )
                read_ms = (time.perf_counter() - t0) * 1000
                codes = [f.result() for f in futures]
            done.set()
            sampler.join()
            return idle, peak[0], read_ms, codes.count(201), len(codes)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def main() -> None:
    print(
        "| hashing slots | idle RSS MiB | peak RSS MiB | added MiB | read during flood ms "
        "| sign-ups 201 |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for slots in (64, 2):
        idle, peak, read_ms, ok, total = run(slots)
        label = f"{slots} (unbounded)" if slots == 64 else f"{slots} (default)"
        print(
            f"| {label} | {idle:.0f} | {peak:.0f} | {peak - idle:.0f} | {read_ms:.0f} "
            f"| {ok}/{total} |"
        )
    print(f"\ncommand: .venv/bin/python bench/signup_flood.py {N}")


if __name__ == "__main__":
    main()
