"""KOOS-JR and KOOS scoring: pure functions, no database.

Answers are item scores 0–4 as the instruments define them (0 = no problems, 4 = extreme
problems); an app that shows the questions maps each answer option to its score (for KOOS S4
and S5, "Always" able to straighten/bend fully is 0).

KOOS-JR (Lyman et al. 2016): all seven items are required; their raw sum 0–28 is converted to
an interval score 0–100 (100 = no knee problems) through `KOOS_JR_INTERVAL_SCORES`, the table
published with the instrument:

    Lyman S, Lee YY, Franklin PD, Li W, Cross MB, Padgett DE. Validation of the KOOS, JR: A
    Short-form Knee Arthroplasty Outcomes Survey. Clin Orthop Relat Res 2016;474(6):1461-71;
    Hospital for Special Surgery, "KOOS, JR. Scoring instructions" (raw summed score to
    interval score conversion chart).

More than one table circulates under the KOOS-JR name and was deliberately NOT used: the
KOOS-PS (physical function short form) conversion table, which belongs to another instrument,
and a malformed table found in a FHIR sample questionnaire. The values below are the HSS
chart's, to three decimals, and are tested row by row (tests/questionnaires/test_scoring.py).

KOOS (KOOS User's Guide / "KOOS scoring 2012", koos.nu): five subscales, each
100 − mean(answered item scores) × 25, so 100 = no problems. A subscale is valid only when at
least half of its items are answered; otherwise it is None and `subscale_items` says how many
were answered and how many were needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil

ITEM_MIN, ITEM_MAX = 0, 4

KOOS_JR_ITEMS = (
    "stiffness",  # morning stiffness
    "pain_twisting",  # twisting/pivoting on the knee
    "pain_straightening",  # straightening the knee fully
    "pain_stairs",  # going up or down stairs
    "pain_standing",  # standing upright
    "difficulty_rising",  # rising from sitting
    "difficulty_bending",  # bending to the floor / picking up an object
)

# Raw summed score (index 0–28) -> KOOS-JR interval score; HSS conversion chart (see above).
KOOS_JR_INTERVAL_SCORES: tuple[float, ...] = (
    100.000,  # 0
    91.975,  # 1
    84.600,  # 2
    79.914,  # 3
    76.332,  # 4
    73.342,  # 5
    70.704,  # 6
    68.284,  # 7
    65.994,  # 8
    63.776,  # 9
    61.583,  # 10
    59.381,  # 11
    57.140,  # 12
    54.840,  # 13
    52.465,  # 14
    50.012,  # 15
    47.487,  # 16
    44.905,  # 17
    42.281,  # 18
    39.625,  # 19
    36.931,  # 20
    34.174,  # 21
    31.307,  # 22
    28.251,  # 23
    24.875,  # 24
    20.941,  # 25
    15.939,  # 26
    8.291,  # 27
    0.000,  # 28
)


def _ids(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


# KOOS subscale -> its item ids (KOOS User's Guide).
KOOS_SUBSCALES: dict[str, tuple[str, ...]] = {
    "symptoms": _ids("S", 7),  # S1–S5 symptoms, S6–S7 stiffness
    "pain": _ids("P", 9),
    "adl": _ids("A", 17),
    "sport_rec": _ids("SP", 5),
    "qol": _ids("Q", 4),
}
KOOS_ITEMS = frozenset(i for items in KOOS_SUBSCALES.values() for i in items)


def koos_minimum_answered(n_items: int) -> int:
    """KOOS scoring 2012: a subscale needs at least half of its items answered."""
    return ceil(n_items / 2)


class InvalidAnswers(ValueError):
    """Answers that cannot be scored; `problems` maps each offending item id to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def _is_item_score(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and ITEM_MIN <= value <= ITEM_MAX


def _check_values(
    answers: Mapping[str, int],
    known: frozenset[str] | tuple[str, ...],
    required: tuple[str, ...] = (),
) -> None:
    problems: dict[str, str] = {}
    for item, value in answers.items():
        if item not in known:
            problems[item] = "unknown item id"
        elif not _is_item_score(value):
            problems[item] = "must be an integer 0–4"
    problems.update({i: "required" for i in required if i not in answers})
    if problems:
        raise InvalidAnswers(problems)


@dataclass(frozen=True)
class KoosJrScore:
    raw: int
    score: float


def score_koos_jr(answers: Mapping[str, int]) -> KoosJrScore:
    _check_values(answers, KOOS_JR_ITEMS, required=KOOS_JR_ITEMS)
    raw = sum(answers[i] for i in KOOS_JR_ITEMS)
    return KoosJrScore(raw=raw, score=KOOS_JR_INTERVAL_SCORES[raw])


@dataclass(frozen=True)
class SubscaleItems:
    answered: int
    total: int
    minimum: int


@dataclass(frozen=True)
class KoosScore:
    subscales: dict[str, float | None]
    items: dict[str, SubscaleItems]


# Single-item instruments (SPEC v2): instrument -> (item id, lowest, highest answer).
# PGIC, patient global impression of change, on the 7-point transition scale of the Clinical
# Global Impressions improvement item (Guy W. ECDEU Assessment Manual for Psychopharmacology,
# 1976): 1 very much improved, 2 much improved, 3 minimally improved, 4 no change,
# 5 minimally worse, 6 much worse, 7 very much worse. PASS, patient acceptable symptom state
# (Tubach F et al. Ann Rheum Dis 2005;64(1):34-37): "is your current state acceptable?",
# 1 = yes, 0 = no.
SINGLE_ITEM: dict[str, tuple[str, int, int]] = {
    "pgic": ("change", 1, 7),
    "pass": ("acceptable", 0, 1),
}


def score_single_item(instrument: str, answers: Mapping[str, int]) -> int:
    """The answer of a single-item instrument, which is its score."""
    item, low, high = SINGLE_ITEM[instrument]
    problems = {i: "unknown item id" for i in answers if i != item}
    value = answers.get(item)
    if value is None:
        problems[item] = "required"
    elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems[item] = f"must be an integer {low}–{high}"
    if problems:
        raise InvalidAnswers(problems)
    return int(value)  # type: ignore[arg-type]


def score_koos(answers: Mapping[str, int]) -> KoosScore:
    _check_values(answers, KOOS_ITEMS)
    subscales: dict[str, float | None] = {}
    items: dict[str, SubscaleItems] = {}
    for name, ids in KOOS_SUBSCALES.items():
        values = [answers[i] for i in ids if i in answers]
        minimum = koos_minimum_answered(len(ids))
        items[name] = SubscaleItems(answered=len(values), total=len(ids), minimum=minimum)
        subscales[name] = 100 - (sum(values) / len(values)) * 25 if len(values) >= minimum else None
    return KoosScore(subscales=subscales, items=items)
