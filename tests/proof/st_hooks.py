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
    schemathesis.openapi.format(
        "date-time",
        st.datetimes(
            dt.datetime.combine(DATE_MIN, dt.time()),
            dt.datetime.combine(DATE_MAX, dt.time()),
            timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))]),
        ).map(lambda v: v.isoformat()),
    )


published_range_formats()


def fresh_idempotency_keys() -> None:
    """A client sends a new Idempotency-Key with each new request (SPEC §3); a key used again
    with another body is rightly refused (422), which the schema cannot state. Deterministic
    generation draws the same few keys for many requests, so each generated key is replaced by
    a fresh one. Replays with the same key are proven by tests/idempotency/."""
    import uuid

    import schemathesis

    @schemathesis.hook("map_case")
    def _fresh_key(context, case):  # type: ignore[no-untyped-def]
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = str(uuid.uuid4())
        return case


fresh_idempotency_keys()


def no_made_up_cursors() -> None:
    """A list's `cursor` is opaque: only a value this server issued is valid (SPEC §2), which
    no schema can state. A schema-valid case (the positive-acceptance check's) therefore goes
    without one, so that every list's other parameters are still checked; invalid cases keep
    theirs (a made-up cursor must answer 422 naming it: tests/proof/test_bad_input.py)."""
    import schemathesis
    from schemathesis import GenerationMode

    @schemathesis.hook("map_case")
    def _drop_cursor(context, case):  # type: ignore[no-untyped-def]
        meta = case.meta
        positive = meta is None or meta.generation.mode == GenerationMode.POSITIVE
        if positive and case.query and "cursor" in case.query:
            case.query = {k: v for k, v in case.query.items() if k != "cursor"}
        return case


no_made_up_cursors()


def windows_in_order() -> None:
    """A list's `from` may not be after its `to` (SPEC §2), a rule between two parameters that
    no schema can state: a schema-valid case sends them in order, so that the check sees the
    rest of the list's parameters. Invalid cases keep their order (tests/proof/test_bad_input.py
    proves the 422). The trends' longer rules (a window of at most 1,099 days) leave them out
    of the positive-acceptance check altogether (schemathesis.toml)."""
    import schemathesis
    from schemathesis import GenerationMode

    @schemathesis.hook("map_case")
    def _in_order(context, case):  # type: ignore[no-untyped-def]
        meta = case.meta
        positive = meta is None or meta.generation.mode == GenerationMode.POSITIVE
        query = case.query or {}
        low, high = query.get("from"), query.get("to")
        if positive and isinstance(low, str) and isinstance(high, str) and low > high:
            case.query = {**query, "from": high, "to": low}
        return case


windows_in_order()
