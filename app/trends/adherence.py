"""Adherence to an exercise plan: the weeks that are scored, sessions that qualify, and the
share of prescribed sessions done (pure, database-free)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.trends.analysis import DAY, bucket_start


@dataclass(frozen=True)
class PlanInfo:
    id: object
    activity: str
    minutes_per_session: int
    sessions_per_week: int
    start_date: dt.date
    end_date: dt.date | None


@dataclass(frozen=True)
class WeekAdherence:
    week_start: dt.date
    sessions: int
    prescribed: int
    adherence: float


def _first_scored_week(plan: PlanInfo) -> dt.date:
    first = bucket_start(plan.start_date, "week")
    return first + 7 * DAY if first < plan.start_date else first


def _last_scored_day(plan: PlanInfo, today: dt.date) -> dt.date:
    return min(plan.end_date or today, today - DAY)


def scored_weeks(plan: PlanInfo, today: dt.date, since: dt.date | None = None) -> list[dt.date]:
    """Mondays of the ISO weeks that lie wholly within the plan's dates and have ended by
    `today` (a partial first or last week and the week in progress are not scored); only
    those from `since` on, when given."""
    monday = _first_scored_week(plan)
    if since is not None and monday < since:
        monday += -(-(since - monday).days // 7) * 7 * DAY  # the first one on or after `since`
    last_day = _last_scored_day(plan, today)
    out = []
    while monday + 6 * DAY <= last_day:
        out.append(monday)
        monday += 7 * DAY
    return out


def count_scored_weeks(plan: PlanInfo, today: dt.date) -> int:
    """len(scored_weeks(plan, today)), without listing them."""
    return max(0, ((_last_scored_day(plan, today) - _first_scored_week(plan)).days - 6) // 7 + 1)


def weekly_adherence(
    plan: PlanInfo,
    qualifying: Mapping[dt.date, int],
    today: dt.date,
    since: dt.date | None = None,
) -> list[WeekAdherence]:
    """Per scored ISO week (from `since`, when the sessions were counted only from then):
    sessions of the plan's activity lasting ≥ 80 % of the prescribed minutes (counted in SQL
    into `qualifying`, per local date) ÷ prescribed, capped at 1."""
    out = []
    per_week = plan.sessions_per_week
    for monday in scored_weeks(plan, today, since):
        n = sum(qualifying.get(monday + i * DAY, 0) for i in range(7)) if qualifying else 0
        out.append(WeekAdherence(monday, n, per_week, min(1.0, n / per_week)))
    return out


def combined_adherence(
    weeks_by_plan: Sequence[Sequence[WeekAdherence]], last_weeks: int = 4
) -> float | None:
    """Adherence over the last `last_weeks` scored ISO weeks across every plan: capped
    sessions ÷ prescribed sessions, summed over plans and weeks."""
    mondays = sorted({w.week_start for ws in weeks_by_plan for w in ws})[-last_weeks:]
    if not mondays:
        return None
    done = prescribed = 0.0
    for ws in weeks_by_plan:
        for w in ws:
            if w.week_start in mondays:
                done += min(w.sessions, w.prescribed)
                prescribed += w.prescribed
    return done / prescribed if prescribed else None
