"""The pure scoring module, against the published KOOS-JR table (transcribed here a second time,
independently of the module) and an independent numpy computation of KOOS subscales."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from app.questionnaires.scoring import (
    KOOS_ITEMS,
    KOOS_JR_INTERVAL_SCORES,
    KOOS_JR_ITEMS,
    KOOS_SUBSCALES,
    InvalidAnswers,
    score_koos,
    score_koos_jr,
)

# HSS KOOS, JR. conversion chart (Lyman et al., Clin Orthop Relat Res 2016), raw -> interval.
HSS_CHART = {
    0: 100.000, 1: 91.975, 2: 84.600, 3: 79.914, 4: 76.332, 5: 73.342, 6: 70.704,
    7: 68.284, 8: 65.994, 9: 63.776, 10: 61.583, 11: 59.381, 12: 57.140, 13: 54.840,
    14: 52.465, 15: 50.012, 16: 47.487, 17: 44.905, 18: 42.281, 19: 39.625, 20: 36.931,
    21: 34.174, 22: 31.307, 23: 28.251, 24: 24.875, 25: 20.941, 26: 15.939, 27: 8.291,
    28: 0.000,
}


def _jr_answers(raw: int) -> dict[str, int]:
    """Seven item scores 0–4 that sum to `raw`."""
    answers, left = {}, raw
    for item in KOOS_JR_ITEMS:
        answers[item] = min(4, left)
        left -= answers[item]
    assert left == 0
    return answers


def test_koos_jr_ends_of_the_scale():
    assert score_koos_jr(dict.fromkeys(KOOS_JR_ITEMS, 0)).score == 100.0
    assert score_koos_jr(dict.fromkeys(KOOS_JR_ITEMS, 4)).score == 0.0


@pytest.mark.parametrize("raw", range(29))
def test_koos_jr_every_row_of_the_table(raw):
    result = score_koos_jr(_jr_answers(raw))
    assert result.raw == raw
    assert result.score == HSS_CHART[raw]


def test_koos_jr_table_is_complete_and_strictly_decreasing():
    assert len(KOOS_JR_INTERVAL_SCORES) == 29
    assert all(a > b for a, b in itertools.pairwise(KOOS_JR_INTERVAL_SCORES))


def test_koos_jr_depends_only_on_the_raw_sum():
    rng = random.Random(7)
    for _ in range(200):
        answers = {i: rng.randint(0, 4) for i in KOOS_JR_ITEMS}
        assert score_koos_jr(answers).score == HSS_CHART[sum(answers.values())]


def test_koos_jr_names_every_missing_item():
    answers = _jr_answers(5)
    del answers["pain_stairs"], answers["difficulty_bending"]
    with pytest.raises(InvalidAnswers) as exc:
        score_koos_jr(answers)
    assert exc.value.problems == {"pain_stairs": "required", "difficulty_bending": "required"}


@pytest.mark.parametrize(("item", "value", "problem"), [
    ("pain_walking", 2, "unknown item id"),
    ("P1", 2, "unknown item id"),
    ("stiffness", 5, "must be an integer 0–4"),
    ("stiffness", -1, "must be an integer 0–4"),
    ("stiffness", 2.0, "must be an integer 0–4"),
    ("stiffness", True, "must be an integer 0–4"),
])
def test_koos_jr_invalid_answers(item, value, problem):
    answers = {**_jr_answers(3), item: value}
    with pytest.raises(InvalidAnswers) as exc:
        score_koos_jr(answers)
    assert exc.value.problems == {item: problem}


def _numpy_subscale(values: list[int], n_items: int) -> float | None:
    if not values or len(values) * 2 < n_items:
        return None
    return float(100 - np.mean(np.array(values, dtype=float)) * 25)


def test_koos_subscales_against_numpy():
    rng = random.Random(11)
    for _ in range(300):
        answers = {i: rng.randint(0, 4) for i in KOOS_ITEMS if rng.random() < 0.7}
        result = score_koos(answers)
        for name, items in KOOS_SUBSCALES.items():
            values = [answers[i] for i in items if i in answers]
            expected = _numpy_subscale(values, len(items))
            got = result.subscales[name]
            if expected is None:
                assert got is None
            else:
                assert got is not None and math.isclose(got, expected, abs_tol=1e-9)
            assert result.items[name].answered == len(values)


def test_koos_item_sets_and_half_rule():
    assert {k: len(v) for k, v in KOOS_SUBSCALES.items()} == {
        "symptoms": 7, "pain": 9, "adl": 17, "sport_rec": 5, "qol": 4}
    assert len(KOOS_ITEMS) == 42
    assert {k: score_koos({}).items[k].minimum for k in KOOS_SUBSCALES} == {
        "symptoms": 4, "pain": 5, "adl": 9, "sport_rec": 3, "qol": 2}


# (subscale, answered item count) at and just below the "at least half" line
HALF_LINE = [("symptoms", 4, True), ("symptoms", 3, False), ("pain", 5, True),
             ("pain", 4, False), ("adl", 9, True), ("adl", 8, False), ("sport_rec", 3, True),
             ("sport_rec", 2, False), ("qol", 2, True), ("qol", 1, False)]


@pytest.mark.parametrize(("name", "n", "valid"), HALF_LINE)
def test_koos_half_of_the_items(name, n, valid):
    answers = dict.fromkeys(KOOS_SUBSCALES[name][:n], 2)
    result = score_koos(answers).subscales[name]
    assert (result == 50.0) if valid else (result is None)


@pytest.mark.parametrize(("answers", "expected"), [
    ({"P1": 0, "P2": 0, "P3": 0, "P4": 0, "P5": 0}, 100.0),
    ({"P1": 4, "P2": 4, "P3": 4, "P4": 4, "P5": 4, "P6": 4, "P7": 4, "P8": 4, "P9": 4}, 0.0),
    ({"P1": 1, "P2": 2, "P3": 1, "P4": 2, "P5": 1, "P6": 2}, 62.5),
    ({"P1": 1, "P2": 0, "P3": 0, "P4": 0, "P5": 0}, 95.0),
])
def test_koos_pain_worked_examples(answers, expected):
    assert score_koos(answers).subscales["pain"] == pytest.approx(expected, abs=1e-12)
    assert {k for k, v in score_koos(answers).subscales.items() if v is not None} == {"pain"}


def test_koos_unknown_and_out_of_range_items_are_named():
    with pytest.raises(InvalidAnswers) as exc:
        score_koos({"P1": 2, "P10": 1, "S8": 0, "stiffness": 1, "Q1": 7})
    assert exc.value.problems == {"P10": "unknown item id", "S8": "unknown item id",
                                  "stiffness": "unknown item id", "Q1": "must be an integer 0–4"}


def test_koos_jr_reports_unknown_and_missing_items_together():
    answers = {**_jr_answers(4), "pain_walking": 1}
    del answers["stiffness"]
    with pytest.raises(InvalidAnswers) as exc:
        score_koos_jr(answers)
    assert exc.value.problems == {"pain_walking": "unknown item id", "stiffness": "required"}
