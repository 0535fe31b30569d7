"""The benchmark's table, its targets, and docs/BENCHMARKS.md."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from bench.load import machine
from bench.runner import Measured, Options, Outcome

BEGIN = "<!-- bench:begin (written by `python -m bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"
SCALE = {"small": "small", "large": "full"}


def _f(v: float, digits: int = 1) -> str:
    return f"{v:,.{digits}f}"


def _ratio(out: Outcome, m: Measured) -> tuple[str, str]:
    s = m.scenario
    if s.ceiling is None or not m.ok:
        return "", ""
    c = out.get(s.ceiling, m.workers, m.scale)
    if c is None or not c.ok:
        return s.ceiling, "no ceiling"
    if s.compare == "latency":
        return s.ceiling, f"{m.p50 / c.p50:.2f} × p50"
    unit = "rows/s" if s.rows > 1 else "req/s"
    return s.ceiling, f"{100 * m.rows_per_s / c.rows_per_s:.0f} % {unit}"


def _errors(m: Measured) -> str:
    """Errors, and a warning when fewer rows were stored than the answered writes imply."""
    if m.stored is not None and m.stored < 0.9:
        return f"{m.errors} (only {100 * m.stored:.0f} % of rows stored)"
    return str(m.errors)


def _workers(m: Measured) -> str:
    return f"{m.workers} replicas ({m.topology})" if m.topology else str(m.workers)


def table(out: Outcome) -> list[str]:
    head = (
        "| scenario | key | data | workers | conns | req/s | rows/s | p50 ms | p99 ms "
        "| errors | CPU ms/req | RSS MB | vs ceiling | ratio |"
    )
    lines = [head, "|" + " --- |" * 14]
    order = {"small": 0, "large": 1}
    rows = sorted(
        out.results,
        key=lambda m: (
            order[m.scale],
            bool(m.topology),
            m.scenario.server != "ceilings",
            m.workers,
        ),
    )
    for m in rows:
        s = m.scenario
        ceiling, ratio = _ratio(out, m)
        if not m.ok:
            blank = [""] * 6  # req/s holds the status; no figures
            cells = [s.label, s.key, SCALE[m.scale], _workers(m), str(s.conns), m.status]
            cells += [*blank, ceiling, ""]
        else:
            rss = _f(m.rss_mb, 0) if m.rss_mb else ""
            if m.peak_mb is not None and m.idle_mb is not None:
                rss = f"{m.peak_mb:.0f} (idle {m.idle_mb:.0f})"
            cells = [
                s.label,
                s.key,
                SCALE[m.scale],
                _workers(m),
                str(s.conns),
                _f(m.rps),
                _f(m.rows_per_s, 0) if s.rows > 1 else "",
                _f(m.p50, 2),
                _f(m.p99, 2),
                _errors(m),
                _f(m.cpu_ms, 2) if m.cpu_ms is not None else "",
                rss,
                ceiling,
                ratio,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@dataclass
class Target:
    text: str
    measured: str
    verdict: str  # met | missed | n/a


def _pair(
    out: Outcome, a: str, b: str, w: int = 2, sa: str = "large", sb: str = "large"
) -> tuple[Measured, Measured] | None:
    ma, mb = out.get(a, w, sa), out.get(b, w, sb)
    if ma is None or mb is None or not ma.ok or not mb.ok:
        return None
    return ma, mb


def _best_workers(out: Outcome) -> int:
    return max(out.options.workers)


def targets(out: Outcome) -> list[Target]:
    w = _best_workers(out)
    t: list[Target] = []

    def add(text: str, pair: tuple[Measured, Measured] | None, value: str, ok: bool) -> None:
        t.append(
            Target(
                text,
                value if pair else "not measured",
                ("met" if ok else "missed") if pair else "n/a",
            )
        )

    # Performance v2 (issue: an authenticated, audited write faster than a naive insert).
    workers = f"{w} worker{'s' if w > 1 else ''}"
    p = _pair(out, "diary_put", "c_raw_insert", w)
    r = p[0].rps / p[1].rps if p else 0.0
    add(
        f"diary PUT ≥ 30 % of the raw-driver write limit ({workers})",
        p,
        f"{100 * r:.0f} %",
        r >= 0.3,
    )
    p = _pair(out, "diary_put", "c_naive", w)
    r = p[0].rps / p[1].rps if p else 0.0
    add(f"diary PUT ≥ 1.0 × the naive SQLModel peer ({workers})", p, f"{r:.2f} ×", r >= 1.0)
    put = out.get("diary_put", w)
    cpu = put.cpu_ms if put is not None and put.ok and put.cpu_ms is not None else None
    t.append(
        Target(
            f"diary PUT ≤ 2 ms of server CPU per request ({workers})",
            f"{cpu:.2f} ms" if cpu is not None else "not measured",
            ("met" if cpu <= 2.0 else "missed") if cpu is not None else "n/a",
        )
    )
    for n in sorted(out.options.workers):
        p = _pair(out, "sync_500", "c_executemany", n)
        r = p[0].rows_per_s / p[1].rows_per_s if p else 0.0
        per = f"{n} worker{'s' if n > 1 else ''}"
        add(
            f"sync of 500-item batches ≥ 80 % of executemany rows/s ({per})",
            p,
            f"{100 * r:.0f} %",
            r >= 0.8,
        )
    for key, ceiling, name, limit in (
        ("trend_lat", "c_trend_lat", "2-year trend", 1.3),
        ("fhir_lat", "c_export_lat", "FHIR export of 2 years", 5.0),
        ("summary_lat", "c_summary_lat", "all-metrics summary", 1.5),
        ("panel_lat", "c_panel_lat", "panel of 200", 2.0),
    ):
        p = _pair(out, key, ceiling, 1)
        r = p[0].p50 / p[1].p50 if p else 0.0
        read_limit = "the CSV ceiling" if ceiling == "c_export_lat" else "the read limit"
        add(
            f"{name} p50 ≤ {limit} × {read_limit} (1 connection, full data)",
            p,
            f"{r:.2f} ×",
            r <= limit,
        )
    for key, name in (("trend_lat", "trend"), ("summary_lat", "summary"), ("panel_lat", "panel")):
        p = _pair(out, key, key, 1, "large", "small")
        r = p[0].p50 / p[1].p50 if p else 0.0
        add(f"{name} p50 with full data within 1.25 × of small data", p, f"{r:.2f} ×", r <= 1.25)
    if 1 in out.options.workers and 2 in out.options.workers:
        for key in ("trend", "summary", "panel", "csv", "fhir"):
            a, b = out.get(key, 2), out.get(key, 1)
            pair = (a, b) if a and b and a.ok and b.ok else None
            r = a.rps / b.rps if pair and a and b else 0.0
            add(f"{key}: 2 workers ≥ 1.6 × 1 worker", pair, f"{r:.2f} ×", r >= 1.6)
    rss = [m.rss_mb for m in out.results if m.scenario.server == "product" and m.rss_mb]
    t.append(
        Target(
            "server RSS ≤ 150 MB per worker under load",
            f"max {max(rss):.0f} MB" if rss else "not measured",
            ("met" if max(rss) <= 150 else "missed") if rss else "n/a",
        )
    )
    for key, name in (("csv_lat", "CSV"), ("fhir_lat", "FHIR")):
        m = out.get(key, 1)
        if m is None or not m.ok or m.peak_mb is None or m.idle_mb is None:
            t.append(Target(f"{name} export peak RSS within 20 MB of idle", "not measured", "n/a"))
            continue
        d = m.peak_mb - m.idle_mb
        t.append(
            Target(
                f"{name} export peak RSS within 20 MB of idle",
                f"+{d:.1f} MB ({m.idle_mb:.0f} → {m.peak_mb:.0f})",
                "met" if d <= 20 else "missed",
            )
        )
    return t


def _product_env(o: Options) -> str:
    if o.product_python == sys.executable:
        return "the benchmark's own environment (dev packages installed)"
    return f"`{o.product_python}` (`--product-python`)"


def render(out: Outcome) -> str:
    o = out.options
    lines = [
        f"Run {out.started} with `{o.command}` in {out.seconds / 60:.1f} min, on {machine()}, "
        f"{out.postgres} on the same machine, load from wrk on the same machine; the product "
        f"counts rate limits in {out.limits_store}; its servers ran in {_product_env(o)}.",
        "",
        f"Data: {'; '.join(out.seed_notes) or 'reused from an earlier run (--reuse)'}. "
        f"Each figure is the median of {o.runs} run(s) of {o.duration:g} s "
        f"(after a {o.warmup:g} s warm-up); errors are summed over the runs.",
        "",
        *table(out),
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        *[f"| {t.text} | {t.measured} | {t.verdict} |" for t in targets(out)],
    ]
    return "\n".join(lines)


DEFAULT_DOC = """# Benchmarks

{begin}
{end}
"""


def write_doc(path: Path, out: Outcome) -> None:
    text = path.read_text() if path.exists() else DEFAULT_DOC.format(begin=BEGIN, end=END)
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{render(out)}\n{END}{tail}")
