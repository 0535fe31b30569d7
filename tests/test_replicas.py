"""Scale-out with real parts: two API replicas (`kneetrack serve` under uvicorn) behind
Debian's HAProxy with the committed deploy/haproxy.cfg, on the test database and the shared
Redis, as the `scale` profile of docker-compose.yml runs them. Marked `live`."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter

import httpx
import pytest

from bench.load import HAPROXY_CFG, haproxy_path
from tests.helpers import entry, free_port, uvicorn_process
from tests.proof.conftest import register_over_http

pytestmark = pytest.mark.live

CONFIG = HAPROXY_CFG


def _haproxy() -> str:
    found = haproxy_path()  # the benchmark's `--replicas` finds it the same way
    if found is None:
        reason = "HAProxy is not installed (Debian's haproxy package)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the replicas test")
        pytest.skip(reason)
    return found


def _wait_for(base: str, served_by: set[str], deadline: float) -> Counter[str]:
    seen: Counter[str] = Counter()
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{base}/readyz", timeout=2)
            if r.status_code == 200:
                seen[r.headers.get("x-served-by", "")] += 1
                if served_by <= set(seen):
                    return seen
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return seen


def test_two_replicas_behind_haproxy_share_the_database_and_survive_one_going(
        backend, database_url, tmp_path):
    if backend == "sqlite" and os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("replicas run against PostgreSQL when TEST_DATABASE_URL is set")
    haproxy = _haproxy()
    env = {**os.environ, "DATABASE_URL": database_url, "KNEETRACK_LOG_LEVEL": "WARNING",
           # HAProxy's X-Forwarded-For is believed from loopback only.
           "KNEETRACK_TRUSTED_PROXIES": "127.0.0.1"}
    with uvicorn_process(env, log=tmp_path / "api1.log") as (api1, first), \
            uvicorn_process(env, log=tmp_path / "api2.log") as (api2, _second):
        port = free_port()
        lb_env = {**os.environ, "HAPROXY_BIND": f"127.0.0.1:{port}",
                  "KNEETRACK_API_1": api1.removeprefix("http://"),
                  "KNEETRACK_API_2": api2.removeprefix("http://")}
        assert subprocess.run([haproxy, "-c", "-q", "-f", str(CONFIG)], env=lb_env,
                              check=False).returncode == 0
        lb = subprocess.Popen([haproxy, "-db", "-f", str(CONFIG)], env=lb_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            assert set(_wait_for(base, {"api1", "api2"}, time.monotonic() + 20)) >= {"api1",
                                                                                        "api2"}
            # A patient signs up and writes through the balancer; every replica reads it back.
            patient = register_over_http(base)
            put = httpx.put(f"{base}/v1/patients/me/symptom-entries/2026-01-05",
                            headers=patient.headers, json=entry())
            assert put.status_code == 201, put.text
            served: Counter[str] = Counter()
            for _ in range(20):
                r = httpx.get(f"{base}/v1/patients/me/symptom-entries/2026-01-05",
                              headers=patient.headers)
                assert r.status_code == 200 and r.headers["etag"] == put.headers["etag"]
                served[r.headers["x-served-by"]] += 1
            assert set(served) == {"api1", "api2"}, served
            # The first replica goes away: HAProxy takes it out and every request still lands.
            first.terminate()
            first.wait(timeout=15)
            answers = Counter()
            for _ in range(30):
                r = httpx.get(f"{base}/v1/patients/me", headers=patient.headers, timeout=10)
                answers[(r.status_code, r.headers.get("x-served-by"))] += 1
            assert answers == Counter({(200, "api2"): 30}), answers
        finally:
            lb.terminate()
            lb.wait(timeout=10)
