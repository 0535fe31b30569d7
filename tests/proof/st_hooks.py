"""Schemathesis hooks for the proofs, read by the in-process runs (tests/proof/conftest.py)
and by the command-line run against a live server (`SCHEMATHESIS_HOOKS`, test_live.py)."""

from __future__ import annotations


def published_range_formats() -> None:
    """Generate `date` and `date-time` values inside the range the OpenAPI document publishes
    (the `pattern` on the year and `x-formatMinimum`/`x-formatMaximum`, app/schemas.py): the
    generator would otherwise draw any date and throw away all but those the pattern allows,
    too many to keep generating (Hypothesis' filter_too_much). Out-of-range values are still
    sent as invalid input by the coverage phase and by test_bad_input.py."""
    import datetime as dt

    import schemathesis
    from hypothesis import strategies as st

    from app.schemas import DATE_MAX, DATE_MIN

    schemathesis.openapi.format("date", st.dates(DATE_MIN, DATE_MAX).map(dt.date.isoformat))
    schemathesis.openapi.format("date-time", st.datetimes(
        dt.datetime.combine(DATE_MIN, dt.time()), dt.datetime.combine(DATE_MAX, dt.time()),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))]),
    ).map(lambda v: v.isoformat()))


published_range_formats()
