"""The pure chart geometry and the plain-words summaries (no database, no browser)."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


@pytest.mark.parametrize(
    ("change", "mean_7d", "verdict"),
    [
        # From 6.3 to 4.3: 2 points is the MCID (and beyond the MDC of 1.33).
        (-2.0, 4.3, "clinically important improvement"),
        # From 4 to 2.6: 35 % of the earlier week, beyond the MDC: important by the relative bar.
        (-1.4, 2.6, "clinically important improvement"),
        # From 4 to 2.8: 30 % of 4 but below the MDC of 1.33: not shown to be real.
        (-1.2, 2.8, "not a clinically important change"),
        # Worse by the MDC or more.
        (1.4, 6.0, "worse beyond measurement error"),
        (1.0, 6.0, "not a clinically important change"),
        (None, 6.0, ""),
    ],
)
def test_the_panel_says_whether_a_change_in_pain_is_clinically_important(
    change, mean_7d, verdict
):
    from app.dashboard.service import change_verdict

    assert change_verdict(change, mean_7d) == verdict


def test_long_axes_carry_years_and_edge_labels_stay_inside():
    frame = ch.Frame(dt.date(2025, 11, 15), dt.date(2026, 11, 14), 0, 10, width=480)
    labels = [t.label for t in frame.x_ticks()]
    assert labels[0] == "Dec 2025" and labels[-1].endswith("2026") and len(labels) <= 7
    short = ch.Frame(dt.date(2026, 3, 1), dt.date(2026, 3, 28), 0, 10, width=480)
    assert short.x_ticks()[0].label == "1 Mar"
    for t in (*frame.x_ticks(), *short.x_ticks()):
        half = len(t.label) * 3.3
        left = t.pos - (0 if t.anchor == "start" else 2 * half if t.anchor == "end" else half)
        assert left >= 0 and left + 2 * half <= 480, t


def _trend_with(baseline: float, kind: str, direction: str = "lower_is_better") -> Any:
    from types import SimpleNamespace

    th = SimpleNamespace(mcid=2.0, mcid_percent=30.0, mdc=1.33, worsening=1.33)
    if kind == "mdc":
        th = SimpleNamespace(mcid=None, mcid_percent=None, mdc=10.0, worsening=10.0)
    return SimpleNamespace(baseline=SimpleNamespace(mean=baseline), thresholds=th,
                           threshold_kind=kind, direction=direction)


@pytest.mark.parametrize(
    ("baseline", "kind", "direction", "low", "high"),
    [
        (6.0, "mcid", "lower_is_better", 4.2, 7.33),  # 30 % of 6 = 1.8 < 2 points
        (4.0, "mcid", "lower_is_better", 2.67, 5.33),  # 30 % of 4 = 1.2, raised to the MDC
        (8.0, "mcid", "lower_is_better", 6.0, 9.33),  # 2 points < 30 % of 8
        (110.0, "mdc", "higher_is_better", 100.0, 120.0),  # ROM: ± measurement error
    ],
)
def test_the_baseline_band_spans_the_thresholds_that_judge_a_change(
    baseline, kind, direction, low, high
):
    from app.dashboard.knee_charts import threshold_band

    band = threshold_band(_trend_with(baseline, kind, direction), "")
    assert band is not None
    assert band[0] == pytest.approx(low) and band[1] == pytest.approx(high)


def test_session_pain_is_judged_by_the_pain_monitoring_models_limit():
    from app.dashboard.period import Window
    from app.dashboard.record_views import SessionRow, session_pain_chart

    w = Window("4w", "left", dt.date(2026, 3, 1), dt.date(2026, 3, 28))
    rows = [SessionRow(dt.date(2026, 3, d), "backward_walking", 15, 3, after, "indoor", True,
                       0, 0) for d, after in ((2, 4), (5, 5), (9, 7), (12, None))]
    chart, text = session_pain_chart(w, rows)
    assert text.startswith(
        "3 sessions with pain recorded; pain was above 5 after 1 of them: 9 Mar.")
    assert [d.css for d in chart.dots] == ["daily index", "daily index", "daily over"]
    _, quiet = session_pain_chart(w, rows[:2])
    assert "after none of them" in quiet
    _, none = session_pain_chart(w, rows[3:])
    assert none == "No session in this period has its pain recorded."


def test_without_an_index_knee_the_two_knees_still_look_different():
    from types import SimpleNamespace

    from app.dashboard.knee_charts import KneeTrend

    t = SimpleNamespace(points=[])
    with_index = [KneeTrend("left", t, False), KneeTrend("right", t, True)]
    assert [k.style for k in with_index] == ["other", "index"]
    without = [KneeTrend(side, t, False, no_index=True) for side in ("left", "right")]
    assert [k.style for k in without] == ["index", "other"]
