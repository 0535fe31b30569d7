"""The pure chart geometry and the plain-words summaries (no database, no browser)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.dashboard import charts as ch
from app.dashboard import service, views
from app.trends.schemas import (
    BeforeAfterOut,
    DescriptiveOut,
    ExerciseResponseOut,
    GroupOut,
    PeriodOut,
)

D = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def test_frame_maps_dates_and_values_inside_the_plot():
    f = ch.Frame(day(0), day(27), 0, 10)
    assert f.left < f.x(day(0)) < f.x(day(1)) < f.x(day(27)) < f.plot_right
    assert f.y(0) == f.plot_bottom and f.y(10) == f.top
    assert f.y(5) == pytest.approx((f.top + f.plot_bottom) / 2, abs=0.1)


def test_path_lifts_the_pen_over_gaps_and_missing_days():
    f = ch.Frame(day(0), day(9), 0, 10)
    d = ch.path(f, [(day(0), 1), (day(1), 2), (day(2), None), (day(3), 3), (day(5), 4)])
    assert [seg[0] for seg in d.split(" ") if seg[0] in "ML"] == ["M", "L", "M", "M"]
    assert ch.path(f, []) == ""


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "–"), (3.0, "3"), (2.25, "2.2"), (-1.26, "−1.3"), (-0.04, "0"), (0.0, "0"),
     (120.06, "120.1")],
)
def test_fmt(value, text):
    assert ch.fmt(value) == text


def test_fmt_fixed_keeps_the_decimal():
    assert ch.fmt(2.0, fixed=True) == "2.0"
    assert ch.fmt(-0.04, fixed=True) == "0.0"
    assert ch.fmt(-1.26, fixed=True) == "−1.3"


@pytest.mark.parametrize(("raw", "step"), [(0.3, 0.5), (1.6, 2), (2.1, 2.5), (7, 10), (23, 25)])
def test_nice_step(raw, step):
    assert ch.nice_step(raw) == step


def test_y_ticks_cover_the_range_with_round_numbers():
    ticks = ch.Frame(day(0), day(6), 0, 10).y_ticks()
    assert [t.label for t in ticks] == ["0", "2", "4", "6", "8", "10"]


def test_markers_only_inside_the_frame():
    f = ch.Frame(day(0), day(9), 0, 10)
    marks = ch.markers_for(f, [(day(-1), "Fall", "fall"), (day(4), "Fall", "fall")])
    assert [m.x for m in marks] == [f.x(day(4))]
    assert marks[0].title == "Fall on 05 Mar 2026"


def _response(**kw):
    descriptive = kw.pop("descriptive", None) or DescriptiveOut(
        after_activity=GroupOut(n=10, mean=3.0), after_rest=GroupOut(n=8, mean=4.2),
        difference=-1.2)
    base = dict(activity="backward_walking", metric="pain", knee="worse", lag_days=1,
                from_=day(0), to=day(59), method="ols_trend_ar1_hac7", effect=-0.6,
                ci95=[-1.0, -0.2], n=59, activity_days=25, enough_data=True,
                descriptive=descriptive, before_after=None)
    base.update(kw)
    return ExerciseResponseOut(**base)


def test_exercise_response_in_plain_words():
    view = views.response_view(_response(), "worse")
    assert view.sentence == (
        "The day after backward walking, pain (worse knee) averaged 3 (10 days); the day after "
        "a day without exercise it averaged 4.2 (8 days). These raw means are not adjusted for "
        "anything.")
    assert view.interval.startswith(
        "Adjusted for the trend over time and the previous day's pain, backward walking is "
        "associated with −0.60 points of pain the day after (95 % interval −1 to −0.20, 59 days).")
    assert view.interval.endswith("The interval excludes zero.")
    crossing = views.response_view(_response(ci95=[-1.5, 0.3]), "worse")
    assert crossing.interval.endswith("The interval includes zero: no effect is shown.")


def test_exercise_response_without_enough_days_says_so():
    few = DescriptiveOut(after_activity=GroupOut(n=10, mean=3.0),
                         after_rest=GroupOut(n=0, mean=None), difference=None)
    view = views.response_view(
        _response(descriptive=few, enough_data=False, effect=None, ci95=None, n=20,
                  activity_days=10), "left")
    assert view.sentence.startswith("Not enough days to compare pain (left knee)")
    assert "(10 and 0 days)" in view.sentence
    assert view.interval == (
        "Too few days for the adjusted estimate (20 modelled days, 10 after backward walking; "
        "28 days with 5 after the activity and 5 without are needed).")


def test_before_and_after_the_plan():
    ba = BeforeAfterOut(plan_id="00000000-0000-4000-8000-000000000000", plan_start=day(14),
                        before=PeriodOut(from_=day(0), to=day(13), n=14, mean=5.5),
                        after=PeriodOut(from_=day(14), to=day(27), n=14, mean=3.25), change=-2.25)
    view = views.response_view(_response(before_after=ba), "worse")
    assert view.before_after == ("Since the plan started on 15 Mar 2026: pain averaged 5.5 in "
                                 "the 14 days before it and 3.2 in the last 14 days "
                                 "(uncontrolled: pain may change on its own).")


def test_flags_sorted_urgent_first():
    views = service.flag_views([
        {"rule": "disengaged", "severity": "info", "reason": "r", "dates": [day(1)]},
        {"rule": "fall", "severity": "urgent", "reason": "r", "dates": ["2026-03-02"]},
        {"rule": "flare", "severity": "warning", "reason": "r", "dates": [day(1)]},
    ])
    assert [(v.severity_label, v.label) for v in views] == [
        ("Urgent", "fall"), ("Warning", "flare"), ("Note", "disengaged")]
    assert views[0].dates == (day(1),)
