"""The flag rules judged as of each day rather than on events: `not_improving` and
`escalation_review` (a plan done well without improvement, SPEC v2 §5), and `disengaged`.
They hit on every day their condition holds, so an episode runs from the first such day to
the last."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import replace

from app.clinical import threshold
from app.trends.adherence import PlanInfo, WeekAdherence
from app.trends.analysis import DAY
from app.trends.rules import Hit, Record, fmt

ESCALATION_TEXT = (
    "persistent moderate pain after 3 months of adherent exercise: review the plan (local "
    "pathways include injection, genicular artery embolisation or surgical referral)"
)


def plan_baseline(pain: dict[dt.date, float], plan: PlanInfo) -> float | None:
    """Mean pain in the 7 days before the plan's start, else in its first 7 days (SPEC §4
    `plan` basis); None with fewer than 3 values."""
    series = _Pain(pain)
    n, m = series.mean(plan.start_date - 7 * DAY, plan.start_date - DAY)
    if n < 3:
        n, m = series.mean(plan.start_date, plan.start_date + 6 * DAY)
    return m if n >= 3 else None


class _Pain:
    """Daily pain with prefix sums: the mean of any 7 days in constant time."""

    def __init__(self, pain: dict[dt.date, float]) -> None:
        self.dates = sorted(pain)
        self.sums = [0.0]
        for d in self.dates:
            self.sums.append(self.sums[-1] + pain[d])

    def mean(self, lo: dt.date, hi: dt.date) -> tuple[int, float | None]:
        i, j = bisect_left(self.dates, lo), bisect_right(self.dates, hi)
        return j - i, ((self.sums[j] - self.sums[i]) / (j - i) if j > i else None)


class _Weeks:
    """One plan's scored weeks with prefix sums: `combined_adherence` over the last k weeks
    of the first n in constant time."""

    def __init__(self, weeks: Sequence[WeekAdherence]) -> None:
        self.ends = [w.week_start + 6 * DAY for w in weeks]
        self.done, self.due = [0], [0]
        for w in weeks:
            self.done.append(self.done[-1] + min(w.sessions, w.prescribed))
            self.due.append(self.due[-1] + w.prescribed)

    def adherence(self, n: int, last: int) -> float | None:
        lo = max(0, n - last)
        due = self.due[n] - self.due[lo]
        return (self.done[n] - self.done[lo]) / due if due else None


def plan_hits(r: Record) -> list[Hit]:
    """On each day with pain: for a plan running ≥ 6 (`escalation_review`: ≥ 12) scored weeks
    at ≥ 80 % adherence over them, the 7-day pain mean ≥ 4 and above the acceptable state,
    and not improved by the §4 rule since the plan's baseline."""
    pain = {x.day: x.pain for x in r.days if x.pain is not None}
    series = _Pain(pain)
    limits = _Limits()
    out: list[Hit] = []
    for plan in r.plans:
        base = r.baselines[plan.id] if plan.id in r.baselines else plan_baseline(pain, plan)
        weeks = _Weeks(r.weeks.get(plan.id, []))
        if base is None or not weeks.ends:
            continue
        for d in series.dates:
            if d < plan.start_date or (plan.end_date and d > plan.end_date):
                continue
            # The scored weeks as of day d: those that ended before it.
            done = bisect_right(weeks.ends, min(plan.end_date or d, d - DAY))
            hit = _judge(plan, (weeks, done), base, series.mean(d - 6 * DAY, d), limits)
            if hit is not None:
                out.append(replace(hit, day=d))
    return out


class _Limits:
    """The plan rules' parameters, read once per patient."""

    def __init__(self) -> None:
        self.weeks = int(threshold("flag_not_improving_weeks"))
        self.escalation_weeks = int(threshold("flag_escalation_weeks"))
        self.pain = threshold("flag_not_improving_pain")
        self.acceptable = threshold("pain_pass")
        self.adherence = threshold("flag_not_improving_adherence")
        self.mcid, self.mdc = threshold("pain_mcid"), threshold("pain_mdc")
        self.percent = threshold("pain_mcid_percent") / 100

    def improved(self, base: float, cur: float) -> bool:
        """The §4 rule for pain: better by the MCID or by 30 % of the baseline, and beyond the
        measurement error."""
        drop = base - cur
        important = drop >= self.mcid - 1e-12 or (base > 0 and drop >= self.percent * base - 1e-12)
        return important and drop > self.mdc - 1e-12


def _judge(
    plan: PlanInfo,
    scored: tuple[_Weeks, int],
    base: float,
    current: tuple[int, float | None],
    limits: _Limits,
) -> Hit | None:
    """The plan rules on one day: `scored` = the plan's weeks and how many had ended."""
    (weeks, done), (n, cur) = scored, current
    if done < limits.weeks or n < 3 or cur is None:
        return None
    if cur < limits.pain - 1e-12 or cur <= limits.acceptable or limits.improved(base, cur):
        return None
    escalate = done >= limits.escalation_weeks
    adherence = weeks.adherence(done, limits.escalation_weeks if escalate else limits.weeks)
    if adherence is None or adherence < limits.adherence - 1e-12:
        return None
    note = (
        f"{done} weeks of {plan.activity.replace('_', ' ')} at "
        f"{round(100 * adherence)} % adherence; pain {fmt(base)} before the plan, "
        f"{fmt(cur)} over the last 7 days"
    )
    if escalate:
        return Hit("escalation_review", "", plan.start_date, "warning", "no_improvement", note, cur)
    return Hit("not_improving", "", plan.start_date, "info", "no_improvement", note, cur)


def disengaged(r: Record) -> list[Hit]:
    """Every day with no diary entry in the 7 days up to it, once the patient has an entry
    before or joined a care team 7 days before."""
    gap = int(threshold("flag_disengaged_days"))
    entries = [x.day for x in r.days]
    known = [r.today, *entries[:1]]
    known += [d for d in (r.last_entry_before, r.joined) if d is not None]
    start = min(known)
    out: list[Hit] = []
    last = r.last_entry_before
    i = 0
    d = start
    while d <= r.today:
        while i < len(entries) and entries[i] <= d:
            last = entries[i]
            i += 1
        since = last if last is not None else r.joined
        if since is not None and (d - since).days >= gap:
            criterion = "no_entry" if last is not None else "never_logged"
            out.append(Hit("disengaged", "", d, "info", criterion, str(since)))
        d += DAY
    return out
