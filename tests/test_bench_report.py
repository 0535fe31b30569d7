"""The benchmark's report: ratios, target verdicts and the generated part of BENCHMARKS.md.
(The benchmark itself runs in CI as `make bench-smoke`; figures are never asserted.)"""

from __future__ import annotations

from pathlib import Path

from bench.load import WrkResult
from bench.report import BEGIN, END, render, targets, write_doc
from bench.runner import Measured, Options, Outcome
from bench.scenarios import BY_KEY


def _measured(key: str, workers: int, rps: float, p50: float, scale: str = "large") -> Measured:
    run = WrkResult(
        requests=int(rps * 4), seconds=4.0, errors=0, p50_ms=p50, p99_ms=p50 * 3, detail={}
    )
    return Measured(BY_KEY[key], workers, scale, runs=[run, run, run])


def _outcome(*measured: Measured) -> Outcome:
    out = Outcome(Options(database_url="postgresql://x/kneetrack_bench"))
    out.results.extend(measured)
    return out


def _verdict(out: Outcome, start: str) -> tuple[str, str]:
    t = next(t for t in targets(out) if t.text.startswith(start))
    return t.measured, t.verdict


def test_write_targets_compare_with_the_ceilings_of_the_same_worker_count() -> None:
    out = _outcome(
        _measured("diary_put", 2, 1500, 40),
        _measured("c_raw_insert", 2, 2500, 25),
        _measured("c_naive", 2, 1000, 60),
        _measured("c_raw_insert", 1, 100, 25),  # another worker count: not compared
    )
    assert _verdict(out, "diary PUT ≥ 30 %") == ("60 %", "met")
    assert _verdict(out, "diary PUT ≥ 1.0 × the naive") == ("1.50 ×", "met")
    assert _verdict(out, "diary PUT ≤ 2 ms") == ("not measured", "n/a")
    assert _verdict(out, "sync of 500-item") == ("not measured", "n/a")


def test_batches_compare_rows_per_second() -> None:
    out = _outcome(_measured("sync_500", 2, 40, 300), _measured("c_executemany", 2, 100, 100))
    assert _verdict(out, "sync of 500-item batches ≥ 80 % of executemany rows/s (2 workers)") == (
        "40 %", "missed")


def test_the_write_cpu_target_reads_the_servers_cpu_per_request() -> None:
    put = _measured("diary_put", 2, 1500, 40)
    put.cpu_ms = 1.9
    assert _verdict(_outcome(put), "diary PUT ≤ 2 ms") == ("1.90 ms", "met")
    put.cpu_ms = 4.8
    assert _verdict(_outcome(put), "diary PUT ≤ 2 ms") == ("4.80 ms", "missed")


def test_the_fhir_export_compares_with_the_csv_ceiling() -> None:
    out = _outcome(_measured("fhir_lat", 1, 10, 50.0), _measured("c_export_lat", 1, 100, 5.0))
    assert _verdict(out, "FHIR export of 2 years p50") == ("10.00 ×", "missed")


def test_latency_targets_use_the_median_p50_and_the_small_data_run() -> None:
    out = _outcome(
        _measured("trend_lat", 1, 100, 9.0),
        _measured("c_trend_lat", 1, 200, 5.0),
        _measured("trend_lat", 1, 120, 6.0, scale="small"),
    )
    assert _verdict(out, "2-year trend p50 ≤ 1.3") == ("1.80 ×", "missed")
    assert _verdict(out, "trend p50 with full data") == ("1.50 ×", "missed")


def test_a_missing_endpoint_is_reported_not_compared() -> None:
    missing = Measured(BY_KEY["csv"], 2, "large", status="n/a (endpoint missing)")
    out = _outcome(missing, _measured("c_export", 2, 100, 10))
    assert "| n/a (endpoint missing) |" in render(out)
    assert _verdict(out, "csv: 2 workers") == ("not measured", "n/a")


def test_the_document_keeps_what_is_written_outside_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\nMethod.\n\n{BEGIN}\nold table\n{END}\n\n## Profile\nNotes.\n")
    write_doc(doc, _outcome(_measured("c_validate", 2, 9000, 5)))
    text = doc.read_text()
    assert "old table" not in text
    assert text.startswith("# Benchmarks\n\nMethod.\n\n")
    assert text.endswith("## Profile\nNotes.\n")
    assert "| (a) framework: validate the diary body, no database | c_validate |" in text


def test_reads_under_load_open_a_connection_per_request(tmp_path: Path) -> None:
    """`reconnect` scenarios send `Connection: close`, so that each request is accepted anew
    (by whichever worker is free) instead of riding a connection that one worker took when wrk
    opened them all at once. Driven through the real wrk and Lua script against a server that
    counts the connections it accepts."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import pytest

    from bench.load import run_wrk

    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (CI installs it)")
    peers: set[tuple[str, int]] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            peers.add(self.client_address)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    prefix = tmp_path / "reads"
    (tmp_path / "reads.req").write_text("GET\t/x\t-\n")
    try:
        kept = run_wrk(base, connections=4, seconds=1, args=["read", str(prefix), "", "1", "70"])
        assert kept.requests > 20 and len(peers) <= 4
        peers.clear()
        fresh = run_wrk(
            base, connections=4, seconds=1, args=["read", str(prefix), "", "1", "70", "close"]
        )
        assert fresh.requests > 20 and len(peers) >= 0.9 * fresh.requests
    finally:
        server.shutdown()
    assert BY_KEY["panel"].reconnect and BY_KEY["c_panel"].reconnect
    assert not BY_KEY["trend_lat"].reconnect and not BY_KEY["diary_put"].reconnect


def test_replicas_behind_haproxy_are_rows_of_their_own() -> None:
    """`--replicas 2`: the same scenario at 2 workers and on 2 replicas behind HAProxy; the
    targets read the 2-worker server, the table shows both."""
    put = _measured("diary_put", 2, 1500, 40)
    behind = _measured("diary_put", 2, 900, 70)
    behind.topology = "HAProxy"
    out = _outcome(behind, put, _measured("c_naive", 2, 1000, 60))
    assert out.get("diary_put", 2) is put
    assert _verdict(out, "diary PUT ≥ 1.0 × the naive") == ("1.50 ×", "met")
    text = render(out)
    assert "| diary_put | full | 2 replicas (HAProxy) | 64 | 900.0 |" in text
    assert text.index("| 2 | 64 | 1,500.0 |") < text.index("2 replicas (HAProxy)")


def test_a_server_that_cannot_start_reports_its_scenarios_as_errors(tmp_path: Path) -> None:
    """`run_on`: e.g. `--replicas 2` without HAProxy installed; the run goes on, and the CLI
    then exits 1 on the error rows."""
    from bench.load import Replicas
    from bench.runner import Files, run_on
    from bench.scenarios import Ctx

    class NoHAProxy(Replicas):
        def start(self) -> None:
            raise RuntimeError("HAProxy is not installed")

    out = _outcome()
    ctx = Ctx.__new__(Ctx)
    ctx.scale = "large"
    todo = [BY_KEY["diary_put"], BY_KEY["trend"]]
    run_on(out, ctx, NoHAProxy("product", 2, {}, tmp_path / "lb.log"), todo, Files(tmp_path))
    assert [(m.scenario.key, m.status, m.topology) for m in out.results] == [
        ("diary_put", "error: HAProxy is not installed", "HAProxy"),
        ("trend", "error: HAProxy is not installed", "HAProxy"),
    ]
    assert "| 2 replicas (HAProxy) | 64 | error: HAProxy is not installed |" in render(out)
