"""`kneetrack demo`: a small, deterministic data set for trying the API and the dashboard.

A clinician and five patients over the 12 weeks up to today (in each patient's time zone): one
improving on a backward-walking programme prescribed six weeks ago (with one fall ten to twelve
days ago that hurt for three days, KOOS-JR at the start, midway and now, function tests at the
plan's start and at week 6, PGIC and PASS now), one in a flare (taking analgesics every day of
its week), one who has stopped logging, one whose pain eases on its own while she takes up
backward walking halfway (the exercise response must not credit the walking), and one for whom
exercise was not enough: a genicular artery embolisation six weeks ago, after which her pain,
night pain and analgesic use fall. Range of motion is measured once a week with a goniometer,
as in a clinic."""

from app.demo.people import load_demo
from app.demo.records import CLINICIAN_EMAIL

__all__ = ["CLINICIAN_EMAIL", "load_demo"]
