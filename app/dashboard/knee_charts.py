"""A per-knee measure on one chart: both knees (the index knee emphasised), the baseline of the
knee the page judges with its basis and a band of the thresholds around it (SPEC §4, §7), and
the record's events marked on it: exercise sessions, falls with their setting and supervision,
and treatments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from app.dashboard import charts as ch
from app.dashboard.period import Window
from app.trends.schemas import TrendOut

BASIS_WORDS = {
    "plan": "since the exercise plan's start",
    "treatment": "since the latest treatment",
    "intake": "the first days of the record",
    "window": "the first days of this period",
    "custom": "chosen dates",
}


@dataclass(frozen=True)
class MetricView:
    """One chart, the sentence that says what it shows, and its numbers as a table."""

    chart: ch.Chart
    summary: str
    columns: tuple[str, ...]  # after the date column
    rows: list[tuple[dt.date, tuple[str, ...]]]


@dataclass(frozen=True)
class KneeTrend:
    knee: str  # left | right
    trend: TrendOut
    index: bool  # the patient's index knee: drawn emphasised
    # Without an index knee neither is emphasised, but the two must still look different:
    # the left knee takes the solid style, the right the dashed one.
    no_index: bool = False

    @property
    def style(self) -> str:
        return "index" if self.index or (self.no_index and self.knee == "left") else "other"


@dataclass(frozen=True)
class Event:
    """Something that happened on a day, marked on the chart."""

    day: dt.date
    label: str  # on the marker
    title: str  # the whole story, for a pointer and a screen reader
    css: str  # fall | near | treatment | session


def knee_name(k: KneeTrend) -> str:
    return f"{k.knee} knee" + (" (index)" if k.index else "")


def threshold_band(t: TrendOut, unit: str) -> tuple[float, float, str] | None:
    """Around the baseline, the change that would count: improvement by the MCID (or its
    relative form, whichever is smaller, and at least the MDC), worsening by `worsening`; a
    measure judged by measurement error alone has ± the MDC. None without a baseline."""
    base, th = t.baseline.mean, t.thresholds
    if base is None:
        return None
    if t.threshold_kind == "mdc":
        if th.mdc is None:
            return None
        better = worse = th.mdc
        words = f"baseline ± measurement error ({ch.fmt(th.mdc)}{unit})"
    elif t.threshold_kind == "mcid":
        bars = [th.mcid] if th.mcid is not None else []
        if th.mcid_percent is not None and base:
            bars.append(th.mcid_percent / 100 * abs(base))
        if not bars:
            return None
        better = max(min(bars), th.mdc or 0.0)
        worse = th.worsening if th.worsening is not None else better
        words = (
            f"baseline band: {ch.fmt(better)}{unit} better is a clinically important "
            f"improvement, {ch.fmt(worse)}{unit} worse is beyond measurement error"
        )
    else:
        return None
    if t.direction == "lower_is_better":
        return base - better, base + worse, words
    return base - worse, base + better, words


def _series(chart: ch.Chart, frame: ch.Frame, k: KneeTrend, unit: str) -> None:
    name = knee_name(k)
    style = k.style
    chart.dots += [
        ch.Dot(
            frame.x(p.period_start),
            frame.y(p.mean),
            f"{p.period_start:%-d %b %Y}, {name}: {ch.fmt(p.mean)}{unit}",
            css=f"daily {style}",
        )
        for p in k.trend.points
    ]
    rolling = [(p.period_start, p.rolling_mean_7d) for p in k.trend.points]
    if any(v is not None for _, v in rolling):
        chart.lines.append(ch.Line(f"{name}: 7-day mean", f"mean {style}", ch.path(frame, rolling)))
        chart.legend.append(ch.LegendItem(f"{name}: 7-day mean", f"mean {style}", "line"))
    if k.trend.points:
        chart.legend.append(ch.LegendItem(f"{name}: daily value", f"daily {style}", "dot"))


def _y_range(
    knees: Sequence[KneeTrend], band: tuple[float, float, str] | None
) -> tuple[float, float]:
    values = [p.mean for k in knees for p in k.trend.points]
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    if band:
        lo, hi = min(lo, band[0]), max(hi, band[1])
    pad = max(5.0, (hi - lo) * 0.1)
    return ch.nice_floor(lo - pad), ch.nice_ceil(hi + pad)


def knee_view(
    judged: TrendOut,
    knees: Sequence[KneeTrend],
    w: Window,
    *,
    title: str,
    unit: str,
    y_range: tuple[float, float] | None,
    summary: str,
    events: Sequence[Event] = (),
    wide: bool = False,
) -> MetricView:
    """`judged` is the trend of the knee the page judges (its baseline and band); `knees`
    the left and right knees' own trends, drawn together."""
    band = threshold_band(judged, unit)
    if y_range is None:
        y_range = _y_range(knees, band)
    frame = ch.Frame(w.start, w.end, *y_range, width=ch.WIDE if wide else ch.HALF)
    shown = " and ".join(knee_name(k) for k in knees) or "no knee"
    chart = ch.Chart(
        id=judged.metric,
        title=title,
        desc=f"{title}: daily values and 7-day rolling means of the {shown}, with the "
        f"baseline, {w.start:%-d %b %Y} to {w.end:%-d %b %Y}.",
        frame=frame,
        unit=unit,
        empty=not any(k.trend.points for k in knees),
    )
    for k in sorted(knees, key=lambda k: k.style == "index"):  # the solid one drawn on top
        _series(chart, frame, k, unit)
    if judged.baseline.mean is not None:
        _draw_baseline(chart, frame, judged, band)
    _mark(chart, frame, events)
    return MetricView(chart, summary, *_table(knees, unit))


