"""The pieces of a patient's page: each measure's chart with its plain-words summary, the
exercise chart and the exercise response in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.dashboard import charts as ch
from app.dashboard.knee_charts import BASIS_WORDS, MetricView
from app.dashboard.period import KNEES, Window
from app.trends.schemas import ExerciseResponseOut, PlanAdherenceOut, TrendOut

STATUS_WORDS = {
    "improved": "improved by a clinically important amount",
    "worsened": "worsened beyond measurement error",
    "no_important_change": "no clinically important change",
    "insufficient_data": "not enough data to judge (too few values in the baseline or "
    "the last days)",
}
# Metrics judged by measurement error alone (no published MCID): never "clinically important".
MDC_STATUS_WORDS = {
    **STATUS_WORDS,
    "improved": "improved beyond measurement error",
    "no_important_change": "no change beyond measurement error",
}


def status_words(t: TrendOut) -> str | None:
    if t.status is None:
        return None
    return (MDC_STATUS_WORDS if t.threshold_kind == "mdc" else STATUS_WORDS)[t.status]


ACTIVITY_LABELS = {
    "backward_walking": "Backward walking",
    "backward_treadmill": "Backward walking (treadmill)",
    "forward_walking": "Forward walking",
    "strengthening": "Strengthening",
    "cycling": "Cycling",
}
ACTIVITY_CSS = {a: f"bar-{a}" for a in ACTIVITY_LABELS}


@dataclass(frozen=True)
class ResponseView:
    activity: str
    sentence: str
    interval: str
    before_after: str | None


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def summary(t: TrendOut, unit: str) -> str:
    base, cur = t.baseline, t.current
    if t.n == 0:
        what = "KOOS-JR questionnaires" if t.metric == "koos_jr" else "entries"
        return f"No {what} in this period."
    parts = [
        f"Baseline {ch.fmt(base.mean)}{unit} ({_days(base.n)} from {base.from_:%-d %b %Y}, "
        f"{BASIS_WORDS[base.basis]})",
        f"last {_days((cur.to - cur.from_).days + 1)} {ch.fmt(cur.mean)}{unit} ({_days(cur.n)})",
    ]
    text = "; ".join(parts)
    if t.change is not None:
        sign = "+" if t.change > 0 else "−" if t.change < 0 else "±"
        text += f": change {sign}{ch.fmt(abs(t.change))}{unit}"
    words = status_words(t)
    if words:
        text += f", {words}"
        th = t.thresholds
        if t.status != "insufficient_data":
            if t.threshold_kind == "mcid" and th.mcid is not None:
                bar = f"{ch.fmt(th.mcid)}{unit}"
                if th.mcid_percent is not None:
                    bar += f" or {ch.fmt(th.mcid_percent)} %"
                text += f" (important change: {bar})"
            elif th.mdc is not None:
                text += f" (measurement error {ch.fmt(th.mdc)}{unit})"
        if t.acceptable_state is not None and th.acceptable is not None:
            text += (
                f"; the last days are {'within' if t.acceptable_state else 'above'} the "
                f"acceptable symptom state ({ch.fmt(th.acceptable)}{unit})"
            )
    return text + "."


def _dots(frame: ch.Frame, t: TrendOut, unit: str, *, labelled: bool = False) -> list[ch.Dot]:
    return [
        ch.Dot(
            frame.x(p.period_start),
            frame.y(p.mean),
            f"{p.period_start:%-d %b %Y}: {ch.fmt(p.mean)}{unit}",
            label=ch.fmt(p.mean, 0) if labelled else "",
        )
        for p in t.points
    ]


def koos_view(t: TrendOut, w: Window) -> MetricView:
    frame = ch.Frame(w.start, w.end, 0, 100, width=ch.WIDE, height=200)
    title = "KOOS-JR (0–100, 100 = no knee problems)"
    chart = ch.Chart(
        id="koos_jr",
        title=title,
        desc=f"KOOS-JR scores from {w.start:%-d %b %Y} to {w.end:%-d %b %Y}.",
        frame=frame,
        unit="",
        empty=not t.points,
    )
    chart.dots = _dots(frame, t, "", labelled=True)
    if len(t.points) > 1:
        chart.lines.append(
            ch.Line(
                "scores",
                "koos",
                " ".join(
                    f"{'L' if k else 'M'}{frame.x(p.period_start)} {frame.y(p.mean)}"
                    for k, p in enumerate(t.points)
                ),
            )
        )
    chart.legend.append(ch.LegendItem("questionnaire score", "daily", "dot"))
    if not t.points:
        summary = "No KOOS-JR questionnaire in the last year."
    else:
        listed = ", ".join(f"{ch.fmt(p.mean)} on {p.period_start:%-d %b %Y}" for p in t.points)
        summary = f"Scores: {listed}."
        if len(t.points) > 1:
            change = t.points[-1].mean - t.points[0].mean
            summary += f" Change since the first: {'+' if change > 0 else ''}{ch.fmt(change)}"
            mcid = t.thresholds.mcid
            if mcid is not None:
                important = abs(change) >= mcid
                summary += (
                    f" ({'at least' if important else 'less than'} the minimal important "
                    f"change of {ch.fmt(mcid)})"
                )
            summary += "."
    rows: list[tuple[dt.date, tuple[str, ...]]] = [
        (p.period_start, (ch.fmt(p.mean),)) for p in t.points
    ]
    return MetricView(chart, summary, ("Score",), rows)


def exercise_chart(
    w: Window,
    days: Sequence[Any],
    plans: Sequence[PlanAdherenceOut],
    events: list[tuple[dt.date, str, str]],
) -> ch.Chart:
    totals: dict[dt.date, int] = {}
    for e in days:
        totals[e.day] = totals.get(e.day, 0) + e.minutes
    active = [p for p in plans if p.start_date <= w.end and (p.end_date or w.end) >= w.start]
    target = max((p.minutes_per_session for p in active), default=0)
    top = ch.nice_ceil(max([*totals.values(), target, 10]) * 1.15)
    frame = ch.Frame(w.start, w.end, 0, top, width=ch.WIDE)
    chart = ch.Chart(
        id="exercise",
        title="Exercise minutes per day",
        desc=f"Minutes of exercise per day by activity, {w.start:%-d %b %Y} to "
        f"{w.end:%-d %b %Y}, with the plan's minutes per session.",
        frame=frame,
        unit=" min",
        empty=not days,
    )
    width = max(1.0, frame.day_width() * 0.8)
    stacked: dict[dt.date, int] = {}
    seen: dict[str, None] = {}
    for e in sorted(days, key=lambda e: (e.day, e.activity != "backward_walking", e.activity)):
        below = stacked.get(e.day, 0)
        stacked[e.day] = below + e.minutes
        css = ACTIVITY_CSS.get(e.activity, "bar-other")
        label = ACTIVITY_LABELS.get(e.activity, e.activity.replace("_", " ").capitalize())
        seen.setdefault(e.activity, None)
        y_top = frame.y(below + e.minutes)
        chart.bars.append(
            ch.Bar(
                round(frame.x(e.day) - width / 2, 1),
                y_top,
                round(width, 1),
                round(frame.y(below) - y_top, 1),
                css,
                f"{e.day:%-d %b}: {label}, {e.minutes} min",
            )
        )
    for activity in seen:
        label = ACTIVITY_LABELS.get(activity, activity.replace("_", " ").capitalize())
        chart.legend.append(ch.LegendItem(label, ACTIVITY_CSS.get(activity, "bar-other"), "bar"))
    for p in active:
        chart.hlines.append(
            ch.HLine(
                frame.y(p.minutes_per_session),
                f"plan {p.minutes_per_session} min × {p.sessions_per_week}/week",
                "target",
            )
        )
    if active:
        chart.legend.append(ch.LegendItem("plan: minutes per session", "target", "dashed"))
    chart.markers = ch.markers_for(frame, events)
    if chart.markers:
        chart.legend.append(ch.LegendItem("fall or near fall", "fall", "marker"))
    return chart


def response_view(r: ExerciseResponseOut, knee: str) -> ResponseView:
    activity = ACTIVITY_LABELS.get(r.activity, r.activity).lower()
    lag = "the day after" if r.lag_days == 1 else f"{r.lag_days} days after"
    d = r.descriptive
    act, rest = d.after_activity, d.after_rest
    where = f"pain ({KNEES[knee].lower()})"
    if act.mean is None or rest.mean is None or d.difference is None:
        sentence = (
            f"Not enough days to compare {where} {lag} {activity} with {lag} a rest day "
            f"({act.n} and {rest.n} days)."
        )
    else:
        sentence = (
            f"{lag.capitalize()} {activity}, {where} averaged {ch.fmt(act.mean)} "
            f"({act.n} days); {lag} a day without exercise it averaged {ch.fmt(rest.mean)} "
            f"({rest.n} days). These raw means are not adjusted for anything."
        )
    if not r.enough_data or r.effect is None or r.ci95 is None:
        interval = (
            f"Too few days for the adjusted estimate ({r.n} modelled days, "
            f"{r.activity_days} after {activity}; 28 days with 5 after the activity and 5 "
            "without are needed)."
        )
    else:
        low, high = r.ci95
        crosses = low <= 0 <= high
        interval = (
            f"Adjusted for the trend over time and the previous day's pain, {activity} is "
            f"associated with {ch.fmt(r.effect, 2)} points of pain {lag} (95 % interval "
            f"{ch.fmt(low, 2)} to {ch.fmt(high, 2)}, {r.n} days). "
            + (
                "The interval includes zero: no effect is shown."
                if crosses
                else "The interval excludes zero."
            )
        )
    before_after = None
    ba = r.before_after
    if ba is not None and ba.before.mean is not None and ba.after.mean is not None:
        before_after = (
            f"Since the plan started on {ba.plan_start:%-d %b %Y}: pain averaged "
            f"{ch.fmt(ba.before.mean)} in the 14 days before it and {ch.fmt(ba.after.mean)} "
            f"in the last 14 days (uncontrolled: pain may change on its own)."
        )
    return ResponseView(activity, sentence, interval, before_after)
