"""The metrics a trend can be asked for: where each comes from, its unit, which direction is
better and which threshold decides an important change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.clinical import threshold
from app.trends.analysis import Direction

Metric = Literal[
    "pain",
    "stiffness",
    "swelling",
    "morning_stiffness",
    "flexion",
    "extension",
    "exercise_minutes",
    "exercise_sessions",
    "koos_jr",
]
# The diary metrics, whose response to exercise can be asked (exercise itself and the KOOS-JR
# are not daily symptoms).
SymptomMetric = Literal[
    "pain", "stiffness", "swelling", "morning_stiffness", "flexion", "extension"
]
KneeChoice = Literal["left", "right", "worse"]
Source = Literal["knee", "entry", "exercise", "questionnaire"]
ROM_METHOD_DEFAULT = "self_estimate"


@dataclass(frozen=True)
class MetricSpec:
    name: Metric
    source: Source
    unit: str
    direction: Direction
    mcid_key: str | None = None
    mdc_key: str | None = None

    @property
    def per_knee(self) -> bool:
        return self.source == "knee"

    @property
    def is_rom(self) -> bool:
        return self.name in ("flexion", "extension")

    @property
    def worse_is_higher(self) -> bool:
        """For knee = worse: the higher of the two knees' values, except flexion (lower)."""
        return self.name != "flexion"


LOWER: Direction = "lower_is_better"
HIGHER: Direction = "higher_is_better"
METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in [
        MetricSpec("pain", "knee", "NRS 0-10", LOWER, "pain_mcid", "pain_mdc"),
        MetricSpec("stiffness", "knee", "NRS 0-10", LOWER, "stiffness_mcid"),
        MetricSpec("swelling", "knee", "grade 0-3", LOWER, "swelling_mcid"),
        MetricSpec("morning_stiffness", "entry", "minutes", LOWER, "morning_stiffness_mcid"),
        MetricSpec("flexion", "knee", "degrees", HIGHER),
        MetricSpec("extension", "knee", "degrees", LOWER),
        MetricSpec("exercise_minutes", "exercise", "minutes per day", HIGHER),
        MetricSpec("exercise_sessions", "exercise", "sessions per day", HIGHER),
        MetricSpec(
            "koos_jr", "questionnaire", "KOOS-JR interval score 0-100", HIGHER, "koos_jr_mcid"
        ),
    ]
}
KNEE_METRICS = tuple(m for m in METRICS.values() if m.per_knee)
SYMPTOM_METRICS = tuple(m for m in METRICS.values() if m.source in ("knee", "entry"))


def rom_error(methods: Iterable[str | None]) -> float | None:
    """The measurement error of the ROM methods used: the largest among them (a change must
    exceed the least precise method's error); a value without a method counts as a self
    estimate. None when no ROM value was given."""
    errors = [threshold(f"rom_error_{m or ROM_METHOD_DEFAULT}") for m in set(methods)]
    return max(errors) if errors else None


@dataclass(frozen=True)
class Thresholds:
    mcid: float | None
    mdc: float | None

    @property
    def decisive(self) -> float | None:
        """A change must reach the MCID and, where known, the measurement error."""
        known = [t for t in (self.mcid, self.mdc) if t is not None]
        return max(known) if known else None


def thresholds_for(spec: MetricSpec, rom_methods: Iterable[str | None] = ()) -> Thresholds:
    if spec.is_rom:
        return Thresholds(mcid=rom_error(rom_methods), mdc=None)
    return Thresholds(
        mcid=threshold(spec.mcid_key) if spec.mcid_key else None,
        mdc=threshold(spec.mdc_key) if spec.mdc_key else None,
    )
