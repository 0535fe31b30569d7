"""The flag rules judged as of each day rather than on events: `not_improving` and
`escalation_review` (a plan done well without improvement, SPEC v2 §5), and `disengaged`.
They hit on every day their condition holds, so an episode runs from the first such day to
the last."""

from __future__ import annotations

import datetime as dt

from app.clinical import threshold
from app.trends.adherence import PlanInfo, combined_adherence
from app.trends.analysis import DAY, mean
from app.trends.rules import Hit, Record, fmt

ESCALATION_TEXT = (
    "persistent moderate pain after 3 months of adherent exercise: review the plan (local "
    "pathways include injection, genicular artery embolisation or surgical referral)"
)


def _pain_mean(pain: dict[dt.date, float], lo: dt.date, hi: dt.date) -> tuple[int, float | None]:
    vals = [pain[d] for d in sorted(pain) if lo <= d <= hi]
    return len(vals), mean(vals)


def plan_baseline(pain: dict[dt.date, float], plan: PlanInfo) -> float | None:
    """Mean pain in the 7 days before the plan's start, else in its first 7 days (SPEC §4
    `plan` basis); None with fewer than 3 values."""
    n, m = _pain_mean(pain, plan.start_date - 7 * DAY, plan.start_date - DAY)
    if n < 3:
        n, m = _pain_mean(pain, plan.start_date, plan.start_date + 6 * DAY)
    return m if n >= 3 else None


def improved(base: float, cur: float) -> bool:
    """The §4 rule for pain: better by the MCID or by 30 % of the baseline, and beyond the
    measurement error."""
    drop = base - cur
    important = drop >= threshold("pain_mcid") - 1e-12 or (
        base > 0 and drop >= threshold("pain_mcid_percent") / 100 * base - 1e-12
    )
    return important and drop > threshold("pain_mdc") - 1e-12


def _weeks_as_of(r: Record, plan: PlanInfo, d: dt.date) -> list[object]:
    """The plan's scored weeks as of day `d`: those that ended before it."""
    last = min(plan.end_date or d, d - DAY)
    return [w for w in r.weeks.get(plan.id, []) if w.week_start + 6 * DAY <= last]


def plan_hits(r: Record) -> list[Hit]:
    """On each day with pain: for a plan running ≥ 6 (`escalation_review`: ≥ 12) scored weeks
    at ≥ 80 % adherence over them, the 7-day pain mean ≥ 4 and above the acceptable state,
    and not improved by the §4 rule since the plan's baseline."""
    pain = {x.day: x.pain for x in r.days if x.pain is not None}
    weeks_info, weeks_esc = (
        int(threshold("flag_not_improving_weeks")),
        int(threshold("flag_escalation_weeks")),
    )
    min_adh, floor = threshold("flag_not_improving_adherence"), threshold("flag_not_improving_pain")
    accept = threshold("pain_pass")
    out: list[Hit] = []
    for plan in r.plans:
        base = r.baselines[plan.id] if plan.id in r.baselines else plan_baseline(pain, plan)
        if base is None:
            continue
        for d in sorted(pain):
            if d < plan.start_date or (plan.end_date and d > plan.end_date):
                continue
            weeks = _weeks_as_of(r, plan, d)
            if len(weeks) < weeks_info:
                continue
            n, cur = _pain_mean(pain, d - 6 * DAY, d)
            if n < 3 or cur is None or cur < floor - 1e-12 or cur <= accept or improved(base, cur):
                continue
            rule, need = (
                ("escalation_review", weeks_esc)
                if len(weeks) >= weeks_esc
                else ("not_improving", weeks_info)
            )
            adherence = combined_adherence([weeks], last_weeks=need)  # type: ignore[list-item]
            if adherence is None or adherence < min_adh - 1e-12:
                continue
            note = (
                f"{len(weeks)} weeks of {plan.activity.replace('_', ' ')} at "
                f"{round(100 * adherence)} % adherence; pain {fmt(base)} before the plan, "
                f"{fmt(cur)} over the last 7 days"
            )
            severity = "warning" if rule == "escalation_review" else "info"
            out.append(Hit(rule, "", d, severity, "no_improvement", note, cur))  # type: ignore[arg-type]
    return out


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
