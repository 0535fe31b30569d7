"""The flag rules of SPEC v2 §5 as pure functions over one patient's record: each rule
answers its *hits*, the days its condition held, with the criterion met and what the data
showed that day. `app.trends.episodes` groups hits into episodes.

A hit on a day depends only on the data from `CONTEXT_DAYS` before it to `LOOKAHEAD_DAYS`
after it (the plan rules read the plan's weeks and its baseline, loaded whole), so a change on
one date can only move the hits from `LOOKAHEAD_DAYS` before it on: the incremental refresh
(`app.trends.state`) relies on that. Every parameter is read through `app.clinical.threshold`
(keys `flag_*`)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Literal

from app.clinical import threshold
from app.trends.adherence import PlanInfo, WeekAdherence
from app.trends.analysis import DAY, mean
from app.trends.metrics import rom_error

Severity = Literal["info", "warning", "urgent"]
SEVERITY_ORDER: dict[str, int] = {"urgent": 0, "warning": 1, "info": 2}
KNEES = ("left", "right")
CONTEXT_DAYS = 60
LOOKAHEAD_DAYS = 7


@dataclass(frozen=True)
class Day:
    """One diary entry, as the rules read it (`pain` is the worse knee's)."""

    day: dt.date
    pain: float | None = None
    left_swelling: int | None = None
    right_swelling: int | None = None
    left_warmth: bool | None = None
    right_warmth: bool | None = None
    left_giving_way: bool | None = None
    right_giving_way: bool | None = None
    left_flexion: int | None = None
    right_flexion: int | None = None
    left_extension: int | None = None
    right_extension: int | None = None
    left_rom_method: str | None = None
    right_rom_method: str | None = None
    morning_stiffness_minutes: int | None = None
    flare: bool | None = None
    falls: int | None = None


@dataclass(frozen=True)
class SessionDay:
    day: dt.date
    activity: str
    falls: int | None = None
    near_falls: int | None = None
    setting: str | None = None
    supervised: bool | None = None
    pain_before: int | None = None
    pain_after: int | None = None


@dataclass
class Record:
    """What the rules read of one patient: entries and sessions in date order from some
    date on, the plans with their scored weeks as of `today`, the date they joined a care
    team and their last entry before the first one given."""

    today: dt.date
    days: Sequence[Day] = ()
    sessions: Sequence[SessionDay] = ()
    plans: Sequence[PlanInfo] = ()
    weeks: dict[Any, list[WeekAdherence]] = field(default_factory=dict)
    joined: dt.date | None = None
    last_entry_before: dt.date | None = None
    baselines: dict[Any, float | None] = field(default_factory=dict)  # pain before each plan


@dataclass(frozen=True)
class Hit:
    rule: str
    key: str
    day: dt.date
    severity: Severity
    criterion: str
    note: str = ""
    value: float | None = None


def _p(key: str) -> float:
    return threshold(f"flag_{key}")


def _i(key: str) -> int:
    return int(threshold(f"flag_{key}"))


def fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _runs(points: Sequence[tuple[dt.date, float]], ok: Callable[[float], bool]) -> list[list[Any]]:
    """Maximal runs of consecutive dates whose value passes `ok`."""
    runs: list[list[Any]] = []
    for d, v in points:
        if not ok(v):
            continue
        if runs and runs[-1][-1][0] + DAY == d:
            runs[-1].append((d, v))
        else:
            runs.append([(d, v)])
    return runs


def _above_usual(pain: list[tuple[dt.date, float]]) -> list[Hit]:
    """Pain ≥ the median of the 7 days before the run + 2, on ≥ 2 consecutive days; days
    inside a run already found do not start another."""
    rise, span, need, min_n = (
        _p("flare_rise"),
        _i("flare_median_days"),
        _i("flare_min_days"),
        _i("flare_median_min_n"),
    )
    out: list[Hit] = []
    i, n = 0, len(pain)
    while i < n:
        d0 = pain[i][0]
        before = [v for d, v in pain[max(0, i - span) : i] if d >= d0 - span * DAY]
        if len(before) >= max(min_n, 1) and pain[i][1] >= min(before) + rise:
            base = median(before)
            k = i
            while (
                k < n
                and pain[k][1] >= base + rise
                and (k == i or pain[k][0] == pain[k - 1][0] + DAY)
            ):
                k += 1
            if k - i >= need:
                note = f"median {fmt(base)} in the {span} days before"
                out += [
                    Hit("pain_episode", "", d, "warning", "above_usual", note, v)
                    for d, v in pain[i:k]
                ]
                i = k
                continue
        i += 1
    return out


def pain_episode(r: Record) -> list[Hit]:
    pain = [(x.day, x.pain) for x in r.days if x.pain is not None]
    out = _above_usual(pain)
    level, need = _p("severe_pain"), _i("severe_pain_days")
    for run in _runs(pain, lambda v: v >= level):
        if len(run) >= need:
            out += [Hit("pain_episode", "", d, "warning", "severe", "", v) for d, v in run]
    rise = _p("rapid_rise")
    for (d0, v0), (d1, v1) in zip(pain, pain[1:], strict=False):  # noqa: RUF007
        if d1 == d0 + DAY and v1 - v0 >= rise:
            out.append(Hit("pain_episode", "", d1, "warning", "sudden_rise", f"from {fmt(v0)}", v1))
    out += [
        Hit("pain_episode", "", x.day, "warning", "patient_flare", "", x.pain)
        for x in r.days
        if x.flare
    ]
    return out


def swelling(r: Record) -> list[Hit]:
    """`swelling_rise` per knee: up ≥ 1 grade and sustained ≥ 2 days to ≥ 2, or ≥ 2 on ≥ 3
    consecutive days; `hot_swollen_joint`: warmth and swelling ≥ 2 on the same day."""
    level, sustained, persist = (
        _p("swelling_level"),
        _i("swelling_days"),
        _i("swelling_persist_days"),
    )
    rise, look = _p("swelling_rise"), _i("swelling_before_days")
    out: list[Hit] = []
    for knee in KNEES:
        pts = [
            (x.day, float(v)) for x in r.days if (v := getattr(x, f"{knee}_swelling")) is not None
        ]
        dates = [d for d, _ in pts]
        for run in _runs(pts, lambda v: v >= level):
            first = run[0][0]
            prev = pts[bisect_left(dates, first - look * DAY) : bisect_left(dates, first)]
            risen = (
                bool(prev)
                and len(run) >= sustained
                and min(v for _, v in run[:sustained]) >= prev[-1][1] + rise
            )
            for criterion, ok in (("rise", risen), ("sustained", len(run) >= persist)):
                if ok:
                    note = (
                        f"from grade {fmt(prev[-1][1])} on {prev[-1][0]}"
                        if criterion == "rise"
                        else ""
                    )
                    out += [
                        Hit("swelling_rise", knee, d, "warning", criterion, note, v) for d, v in run
                    ]
        out += [
            Hit("hot_swollen_joint", knee, x.day, "urgent", "warm_and_swollen", "", float(v))
            for x in r.days
            if getattr(x, f"{knee}_warmth")
            and (v := getattr(x, f"{knee}_swelling")) is not None
            and v >= level
        ]
    return out


def _context(s: SessionDay) -> str:
    setting = s.setting or "setting not recorded"
    sup = {True: "supervised", False: "unsupervised"}.get(s.supervised, "supervision not recorded")  # type: ignore[arg-type]
    return f"{s.activity.replace('_', ' ')}, {setting}, {sup}"


def falls(r: Record) -> list[Hit]:
    """`fall` (urgent) from exercise or daily life; `near_falls` (info, warning at ≥ 2 in
    14 days or with the knee giving way in the same week)."""
    out = [
        Hit("fall", "", s.day, "urgent", "exercise", _context(s), float(s.falls))
        for s in r.sessions
        if s.falls
    ]
    out += [
        Hit("fall", "", x.day, "urgent", "daily_life", "daily life", float(x.falls))
        for x in r.days
        if x.falls
    ]
    near = [s for s in r.sessions if s.near_falls]
    gave = [x.day for x in r.days if x.left_giving_way or x.right_giving_way]
    span, many = _i("near_falls_days"), _p("near_falls_warning")
    for s in near:
        recent = sum(t.near_falls or 0 for t in near if s.day - (span - 1) * DAY <= t.day <= s.day)
        with_gw = any(abs((g - s.day).days) <= 6 for g in gave)
        severity: Severity = "warning" if recent >= many or with_gw else "info"
        criterion = "repeated" if recent >= many else "with_giving_way" if with_gw else "single"
        out.append(
            Hit("near_falls", "", s.day, severity, criterion, _context(s), float(s.near_falls or 0))
        )
    return out


def giving_way(r: Record) -> list[Hit]:
    days = [x.day for x in r.days if x.left_giving_way or x.right_giving_way]
    need, window = _i("giving_way_count"), _i("giving_way_days")
    hit: set[dt.date] = set()
    for d in days:
        inside = [g for g in days if d - (window - 1) * DAY <= g <= d]
        if len(inside) >= need:
            hit.update(inside)
    return [Hit("giving_way", "", d, "warning", "repeated") for d in sorted(hit)]


def unsupervised_early(r: Record) -> list[Hit]:
    early = _i("unsupervised_days")
    starts = [p.start_date for p in r.plans if p.activity == "backward_walking"]
    out = []
    for s in r.sessions:
        if s.activity != "backward_walking" or not (
            s.supervised is False or s.setting == "outdoor"
        ):
            continue
        start = max((d for d in starts if d <= s.day < d + early * DAY), default=None)
        if start is not None:
            criterion = "unsupervised" if s.supervised is False else "outdoor"
            out.append(
                Hit(
                    "unsupervised_early",
                    "",
                    s.day,
                    "info",
                    criterion,
                    f"{_context(s)}; plan started {start}",
                )
            )
    return out


def exercise_pain(r: Record) -> list[Hit]:
    """≥ 2 of the last 5 sessions with pain recorded (within 28 days) over the pain-monitoring
    limits: pain after above 5, or next-day pain above the pre-session level."""
    pain = {x.day: x.pain for x in r.days if x.pain is not None}
    limit, last, need, look = (
        threshold("session_pain_limit"),
        _i("exercise_pain_sessions"),
        _i("exercise_pain_count"),
        _i("exercise_pain_within_days"),
    )
    scored: list[tuple[dt.date, bool]] = []
    out = []
    for s in r.sessions:
        nxt = pain.get(s.day + DAY)
        if s.pain_after is None and (s.pain_before is None or nxt is None):
            continue
        over = (s.pain_after is not None and s.pain_after > limit) or (
            s.pain_before is not None and nxt is not None and nxt > s.pain_before
        )
        scored.append((s.day, over))
        recent = [o for d, o in scored[-last:] if d > s.day - look * DAY]
        if over and sum(recent) >= need:
            out.append(
                Hit(
                    "exercise_pain",
                    "",
                    s.day,
                    "warning",
                    "over_limits",
                    f"{sum(recent)} of the last {len(recent)} sessions",
                )
            )
    return out


def morning_stiffness(r: Record) -> list[Hit]:
    limit, count, last, look = (
        _p("morning_stiffness_minutes"),
        _i("morning_stiffness_count"),
        _i("morning_stiffness_entries"),
        _i("morning_stiffness_within_days"),
    )
    pts = [
        (x.day, x.morning_stiffness_minutes)
        for x in r.days
        if x.morning_stiffness_minutes is not None
    ]
    out = []
    for i, (d, v) in enumerate(pts):
        recent = [w for e, w in pts[max(0, i - last + 1) : i + 1] if e > d - look * DAY]
        over = sum(1 for w in recent if w > limit)
        if v > limit and over >= count:
            out.append(
                Hit(
                    "prolonged_morning_stiffness",
                    "",
                    d,
                    "info",
                    "over_limit",
                    f"{over} of the last {len(recent)} entries",
                    float(v),
                )
            )
    return out


def rom_loss(r: Record) -> list[Hit]:
    """Per knee: the mean flexion of the last 14 days below that of the 28 days before by more
    than the measurement error of the methods used (extension: above it, a flexion
    contracture); sparse measures need one value in each period (SPEC §4)."""
    cur_days, base_days = _i("rom_current_days"), _i("rom_baseline_days")
    out = []
    for knee in KNEES:
        for measure, sign in (("flexion", 1.0), ("extension", -1.0)):
            pts = [
                (x.day, float(v), getattr(x, f"{knee}_rom_method"))
                for x in r.days
                if (v := getattr(x, f"{knee}_{measure}")) is not None
            ]
            dates = [d for d, _, _ in pts]
            for d, _, _ in pts:
                c0 = bisect_left(dates, d - (cur_days - 1) * DAY)
                b0 = bisect_left(dates, d - (cur_days + base_days - 1) * DAY)
                cur, base = pts[c0 : bisect_left(dates, d + DAY)], pts[b0:c0]
                if not cur or not base:
                    continue
                error = rom_error({m for _, _, m in cur + base})
                cm, bm = mean(v for _, v, _ in cur), mean(v for _, v, _ in base)
                if error is None or cm is None or bm is None or sign * (bm - cm) < error - 1e-12:
                    continue
                note = (
                    f"{fmt(cm)}° in the last {cur_days} days against {fmt(bm)}° in the "
                    f"{base_days} days before (measurement error {fmt(error)}°)"
                )
                out.append(
                    Hit(
                        "rom_loss",
                        f"{knee}_{measure}",
                        d,
                        "warning",
                        f"{measure}_{'loss' if sign > 0 else 'gain'}",
                        note,
                        sign * (bm - cm),
                    )
                )
    return out
