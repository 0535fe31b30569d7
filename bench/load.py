"""Servers under test (uvicorn, started as the product starts) and the load tool (wrk)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("requests.lua")
HAPROXY_CFG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(
    pids: list[int], *, share: float = 0.05, window: float = 0.5, timeout: float = 120.0
) -> float:
    """Wait until the processes together use under `share` of a core over `window` seconds, and
    return the seconds waited. When wrk stops, the requests it left queued (a batch sync's take
    seconds each) are still being served: measured from then, the next scenario would pay for
    them, in latency and in CPU."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(window)
        if sum(cpu_seconds(p) for p in pids) - before < share * window:
            break
    return time.monotonic() - start


@dataclass
class Server:
    """A uvicorn server: `product` is `kneetrack serve`; `ceilings` is bench/ceilings.py, run
    with the same uvicorn options."""

    kind: str
    workers: int
    env: dict[str, str]
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    openapi_paths: dict[str, set[str]] = field(default_factory=dict)
    topology: str = ""  # how the report names a server that is not one uvicorn (Replicas)
    python: str = sys.executable  # the product's interpreter (`--product-python`)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        if self.kind == "product":
            cmd = [self.python, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
        else:
            cmd = [sys.executable, "-m", "bench.ceilings"]
        cmd += ["--port", str(self.port), "--workers", str(self.workers)]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.kind} server did not start: {self.log_tail()}")
        # every worker is up before the load starts
        while self.workers > 1 and len(self.worker_pids()) < self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} workers did not start: {self.log_tail()}")
            time.sleep(0.2)
        time.sleep(0.5)
        self._wait_idle(deadline + 30)
        if self.kind == "product":
            spec = httpx.get(self.base + "/openapi.json", timeout=10).json()
            self.openapi_paths = {
                path: {m.upper() for m in ops} for path, ops in spec.get("paths", {}).items()
            }

    def _wait_idle(self, deadline: float) -> None:
        """Until the workers are idle (under 20 ms of CPU in 0.5 s): whatever a worker still
        does after it answers (start-up work, a previous scenario's background jobs) must not
        land in the first scenario's figures."""
        pids = self.worker_pids()
        before = sum(cpu_seconds(p) for p in pids)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = sum(cpu_seconds(p) for p in pids)
            if now - before < 0.02:
                return
            before = now

    def has_route(self, method: str, path: str) -> bool:
        return method.upper() in self.openapi_paths.get(path, set())

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        if self.workers == 1:
            return [self.proc.pid]
        pids = []
        for pid in _children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                pids.append(pid)
        return pids

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def haproxy_path() -> str | None:
    """Debian's haproxy (package `haproxy`), as tests/test_replicas.py runs it."""
    found = shutil.which("haproxy")
    if found is None and Path("/usr/sbin/haproxy").exists():
        found = "/usr/sbin/haproxy"
    return found


@dataclass
class Replicas(Server):
    """`workers` product replicas, each `kneetrack serve --workers 1` (a process of its own, as
    a container of the compose `scale` profile runs it), behind Debian's HAProxy started with
    the committed deploy/haproxy.cfg: the deployment that scales out, on this machine. The
    processes measured (CPU, RSS) are the replicas and HAProxy."""

    members: list[Server] = field(default_factory=list)
    balancer: subprocess.Popen[bytes] | None = None
    topology: str = "HAProxy"

    def start(self) -> None:
        haproxy = haproxy_path()
        if haproxy is None:
            raise RuntimeError("HAProxy is not installed (Debian/Ubuntu: apt-get install haproxy)")
        if self.workers != 2:
            raise RuntimeError("deploy/haproxy.cfg names two replicas (api1, api2)")
        # HAProxy's X-Forwarded-For is believed from loopback only, as in the compose profile.
        env = {**self.env, "KNEETRACK_TRUSTED_PROXIES": "127.0.0.1"}
        self.members = [
            Server(
                "product",
                1,
                env,
                self.log_path.with_name(f"replica-{i + 1}.log"),
                python=self.python,
            )
            for i in range(self.workers)
        ]
        try:
            for member in self.members:
                member.start()
            self.port = free_port()
            lb_env = {
                **os.environ,
                "HAPROXY_BIND": f"127.0.0.1:{self.port}",
                **{
                    f"KNEETRACK_API_{i + 1}": f"127.0.0.1:{m.port}"
                    for i, m in enumerate(self.members)
                },
            }
            log = self.log_path.open("wb")
            self.balancer = subprocess.Popen(
                [haproxy, "-db", "-f", str(HAPROXY_CFG)], env=lb_env, stdout=log, stderr=log
            )
            self._wait_balanced(time.monotonic() + 30)
            self.openapi_paths = self.members[0].openapi_paths
        except BaseException:
            self.stop()
            raise

    def _wait_balanced(self, deadline: float) -> None:
        """Until HAProxy has seen every replica pass its readiness check and answered from
        each (`X-Served-By`)."""
        want = {f"api{i + 1}" for i in range(self.workers)}
        seen: set[str] = set()
        while time.monotonic() < deadline:
            assert self.balancer is not None
            if self.balancer.poll() is not None:
                raise RuntimeError(f"HAProxy exited: {self.log_tail()}")
            try:
                r = httpx.get(self.base + "/readyz", timeout=2)
                if r.status_code == 200:
                    seen.add(r.headers.get("x-served-by", ""))
                    if want <= seen:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"HAProxy did not reach every replica (saw {sorted(seen)})")

    def worker_pids(self) -> list[int]:
        pids = [p for m in self.members for p in m.worker_pids()]
        return pids + ([self.balancer.pid] if self.balancer is not None else [])

    def stop(self) -> None:
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.terminate()
            try:
                self.balancer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.balancer.kill()
                self.balancer.wait()
        for member in self.members:
            member.stop()


class RssSampler:
    """Samples the resident memory of a server's workers in the background; keeps each
    worker's peak."""

    def __init__(self, pids: list[int], interval: float = 0.05) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                v = rss_mb(pid)
                if v is not None and v > self.peak.get(pid, 0.0):
                    self.peak[pid] = v
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def max_mb(self) -> float | None:
        return max(self.peak.values()) if self.peak else None


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    detail: dict[str, int]

    @property
    def rps(self) -> float:
        """Answers per second that were not errors (wrk counts error answers as requests)."""
        good = self.requests - self.detail.get("status", 0)
        return good / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base: str,
    *,
    connections: int,
    seconds: float,
    args: list[str],
    timeout_s: int = 30,
) -> WrkResult:
    """One wrk run; `args` are the Lua script's (mode, prefix, …): see requests.lua."""
    threads = min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(LUA),
        base,
        "--",
        args[0],
        args[1],
        str(threads),
        *args[2:],
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    d = json.loads(line.removeprefix("BENCHJSON "))
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return WrkResult(
        requests=d["requests"],
        seconds=d["duration_us"] / 1e6,
        errors=errors,
        p50_ms=d["p50_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        detail={k: d[k] for k in ("connect", "read", "write", "status", "timeout")},
    )


def machine() -> str:
    cores = os.cpu_count() or 0
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cores} cores ({model}), {mem_gib:.0f} GiB memory" if model else f"{cores} cores"
