"""The incremental refresh's arithmetic, without a database and over many more cases than the
HTTP property test: after any sequence of changes on random dates (entries written or
deleted, sessions added or removed, days passing), recomputing only the region of each change
from the data a refresh loads (from `CONTEXT_DAYS` before it) gives the same episodes and
statuses as recomputing the whole record."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from app.trends import adherence as adh
from app.trends.episodes import Region, detect, recompute, region
from app.trends.plan_rules import plan_baseline
from app.trends.rules import CONTEXT_DAYS, Day, Record, SessionDay
from app.trends.state import NUMBERS_DAYS

DAY = dt.timedelta(days=1)
START = dt.date(2026, 1, 1)
FAR = dt.date(1900, 1, 1)


def random_day(rng: random.Random, d: dt.date, calm: int, noise: float = 0.1) -> Day:
    """A diary day: quiet mostly (so that a change often meets no episode near it), with
    rises, swelling, warmth, giving way, ROM and falls now and then."""

    def maybe(value, p=0.3):
        return None if rng.random() < p else value

    def rare(value, usual):
        return value if rng.random() < noise else usual

    return Day(
        day=d,
        pain=maybe(float(min(10, max(0, calm + rare(rng.choice([1, 2, 3, 5]), 0)))), 0.1),
        left_swelling=maybe(rare(rng.choice([1, 2, 3]), 0)),
        right_swelling=maybe(rare(rng.choice([1, 2]), 0)),
        left_warmth=maybe(rare(True, False)),
        left_giving_way=maybe(rare(True, False)),
        left_flexion=maybe(rng.choice([100, 110, 120]), 0.8),
        left_rom_method="goniometer",
        right_extension=maybe(rng.choice([0, 5, 15]), 0.85),
        right_rom_method="inclinometer",
        morning_stiffness_minutes=maybe(rare(45, 10), 0.5),
        flare=rng.random() < 0.03,
        falls=int(rng.random() < 0.02),
    )


def random_session(rng: random.Random, d: dt.date, noise: float = 0.1) -> SessionDay:
    def rare(value, usual):
        return value if rng.random() < noise else usual

    return SessionDay(
        day=d,
        activity=rng.choice(["backward_walking", "cycling"]),
        falls=rare(int(rng.random() < 0.3), 0),
        near_falls=rare(1, 0),
        setting=rare(rng.choice([None, "outdoor"]), "indoor"),
        supervised=rare(rng.choice([None, False]), True),
        pain_before=rng.choice([None, 2, 4]),
        pain_after=rare(7, rng.choice([None, 3])),
    )


class World:
    """A patient's whole record, and the record as a refresh from `since` loads it."""

    def __init__(self, rng: random.Random, span: int) -> None:
        self.rng = rng
        self.today = START + span * DAY
        self.calm = rng.randrange(0, 7)
        self.noise = rng.choice([0.0, 0.02, 0.1, 0.3])
        self.days = {START + i * DAY: random_day(rng, START + i * DAY, self.calm, self.noise)
                     for i in range(span + 1) if rng.random() < 0.8}
        self.sessions = [random_session(rng, START + rng.randrange(span + 1) * DAY, self.noise)
                         for _ in range(rng.randrange(0, span // 6 + 1))]
        self.plans = [adh.PlanInfo(k, rng.choice(["backward_walking", "cycling"]), 15, 2,
                                   START + rng.randrange(-20, span) * DAY, None)
                      for k in range(rng.randrange(0, 3))]
        self.qualifying = {p.id: {START + rng.randrange(span + 1) * DAY: 1
                                  for _ in range(rng.randrange(0, span // 2 + 1))}
                           for p in self.plans}
        self.last: dt.date | None = None
        self.joined = START + rng.randrange(-30, span) * DAY if rng.random() < 0.5 else None

    def record(self, since: dt.date = FAR) -> Record:
        days = sorted((d for d in self.days.values() if since <= d.day <= self.today),
                      key=lambda x: x.day)
        earlier = [d for d in self.days if d < since]
        pain = {d: x.pain for d, x in self.days.items() if x.pain is not None}
        return Record(
            today=self.today,
            days=days,
            sessions=sorted((s for s in self.sessions if since <= s.day <= self.today),
                            key=lambda s: s.day),
            plans=self.plans,
            weeks={p.id: adh.weekly_adherence(p, self.qualifying[p.id], self.today)
                   for p in self.plans},
            joined=self.joined,
            last_entry_before=max(earlier) if earlier else None,
            baselines={p.id: plan_baseline(pain, p) for p in self.plans},
        )

    def change(self) -> dt.date:
        """Change the record somewhere; the first date the change touches."""
        rng, span = self.rng, (self.today - START).days
        d = START + rng.randrange(span + 1) * DAY
        kind = rng.choice(["entry", "spike", "spike", "delete", "session", "unsession", "tick"])
        if kind == "spike":  # 2 above the usual: an episode if a neighbour is too
            if self.last is not None and rng.random() < 0.7:  # often beside the last change
                d = min(self.today, self.last + rng.choice([-1, 1, 2]) * DAY)
            self.days[d] = Day(day=d, pain=float(self.calm + 2))
        elif kind == "entry":
            self.days[d] = random_day(rng, d, self.calm + rng.choice([0, 2, 3]), self.noise)
        elif kind == "delete":
            self.days.pop(d, None)
        elif kind == "session":
            self.sessions.append(random_session(rng, d, self.noise))
        elif kind == "unsession" and self.sessions:
            d = self.sessions.pop(rng.randrange(len(self.sessions))).day
        elif kind == "tick":
            d, self.today = self.today, self.today + rng.randrange(1, 4) * DAY
        self.last = d
        return d


def refresh(world: World, stored, from_date: dt.date):
    """What `app.trends.state.refresh` does, on the data it would load."""
    area = region(stored, from_date, world.today)
    since = min(area.start, world.today - NUMBERS_DAYS * DAY) - CONTEXT_DAYS * DAY
    return recompute(area, detect(world.record(since), area.start), world.today)


def view(episodes):
    return sorted((e.content(), e.status) for e in episodes)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), span=st.integers(20, 160), changes=st.integers(1, 6))
def test_refreshing_each_change_equals_recomputing_everything(seed, span, changes):
    world = World(random.Random(seed), span)
    stored = refresh(world, [], FAR)
    assert view(stored) == view(recompute(Region(FAR, [], []), detect(world.record(), FAR),
                                          world.today))
    for _ in range(changes):
        stored = [replace(e) for e in refresh(world, stored, world.change())]
    whole = recompute(Region(FAR, [], []), detect(world.record(), FAR), world.today)
    assert view(stored) == view(whole)
