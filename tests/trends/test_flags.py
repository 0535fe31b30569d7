"""Every flag rule of SPEC v2 §5 fires on crafted data, as one episode with its criteria, and
stays quiet otherwise (GET …/flags over the stored episodes)."""

from __future__ import annotations

import pytest

from tests.trends.conftest import day


def flags(client, p, pid="me", account=None, **params):
    r = client.get(f"/v1/patients/{pid}/flags", headers=(account or p).headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def rules(items):
    return sorted(f["rule"] for f in items)


def only(items, rule):
    found = [f for f in items if f["rule"] == rule]
    assert len(found) == 1, items
    return found[0]


def steady(n=20, pain=3, **extra):
    """n quiet days ending today."""
    return {day(-i): {"left_pain": pain, **extra} for i in range(n)}


def test_quiet_record_has_no_flags(client, seeded):
    p, s = seeded()
    s.entries(steady(45, left_swelling=0, left_flexion=110, morning_stiffness_minutes=10))
    s.sessions((day(-3), "backward_walking", 15), near_falls=0, falls=0, pain_after=3)
    assert flags(client, p) == []


def test_one_flare_is_one_pain_episode_with_every_criterion_it_met(client, seeded):
    p, s = seeded()
    data = steady()
    data[day(-3)] = {"left_pain": 6}  # ≥ median 3 + 2, a rise of 3 in a day …
    data[day(-2)] = {"left_pain": 5, "flare": True}  # … on two days; the patient said flare
    s.entries(data)
    ep = only(flags(client, p), "pain_episode")
    assert ep["severity"] == "warning" and ep["status"] == "open"
    assert ep["criteria"] == ["above_usual", "patient_flare", "sudden_rise"]
    assert ep["dates"] == [str(day(-3)), str(day(-2))]
    assert (ep["first_date"], ep["last_date"]) == (str(day(-3)), str(day(-2)))
    assert "median 3 in the 7 days before" in ep["reason"] and "Pain up to 6" in ep["reason"]


def test_one_high_day_is_quiet(client, seeded):
    p, s = seeded()
    data = steady()
    data[day(-3)] = {"left_pain": 5}
    data[day(-2)] = {"left_pain": 4}  # only 1 above median + 2, and a rise of 2
    s.entries(data)
    assert flags(client, p) == []


def test_severe_pain_days_join_one_episode(client, seeded):
    p, s = seeded()
    data = steady(20, pain=7)
    data[day(-16)] = {"left_pain": 6}  # one milder day does not split the episode
    s.entries(data)
    ep = only(flags(client, p), "pain_episode")
    assert ep["criteria"] == ["severe"]
    assert (ep["first_date"], ep["last_date"]) == (str(day(-19)), str(day(0)))
    q, t = seeded()
    t.entries({day(-1): {"left_pain": 8}, day(0): {"left_pain": 8}, day(-3): {"left_pain": 8},
               day(-4): {"left_pain": 8}})  # never 3 days in a row
    assert flags(client, q) == []


def test_a_sudden_rise_needs_consecutive_days(client, seeded):
    p, s = seeded()
    s.entries({day(-5): {"left_pain": 2}, day(-3): {"left_pain": 6}})  # gap: not day to day
    assert flags(client, p) == []
    s.entries({day(-2): {"left_pain": 2}, day(-1): {"right_pain": 5}})  # either knee
    ep = only(flags(client, p), "pain_episode")
    assert ep["criteria"] == ["sudden_rise"] and ep["dates"] == [str(day(-1))]


def test_swelling_rise_from_any_level_and_same_day_hot_swollen_joint(client, seeded):
    p, s = seeded()
    s.entries({day(-6): {"left_swelling": 1},
               day(-4): {"left_swelling": 2}, day(-3): {"left_swelling": 2},  # 1 → 2, 2 days
               day(0): {"right_swelling": 3, "right_warmth": True}})  # no swelling-free day
    items = flags(client, p)
    assert rules(items) == ["hot_swollen_joint", "swelling_rise"]
    hot = items[0]
    assert hot["rule"] == "hot_swollen_joint" and hot["severity"] == "urgent"
    assert hot["key"] == "right" and hot["dates"] == [str(day(0))]
    assert "Right knee warm and swollen (grade up to 3)" in hot["reason"]
    rise = only(items, "swelling_rise")
    assert rise["key"] == "left" and rise["criteria"] == ["rise"]
    assert rise["dates"] == [str(day(-4)), str(day(-3))] and "from grade 1" in rise["reason"]


def test_swelling_sustained_and_a_single_swollen_day(client, seeded):
    p, s = seeded()
    s.entries({day(-i): {"right_swelling": 2} for i in range(3)})  # 2 on 3 days, no rise
    assert only(flags(client, p), "swelling_rise")["criteria"] == ["sustained"]
    q, t = seeded()
    t.entries({day(-2): {"left_swelling": 0}, day(0): {"left_swelling": 3}})
    assert flags(client, q) == []


def test_falls_are_urgent_with_their_context_and_stay_open(client, seeded):
    p, s = seeded()
    s.entries(steady(5))
    s.sessions((day(-2), "backward_walking", 15), falls=1, setting="outdoor", supervised=False)
    s.sessions((day(-40), "forward_walking", 15), falls=1)  # long ago, never reviewed: still open
    s.entries({day(-5): {"left_pain": 3, "falls": 2}})  # in daily life
    items = [f for f in flags(client, p) if f["rule"] == "fall"]
    assert [(f["severity"], f["status"], f["dates"]) for f in items] == [
        ("urgent", "open", [str(day(-2))]),
        ("urgent", "open", [str(day(-5))]),
        ("urgent", "open", [str(day(-40))]),
    ]
    assert "1 fall(s) on " + str(day(-2)) + " (backward walking, outdoor, unsupervised)" in (
        items[0]["reason"]
    )
    assert items[1]["criteria"] == ["daily_life"] and "daily life" in items[1]["reason"]
    assert "setting not recorded, supervision not recorded" in items[2]["reason"]


def test_near_falls_are_info_and_warning_when_repeated_or_with_giving_way(client, seeded):
    p, s = seeded()
    s.entries(steady(5))
    s.sessions((day(-20), "backward_walking", 15), near_falls=1)
    ep = only(flags(client, p), "near_falls")
    assert (ep["severity"], ep["criteria"]) == ("info", ["single"])
    s.sessions((day(-12), "backward_walking", 15), near_falls=1)  # 2 in 14 days
    ep = only(flags(client, p), "near_falls")
    assert ep["severity"] == "warning" and ep["dates"] == [str(day(-20)), str(day(-12))]
    q, t = seeded()
    t.entries(steady(5) | {day(-3): {"left_pain": 3, "left_giving_way": True}})
    t.sessions((day(-1), "forward_walking", 20), near_falls=1)
    ep = only(flags(client, q), "near_falls")
    assert ep["severity"] == "warning" and ep["criteria"] == ["with_giving_way"]


def test_giving_way_on_two_days_in_seven(client, seeded):
    p, s = seeded()
    quiet = {d: v for d, v in steady(13).items() if d not in (day(-1), day(-4))}
    s.entries(quiet | {day(-12): {"left_pain": 3, "right_giving_way": True}})
    assert flags(client, p) == []  # once
    s.entries({day(-1): {"left_pain": 3, "left_giving_way": True}})  # 11 days later: once again
    assert flags(client, p) == []
    s.entries({day(-4): {"left_pain": 3, "left_giving_way": True}})
    ep = only(flags(client, p), "giving_way")
    assert ep["severity"] == "warning" and ep["dates"] == [str(day(-4)), str(day(-1))]


def test_unsupervised_or_outdoor_backward_walking_early_in_its_plan(client, seeded):
    p, s = seeded()
    s.entries(steady(15))
    s.plan("backward_walking", day(-10))
    s.sessions((day(-8), "backward_walking", 15), supervised=True, setting="indoor")
    assert flags(client, p) == []
    s.sessions((day(-6), "backward_walking", 15), supervised=False, setting="indoor")
    s.sessions((day(-4), "backward_walking", 15), supervised=True, setting="outdoor")
    ep = only(flags(client, p), "unsupervised_early")
    assert ep["severity"] == "info" and ep["criteria"] == ["outdoor", "unsupervised"]
    assert f"plan started {day(-10)}" in ep["reason"]
    q, t = seeded()
    t.entries(steady(15))
    t.plan("backward_walking", day(-30))  # 26 days into the plan: past the first two weeks
    t.sessions((day(-4), "backward_walking", 15), supervised=False, setting="outdoor")
    assert flags(client, q) == []


def test_exercise_pain_over_the_monitoring_limits(client, seeded):
    p, s = seeded()
    s.entries(steady(15))
    s.sessions((day(-6), "forward_walking", 20), pain_before=3, pain_after=7)
    s.sessions((day(-4), "forward_walking", 20), pain_before=3, pain_after=4)
    assert flags(client, p) == []  # one of the last sessions over the limit
    s.sessions((day(-2), "forward_walking", 20), pain_before=2, pain_after=4)  # next day 3 > 2
    ep = only(flags(client, p), "exercise_pain")
    assert ep["severity"] == "warning" and ep["dates"] == [str(day(-2))]
    assert "2 of the last 3 sessions" in ep["reason"]


def test_prolonged_morning_stiffness(client, seeded):
    p, s = seeded()
    s.entries({day(-i): {"morning_stiffness_minutes": 45 if i in (0, 2, 5) else 30}
               for i in range(7)})
    ep = only(flags(client, p), "prolonged_morning_stiffness")
    assert ep["severity"] == "info" and ep["dates"] == [str(day(0))]
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
    items = flags(client, p)
    assert ("rom_loss" in rules(items)) is fires
    if fires:
        ep = only(items, "rom_loss")
        assert ep["key"] == "left_flexion" and ep["criteria"] == ["flexion_loss"]


def test_rom_loss_of_extension_is_a_flexion_contracture(client, seeded):
    p, s = seeded()
    s.entries({day(-30): {"right_extension": 0, "right_rom_method": "goniometer"},
               day(-2): {"right_extension": 10, "right_rom_method": "goniometer"}})
    ep = only(flags(client, p), "rom_loss")
    assert ep["key"] == "right_extension" and ep["criteria"] == ["extension_gain"]
    assert "Right knee extension 10°" in ep["reason"]


def _adherent_plan(s, weeks_ago: int, pain_for):
    start = day(-7 * weeks_ago)
    s.plan("backward_walking", start, minutes=15, per_week=2)
    s.entries({start + (i - 7) * (day(1) - day(0)): {"left_pain": pain_for(i)}
               for i in range(7 * weeks_ago + 8)})
    s.sessions(*[(start + (7 * w + k) * (day(1) - day(0)), "backward_walking", 12)
                 for w in range(weeks_ago) for k in (1, 4)])


def test_not_improving_after_six_adherent_weeks(client, seeded):
    p, s = seeded()
    _adherent_plan(s, 7, lambda i: 5)
    ep = only(flags(client, p), "not_improving")
    assert ep["severity"] == "info" and ep["status"] == "open"
    assert ep["last_date"] == str(day(0)) and len(ep["dates"]) == 2
    assert "at 100 % adherence; pain 5 before the plan, 5 over the last 7 days" in ep["reason"]
    assert "consider" not in ep["reason"]  # it describes, never advises


@pytest.mark.parametrize("pain_for", [
    lambda i: 1,  # at the acceptable state: nothing to improve
    lambda i: 6 if i < 20 else 3,  # improved by 3 points
])
def test_not_improving_is_quiet_when_pain_is_low_or_improved(client, seeded, pain_for):
    p, s = seeded()
    _adherent_plan(s, 7, pain_for)
    assert "not_improving" not in rules(flags(client, p))


def test_not_improving_is_quiet_when_adherence_is_low(client, seeded):
    p, s = seeded()
    start = day(-49)
    s.plan("backward_walking", start, minutes=15, per_week=2)
    s.entries({day(-56 + i): {"left_pain": 5} for i in range(57)})
    s.sessions(*[(day(-48 + 7 * w + k), "backward_walking", 11) for w in range(7) for k in (0, 3)])
    assert "not_improving" not in rules(flags(client, p))  # 11 of 15 minutes < 80 %


def test_escalation_review_after_twelve_adherent_weeks(client, seeded, care_clinician):
    p, s = seeded()
    _adherent_plan(s, 14, lambda i: 5)
    c = care_clinician(p)
    items = flags(client, p, pid=p.id, account=c)
    ep = only(items, "escalation_review")
    assert ep["severity"] == "warning" and ep["status"] == "open"
    assert "review the plan (local pathways include injection" in ep["reason"]
    # From week 6 to week 12 it was `not_improving`; that episode has ended.
    assert only(items, "not_improving")["status"] == "resolved"
    # Addressed to the clinician: the patient's own list and summary never show it.
    assert "escalation_review" not in rules(flags(client, p))
    own = client.get("/v1/patients/me/trends", headers=p.headers).json()["flags"]
    theirs = client.get(f"/v1/patients/{p.id}/trends", headers=c.headers).json()["flags"]
    assert "escalation_review" not in rules(own) and "escalation_review" in rules(theirs)


def test_disengaged(client, seeded):
    p, s = seeded()
    s.entries({day(-7): {"left_pain": 3}, day(-8): {"left_pain": 3}})
    ep = only(flags(client, p), "disengaged")
    assert ep["dates"] == [str(day(0)), str(day(0))] and ep["status"] == "open"
    assert ep["reason"] == f"No diary entry for 7 days (last on {day(-7)})"
    q, t = seeded()
    t.entries({day(-6): {"left_pain": 3}})
    assert flags(client, q) == []
    new, _ = seeded()
    assert flags(client, new) == []  # nothing logged and no care team: nothing to flag


def test_rule_parameters_are_configurable(client, seeded, monkeypatch):
    from app.config import get_settings

    p, s = seeded()
    s.entries({day(-1): {"left_pain": 2}, day(0): {"left_pain": 4}})
    assert flags(client, p) == []
    monkeypatch.setenv("KNEETRACK_THRESHOLDS", '{"flag_rapid_rise": 2}')
    get_settings.cache_clear()
    try:
        s.rebuild()
        assert only(flags(client, p), "pain_episode")["criteria"] == ["sudden_rise"]
    finally:
        monkeypatch.delenv("KNEETRACK_THRESHOLDS")
        get_settings.cache_clear()
