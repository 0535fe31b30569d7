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
    assert _verdict(out, "diary PUT ≥ 50 %") == ("60 %", "met")
    assert _verdict(out, "diary PUT faster than the naive") == ("1.50 ×", "met")
    assert _verdict(out, "sync of 500-item") == ("not measured", "n/a")


def test_batches_compare_rows_per_second() -> None:
    out = _outcome(_measured("sync_500", 2, 40, 300), _measured("c_executemany", 2, 100, 100))
    assert _verdict(out, "sync of 500-item") == ("40 %", "missed")


def test_latency_targets_use_the_median_p50_and_the_small_data_run() -> None:
    out = _outcome(
        _measured("trend_lat", 1, 100, 9.0),
        _measured("c_trend_lat", 1, 200, 5.0),
        _measured("trend_lat", 1, 120, 6.0, scale="small"),
    )
    assert _verdict(out, "2-year trend p50") == ("1.80 ×", "missed")
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