def _draw_baseline(
    chart: ch.Chart, frame: ch.Frame, t: TrendOut, band: tuple[float, float, str] | None
) -> None:
    mean = t.baseline.mean
    assert mean is not None
    if band is not None:
        top, bottom = min(band[1], frame.y_max), max(band[0], frame.y_min)
        chart.bands.append(ch.Band(frame.y(top), frame.y(bottom), band[2]))
        chart.legend.append(ch.LegendItem(band[2], "band", "band"))
    basis = BASIS_WORDS[t.baseline.basis]
    knee = f"{t.knee} knee" if t.knee else ""
    chart.hlines.append(ch.HLine(frame.y(mean), f"baseline {ch.fmt(mean)} ({basis})", "baseline"))
    chart.legend.append(
        ch.LegendItem(
            f"baseline, {knee} ({basis}, from {t.baseline.from_:%-d %b %Y})", "baseline", "dashed"
        )
    )


EVENT_LEGEND = {
    "fall": "fall (setting and supervision in its label)",
    "near": "near fall",
    "treatment": "treatment",
}


def _mark(chart: ch.Chart, frame: ch.Frame, events: Sequence[Event]) -> None:
    inside = [e for e in events if frame.start <= e.day <= frame.end]
    chart.markers += [
        ch.Marker(frame.x(e.day), e.label, e.title, e.css) for e in inside if e.css != "session"
    ]
    chart.rug += [
        ch.Marker(frame.x(e.day), e.label, e.title, "session") for e in inside if e.css == "session"
    ]
    if chart.rug:
        chart.legend.append(ch.LegendItem("exercise session (tick on the axis)", "rug", "rug"))
    for css in dict.fromkeys(m.css for m in chart.markers):
        chart.legend.append(ch.LegendItem(EVENT_LEGEND.get(css, css), css, "marker"))


def _table(
    knees: Sequence[KneeTrend], unit: str
) -> tuple[tuple[str, ...], list[tuple[dt.date, tuple[str, ...]]]]:
    columns: list[str] = []
    by_day: dict[dt.date, list[str]] = {}
    for n, k in enumerate(knees):
        name = knee_name(k).capitalize()
        columns += [name, f"{name}, 7-day mean"]
        for p in k.trend.points:
            row = by_day.setdefault(p.period_start, ["–"] * (2 * len(knees)))
            row[2 * n] = f"{ch.fmt(p.mean)}{unit}"
            row[2 * n + 1] = ch.fmt(p.rolling_mean_7d)
    return tuple(columns), [(d, tuple(v)) for d, v in sorted(by_day.items())]
