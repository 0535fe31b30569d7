"""Every flag rule fires on crafted data and stays quiet otherwise (GET …/flags)."""

from __future__ import annotations

import pytest

from tests.trends.conftest import day


def flags(client, p, **params):
    r = client.get("/v1/patients/me/flags", headers=p.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def rules(items):
    return sorted(f["rule"] for f in items)


def steady(n=20, pain=3, **extra):
    """n quiet days ending today."""
    return {day(-i): {"left_pain": pain, **extra} for i in range(n)}


def test_quiet_record_has_no_flags(client, seeded):
    p, s = seeded()
    s.entries(steady(45, left_swelling=0, left_flexion=110, morning_stiffness_minutes=10))
    s.sessions((day(-3), "backward_walking", 15), near_falls=0, falls=0)
    assert flags(client, p) == []


def test_flare(client, seeded):
    p, s = seeded()
    data = steady()
    data[day(-3)] = {"left_pain": 6}  # ≥ median 3 + 2 … on two consecutive days
    data[day(-2)] = {"left_pain": 5}
    s.entries(data)
    items = flags(client, p)
    flare = [f for f in items if f["rule"] == "flare"]
    assert len(flare) == 1 and flare[0]["severity"] == "warning"
    assert flare[0]["dates"] == [str(day(-3)), str(day(-2))]
    assert "median of 3" in flare[0]["reason"]
    assert "rapid_worsening" in rules(items)  # 3 → 6 in a day


def test_one_high_day_is_not_a_flare(client, seeded):
    p, s = seeded()
    data = steady()
    data[day(-3)] = {"left_pain": 5}
    data[day(-2)] = {"left_pain": 4}  # only 1 above median + 2
    s.entries(data)
    assert flags(client, p) == []


def test_sustained_severe_pain(client, seeded):
    p, s = seeded()
    data = steady(20, pain=7)
    data[day(-16)] = {"left_pain": 6}  # the run before it ended outside the 14-day look-back
    s.entries(data)
    items = [f for f in flags(client, p) if f["rule"] == "sustained_severe_pain"]
    assert len(items) == 1 and items[0]["dates"][0] == str(day(-15))
    assert items[0]["dates"][-1] == str(day(0)) and items[0]["severity"] == "warning"


def test_two_severe_days_are_quiet(client, seeded):
    p, s = seeded()
    s.entries({day(-1): {"left_pain": 8}, day(0): {"left_pain": 8}, day(-3): {"left_pain": 8},
               day(-4): {"left_pain": 8}})
    assert "sustained_severe_pain" not in rules(flags(client, p))


def test_rapid_worsening_needs_consecutive_days(client, seeded):
    p, s = seeded()
    s.entries({day(-5): {"left_pain": 2}, day(-3): {"left_pain": 6}})  # gap: not day to day
    assert flags(client, p) == []
    s.entries({day(-2): {"left_pain": 2}, day(-1): {"right_pain": 5}})
    items = [f for f in flags(client, p) if f["rule"] == "rapid_worsening"]
    assert [f["dates"] for f in items] == [[str(day(-2)), str(day(-1))]]


def test_new_swelling_and_hot_swollen_joint(client, seeded):
    p, s = seeded()
    s.entries({day(-6): {"left_swelling": 0, "right_swelling": 0},
               day(-4): {"left_swelling": 2, "right_swelling": 0},
               day(-1): {"right_swelling": 0},
               day(0): {"right_swelling": 3, "right_warmth": True}})
    items = flags(client, p)
    assert rules(items) == ["hot_swollen_joint", "new_swelling"]
    assert items[0]["rule"] == "hot_swollen_joint" and items[0]["severity"] == "urgent"
    assert "Right knee" in items[0]["reason"]
    assert next(f for f in items if f["rule"] == "new_swelling")["dates"] == [
        str(day(-6)), str(day(-4))]


def test_swelling_that_built_up_slowly_is_quiet(client, seeded):
    p, s = seeded()
    s.entries({day(-6): {"left_swelling": 0}, day(-3): {"left_swelling": 1},
               day(-2): {"left_swelling": 2}, day(0): {"left_swelling": 2}})
    assert flags(client, p) == []


def test_prolonged_morning_stiffness(client, seeded):
    p, s = seeded()
    s.entries({day(-i): {"morning_stiffness_minutes": 45 if i in (0, 2, 5) else 30}
               for i in range(7)})
    items = flags(client, p)
    assert rules(items) == ["prolonged_morning_stiffness"] and items[0]["severity"] == "info"
    assert len(items[0]["dates"]) == 3
    q, t = seeded()
    t.entries({day(-i): {"morning_stiffness_minutes": 45 if i in (0, 2) else 30}
               for i in range(7)})
    assert flags(client, q) == []


@pytest.mark.parametrize(("method", "loss", "fires"), [
    ("inclinometer", 6, True), ("inclinometer", 5, False), ("goniometer", 9, False),
    ("goniometer", 10, True), (None, 13, False), (None, 14, True),
])
def test_rom_loss_against_the_method_error(client, seeded, method, loss, fires):
    p, s = seeded()
    base = {day(-20 - i): {"left_flexion": 110, "left_rom_method": method} for i in range(10)}
    now = {day(-i): {"left_flexion": 110 - loss, "left_rom_method": method} for i in range(4)}
    s.entries(base | now)
    assert ("rom_loss" in rules(flags(client, p))) is fires


def test_fall_is_urgent_and_near_fall_info(client, seeded):
    p, s = seeded()
    s.entries(steady(5))
    s.sessions((day(-2), "backward_walking", 15), falls=1, near_falls=0)
    s.sessions((day(-4), "backward_walking", 15), falls=0, near_falls=2)
    s.sessions((day(-40), "backward_walking", 15), falls=1)  # long ago: not active
    items = flags(client, p)
    assert [(f["rule"], f["severity"], f["dates"]) for f in items] == [
        ("fall", "urgent", [str(day(-2))]), ("near_fall", "info", [str(day(-4))])]
    assert rules(flags(client, p, days=60)) == ["fall", "near_fall"]
    assert next(f for f in flags(client, p, days=60) if f["rule"] == "fall")["dates"] == [
        str(day(-40)), str(day(-2))]


def test_not_improving_on_a_well_done_plan(client, seeded):
    p, s = seeded()
    start = day(-42)
    s.plan("backward_walking", start, minutes=15, per_week=2)
    s.entries({day(-49 + i): {"left_pain": 5} for i in range(50)})
    # Two sessions a week, each ≥ 80 % of 15 minutes (12 counts).
    s.sessions(*[(day(-41 + 7 * w + k), "backward_walking", 12) for w in range(6) for k in (0, 3)])
    items = [f for f in flags(client, p) if f["rule"] == "not_improving"]
    assert len(items) == 1 and items[0]["severity"] == "info"
    assert "consider reassessment" in items[0]["reason"]
    assert items[0]["dates"] == [str(start), str(day(0))]


def test_not_improving_is_quiet_when_pain_improved_or_adherence_low(client, seeded):
    p, s = seeded()
    s.plan("backward_walking", day(-42), minutes=15, per_week=2)
    s.entries({day(-49 + i): {"left_pain": 6 if i < 20 else 3} for i in range(50)})
    s.sessions(*[(day(-41 + 7 * w + k), "backward_walking", 15) for w in range(6) for k in (0, 3)])
    assert "not_improving" not in rules(flags(client, p))
    q, t = seeded()
    t.plan("backward_walking", day(-42), minutes=15, per_week=2)
    t.entries({day(-49 + i): {"left_pain": 5} for i in range(50)})
    # Sessions too short (11 of 15 minutes < 80 %): adherence 0.
    t.sessions(*[(day(-41 + 7 * w + k), "backward_walking", 11) for w in range(6) for k in (0, 3)])
    assert "not_improving" not in rules(flags(client, q))


def test_disengaged(client, seeded):
    p, s = seeded()
    s.entries({day(-7): {"left_pain": 3}, day(-8): {"left_pain": 3}})
    items = flags(client, p)
    assert [(f["rule"], f["dates"]) for f in items] == [("disengaged", [str(day(-7))])]
    q, t = seeded()
    t.entries({day(-6): {"left_pain": 3}})
    assert flags(client, q) == []
    new, _ = seeded()
    assert flags(client, new) == []  # nothing logged yet: nothing to disengage from


def test_rule_parameters_are_configurable(client, seeded, monkeypatch):
    from tests.helpers import reset_caches

    p, s = seeded()
    s.entries({day(-1): {"left_pain": 2}, day(0): {"left_pain": 4}})
    assert flags(client, p) == []
    monkeypatch.setenv("KNEETRACK_THRESHOLDS", '{"flag_rapid_rise": 2}')
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        assert rules(flags(client, p)) == ["rapid_worsening"]
    finally:
        monkeypatch.delenv("KNEETRACK_THRESHOLDS")
        get_settings.cache_clear()
    assert reset_caches  # imported for symmetry with the clinical tests
