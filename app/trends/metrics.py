"""The metrics a trend can be asked for: where each comes from, its unit, which direction is
better and which threshold decides an important change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.clinical import THRESHOLDS, threshold
from app.trends.analysis import Direction, Limits, ThresholdKind

Metric = Literal[
    "pain",
    "night_pain",
    "stiffness",
    "swelling",
    "morning_stiffness",
    "flexion",
    "extension",
    "exercise_minutes",
    "exercise_sessions",
    "analgesic_doses",
    "koos_jr",
    "pgic",
    "pass",
    "chair_stand_30s",
    "tug",
    "fast_walk_40m",
    "stair_climb",
]
# The diary metrics, whose response to exercise can be asked (exercise itself and the KOOS-JR
# are not daily symptoms).
SymptomMetric = Literal[
    "pain", "stiffness", "swelling", "morning_stiffness", "flexion", "extension"
]
KneeChoice = Literal["left", "right", "worse", "index"]
Source = Literal["knee", "entry", "exercise", "questionnaire", "function_test"]
ROM_METHOD_DEFAULT = "self_estimate"


@dataclass(frozen=True)
class MetricSpec:
    name: Metric
    source: Source
    unit: str
    direction: Direction
    mcid_key: str | None = None
    mdc_key: str | None = None
    mcid_percent_key: str | None = None
    acceptable_key: str | None = None
    # Entry metrics: the `symptom_entries` column (default: the metric's name).
    column: str | None = None

    @property
    def per_knee(self) -> bool:
        return self.source == "knee"

    @property
    def sparse(self) -> bool:
        """Measured weekly or per visit (SPEC §4): judged on 14-day periods, 1 value each."""
        return self.is_rom or self.source in ("questionnaire", "function_test")

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
        MetricSpec(
            "pain",
            "knee",
            "NRS 0-10",
            LOWER,
            "pain_mcid",
            "pain_mdc",
            "pain_mcid_percent",
            "pain_pass",
        ),
        MetricSpec("night_pain", "knee", "NRS 0-10", LOWER),
        MetricSpec(
            "stiffness",
            "knee",
            "NRS 0-10",
            LOWER,
            "stiffness_mcid",
            mcid_percent_key="stiffness_mcid_percent",
        ),
        MetricSpec("swelling", "knee", "grade 0-3", LOWER, mdc_key="swelling_mdc"),
        MetricSpec(
            "morning_stiffness",
            "entry",
            "minutes",
            LOWER,
            mdc_key="morning_stiffness_mdc",
            column="morning_stiffness_minutes",
        ),
        MetricSpec("flexion", "knee", "degrees", HIGHER),
        MetricSpec("extension", "knee", "degrees", LOWER),
        MetricSpec("exercise_minutes", "exercise", "minutes per day", HIGHER),
        MetricSpec("exercise_sessions", "exercise", "sessions per day", HIGHER),
        # Fewer doses is better: improvement bought with more analgesia is not improvement.
        MetricSpec("analgesic_doses", "entry", "doses per day", LOWER),
        MetricSpec(
            "koos_jr", "questionnaire", "KOOS-JR interval score 0-100", HIGHER, "koos_jr_mcid"
        ),
        # PGIC 1 = very much improved … 7 = very much worse; PASS 1 = acceptable, 0 = not
        # (the mean over a period is the share of answers "acceptable").
        MetricSpec("pgic", "questionnaire", "PGIC 1-7 (1 = very much improved)", LOWER),
        MetricSpec("pass", "questionnaire", "PASS 1 = acceptable, 0 = not", HIGHER),
        # The OARSI recommended performance tests (Dobson 2013) and the TUG; MDCs where a
        # knee-OA reliability study gives one (app/clinical.py says why the others have none).
        MetricSpec(
            "chair_stand_30s",
            "function_test",
            "stands in 30 s",
            HIGHER,
            mdc_key="chair_stand_30s_mdc",
        ),
        MetricSpec("tug", "function_test", "seconds", LOWER, mdc_key="tug_mdc"),
        MetricSpec("fast_walk_40m", "function_test", "seconds", LOWER),
        MetricSpec("stair_climb", "function_test", "seconds", LOWER),
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


def rom_error_key(methods: Iterable[str | None]) -> str | None:
    """The table key of the largest measurement error among the ROM methods used."""
    keys = {f"rom_error_{m or ROM_METHOD_DEFAULT}" for m in methods}
    return max(keys, key=threshold) if keys else None


def thresholds_for(spec: MetricSpec, rom_methods: Iterable[str | None] = ()) -> Limits:
    """The thresholds that judge a change of `spec` (SPEC §4), each with its source.

    `worsening` is the MDC where one is known (a change beyond measurement error, a smaller bar
    than improvement, for safety), else the MCID. Metrics without a published MCID (ROM,
    swelling, morning stiffness) are judged by their MDC alone: `kind` "mdc"."""
    keys: dict[str, str | None] = {
        "mcid": spec.mcid_key,
        "mcid_percent": spec.mcid_percent_key,
        "mdc": rom_error_key(rom_methods) if spec.is_rom else spec.mdc_key,
        "acceptable": spec.acceptable_key,
    }
    values = {name: threshold(k) if k else None for name, k in keys.items()}
    sources = {name: THRESHOLDS[k].cited for name, k in keys.items() if k}
    mcid, mdc = values["mcid"], values["mdc"]
    kind: ThresholdKind | None = (
        "mcid" if mcid is not None else ("mdc" if mdc is not None else None)
    )
    return Limits(
        mcid=mcid,
        mcid_percent=values["mcid_percent"],
        mdc=mdc,
        worsening=mdc if mdc is not None else mcid,
        acceptable=values["acceptable"],
        kind=kind,
        sources=sources,
    )
