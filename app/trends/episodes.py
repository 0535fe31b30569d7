"""Flag episodes (SPEC v2 §5): the hits of every rule grouped per rule and knee into
episodes, each with its criteria, a reason that describes the data, and a status; and how a
recomputed set of episodes takes over the ids and reviews of the stored ones it overlaps.
Pure: `app.trends.state` loads and stores."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby

from app.clinical import threshold
from app.trends import plan_rules, rules
from app.trends.analysis import DAY
from app.trends.rules import SEVERITY_ORDER, Hit, Record, Severity, fmt


@dataclass(frozen=True)
class RuleInfo:
    gap_days: int  # hits this many days apart or fewer are one episode
    span: bool = False  # judged as of each day: `dates` are the first and last only
    hold_days: int | None = None  # condition holds this long after the last hit (None: look-back)


RULES: dict[str, RuleInfo] = {
    "pain_episode": RuleInfo(2),
    "swelling_rise": RuleInfo(2),
    "hot_swollen_joint": RuleInfo(2),
    "fall": RuleInfo(1),
    "near_falls": RuleInfo(14),
    "giving_way": RuleInfo(7),
    "unsupervised_early": RuleInfo(14),
    "exercise_pain": RuleInfo(7),
    "prolonged_morning_stiffness": RuleInfo(7),
    "rom_loss": RuleInfo(14),
    "not_improving": RuleInfo(7, span=True, hold_days=7),
    "escalation_review": RuleInfo(7, span=True, hold_days=7),
    "disengaged": RuleInfo(1, span=True, hold_days=0),
}
MAX_GAP_DAYS = max(r.gap_days for r in RULES.values())
RULE_FUNCTIONS: list[Callable[[Record], list[Hit]]] = [
    rules.pain_episode,
    rules.swelling,
    rules.falls,
    rules.giving_way,
    rules.unsupervised_early,
    rules.exercise_pain,
    rules.morning_stiffness,
    rules.rom_loss,
    plan_rules.plan_hits,
    plan_rules.disengaged,
]


@dataclass
class Episode:
    rule: str
    key: str
    severity: Severity
    first_date: dt.date
    last_date: dt.date
    dates: list[dt.date]
    criteria: list[str]
    reason: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    status: str = "open"
    reviewed_by: uuid.UUID | None = None
    reviewed_at: dt.datetime | None = None
    review_note: str | None = None
    reviewed_through: dt.date | None = None

    def content(self) -> tuple[object, ...]:
        """What the data decide of it: everything but its id and review."""
        return (
            self.rule,
            self.key,
            self.severity,
            self.first_date,
            self.last_date,
            tuple(self.dates),
            tuple(self.criteria),
            self.reason,
        )


def detect(record: Record, start: dt.date) -> list[Episode]:
    """The episodes made of the hits from `start` on (the record must hold the data from
    `rules.CONTEXT_DAYS` before it)."""
    hits = [h for f in RULE_FUNCTIONS for h in f(record) if h.day >= start]
    hits.sort(key=lambda h: (h.rule, h.key, h.day))
    out: list[Episode] = []
    for (rule, key), group in groupby(hits, key=lambda h: (h.rule, h.key)):
        gap = RULES[rule].gap_days
        run: list[Hit] = []
        for h in group:
            if run and (h.day - run[-1].day).days > gap:
                out.append(_episode(rule, key, run))
                run = []
            run.append(h)
        out.append(_episode(rule, key, run))
    return out


def _episode(rule: str, key: str, hits: list[Hit]) -> Episode:
    days = sorted({h.day for h in hits})
    severity = min((h.severity for h in hits), key=SEVERITY_ORDER.__getitem__)
    return Episode(
        rule=rule,
        key=key,
        severity=severity,
        first_date=days[0],
        last_date=days[-1],
        dates=[days[0], days[-1]] if RULES[rule].span else days,
        criteria=sorted({h.criterion for h in hits}),
        reason=reason(rule, key, hits),
    )


def _span(hits: Sequence[Hit]) -> str:
    a, b = hits[0].day, hits[-1].day
    return f"on {a}" if a == b else f"from {a} to {b}"


def _max(hits: Sequence[Hit]) -> str:
    return fmt(max(h.value for h in hits if h.value is not None))


def _pain_reason(hits: Sequence[Hit]) -> str:
    parts = []
    by = {c: [h for h in hits if h.criterion == c] for c in {h.criterion for h in hits}}
    if "above_usual" in by:
        parts.append(
            f"{fmt(threshold('flag_flare_rise'))} or more above the {by['above_usual'][0].note}"
        )
    if "severe" in by:
        parts.append(
            f"{fmt(threshold('flag_severe_pain'))} or more on {len(by['severe'])} consecutive days"
        )
    for h in by.get("sudden_rise", []):
        parts.append(f"a rise {h.note} to {_max([h])} on {h.day}")
    if "patient_flare" in by:
        parts.append(
            "the patient reported a flare on " + ", ".join(str(h.day) for h in by["patient_flare"])
        )
    valued = [h for h in hits if h.value is not None]
    top = f"Pain up to {_max(valued)} " if valued else "Pain "
    return top + _span(hits) + ": " + "; ".join(parts)


def reason(rule: str, key: str, hits: Sequence[Hit]) -> str:
    """One line that describes the data (values, dates, activity, setting, supervision)."""
    knee = f"{key.split('_')[0].capitalize()} knee" if key else ""
    last = hits[-1]
    if rule == "pain_episode":
        return _pain_reason(hits)
    if rule == "swelling_rise":
        rise = next((h.note for h in hits if h.criterion == "rise"), "")
        return f"{knee} swelling up to grade {_max(hits)} {_span(hits)}" + (
            f", up {rise}" if rise else ""
        )
    if rule == "hot_swollen_joint":
        return f"{knee} warm and swollen (grade up to {_max(hits)}) {_span(hits)}"
    if rule in ("fall", "near_falls"):
        what = "fall(s)" if rule == "fall" else "near fall(s)"
        text = "; ".join(f"{fmt(h.value or 0)} {what} on {h.day} ({h.note})" for h in hits)
        return text + (
            "; the knee gave way the same week"
            if any(h.criterion == "with_giving_way" for h in hits)
            else ""
        )
    if rule == "giving_way":
        return f"The knee gave way on {len(hits)} days {_span(hits)}"
    if rule == "unsupervised_early":
        return "Backward walking early in its plan: " + "; ".join(
            f"{h.note} on {h.day}" for h in hits
        )
    if rule == "exercise_pain":
        limit = fmt(threshold("session_pain_limit"))
        return (
            f"Sessions over the pain-monitoring limits (pain after above {limit}/10, or "
            f"next-day pain above the level before): {last.note} on {last.day}, "
            f"{len(hits)} such day(s) {_span(hits)}"
        )
    if rule == "prolonged_morning_stiffness":
        minutes = fmt(threshold("flag_morning_stiffness_minutes"))
        return (
            f"Morning stiffness over {minutes} min on {last.note}, up to {_max(hits)} min, "
            f"{_span(hits)}"
        )
    if rule == "rom_loss":
        return f"{knee} {key.split('_')[1]} {last.note}, {_span(hits)}"
    if rule == "not_improving":
        return (
            f"{last.note} (improvement needs {fmt(threshold('pain_mcid'))} points or "
            f"{fmt(threshold('pain_mcid_percent'))} %), {_span(hits)}"
        )
    if rule == "escalation_review":
        return f"{last.note}, {_span(hits)}: {plan_rules.ESCALATION_TEXT}"
    days = (last.day - dt.date.fromisoformat(last.note)).days
    if last.criterion == "never_logged":
        return f"No diary entry in the {days} days since joining the care team on {last.note}"
    return f"No diary entry for {days} days (last on {last.note})"


def status_of(ep: Episode, today: dt.date) -> str:
    """`reviewed` while a review covers the episode's data and its condition holds; an
    urgent episode stays `open` until reviewed; others are `resolved` once their condition no
    longer holds (no hit for the rule's hold, by default the flag look-back of 14 days)."""
    info = RULES[ep.rule]
    hold = info.hold_days if info.hold_days is not None else int(threshold("flag_active_days")) - 1
    holds = ep.last_date >= today - hold * DAY
    covered = ep.reviewed_through is not None and (info.span or ep.reviewed_through >= ep.last_date)
    if covered:
        return "reviewed" if holds else "resolved"
    if ep.severity == "urgent":
        return "open"
    return "open" if holds else "resolved"


@dataclass(frozen=True)
class Region:
    """What a refresh recomputes: the hits from `start` on, which replace the `affected`
    stored episodes; the `kept` ones end too early for any such hit to join them."""

    start: dt.date
    affected: list[Episode]
    kept: list[Episode]


def region(stored: Sequence[Episode], from_date: dt.date, today: dt.date) -> Region:
    """The region of a change on `from_date`: from `LOOKAHEAD_DAYS` before it (a hit depends
    on data up to that many days after it), moved back to the first day of every stored
    episode that a hit from there could join (within the largest gap)."""
    start = min(from_date, today) - rules.LOOKAHEAD_DAYS * DAY
    while True:
        reach = [e.first_date for e in stored if e.last_date >= start - MAX_GAP_DAYS * DAY]
        if not reach or min(reach) >= start:
            break
        start = min(reach)
    edge = start - MAX_GAP_DAYS * DAY
    return Region(
        start,
        affected=[e for e in stored if e.last_date >= edge],
        kept=[e for e in stored if e.last_date < edge],
    )


def recompute(area: Region, fresh: Sequence[Episode], today: dt.date) -> list[Episode]:
    """The kept episodes and the fresh ones (with the ids and reviews of the affected ones
    they overlap), each with its status as of `today`."""
    episodes = area.kept + take_over(area.affected, fresh)
    for e in episodes:
        e.status = status_of(e, today)
    return episodes


def take_over(stored: Sequence[Episode], fresh: Sequence[Episode]) -> list[Episode]:
    """The fresh episodes, each with the id and review of the first stored episode of the
    same rule and key whose dates overlap it (a stored one is taken over once)."""
    used: set[uuid.UUID] = set()
    out = []
    for ep in sorted(fresh, key=lambda e: (e.first_date, e.rule, e.key)):
        old = next(
            (
                o
                for o in sorted(stored, key=lambda e: (e.first_date, str(e.id)))
                if o.id not in used
                and (o.rule, o.key) == (ep.rule, ep.key)
                and o.first_date <= ep.last_date
                and ep.first_date <= o.last_date
            ),
            None,
        )
        if old is not None:
            used.add(old.id)
            ep = replace(
                ep,
                id=old.id,
                reviewed_by=old.reviewed_by,
                reviewed_at=old.reviewed_at,
                review_note=old.review_note,
                reviewed_through=old.reviewed_through,
            )
        out.append(ep)
    return out
