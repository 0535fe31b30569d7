"""Rules the OpenAPI document states must be the rules the server applies: a body the
document's schema accepts is accepted, and one it refuses is refused (422 naming the field).
Checked with a JSON Schema validator (jsonschema-rs) on the served document, for the rules
that were once only in code: each questionnaire's answers, IANA time zones, analgesic kinds."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from app.questionnaires.scoring import KOOS_ITEMS, KOOS_JR_ITEMS, SINGLE_ITEM


def _validator(app: Any, name: str) -> Any:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) of one component, with the
    document's components beside it so that its `$ref`s resolve."""
    components = app.openapi()["components"]
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components})


def _answer_cases() -> list[tuple[str, dict[str, Any], bool]]:
    """(instrument, answers, valid) at each edge of each instrument's answers."""
    jr_low = dict.fromkeys(KOOS_JR_ITEMS, 0)
    cases: list[tuple[str, dict[str, Any], bool]] = [
        ("koos_jr", jr_low, True),
        ("koos_jr", dict.fromkeys(KOOS_JR_ITEMS, 4), True),
        ("koos_jr", {**jr_low, KOOS_JR_ITEMS[0]: 5}, False),
        ("koos_jr", {k: v for k, v in jr_low.items() if k != KOOS_JR_ITEMS[-1]}, False),
        ("koos_jr", {**jr_low, "P1": 1}, False),
        ("koos", dict.fromkeys(sorted(KOOS_ITEMS), 4), True),
        ("koos", {"P5": 1}, True),
        ("koos", {"P5": 1.0}, True),
        ("koos", {"P5": 5}, False),
        ("koos", {"stiffness": 1}, False),
    ]
    for instrument, (item, low, high) in SINGLE_ITEM.items():
        cases += [(instrument, {item: low}, True), (instrument, {item: high}, True),
                  (instrument, {item: high + 1}, False), (instrument, {item: low - 1}, False),
                  (instrument, {"P1": 1}, False), (instrument, {item: low, "x": 1}, False)]
    return cases


@pytest.mark.parametrize(("instrument", "answers", "valid"), _answer_cases())
def test_each_instruments_answers_as_the_document_states(
        app, client, make_patient, instrument, answers, valid):
    body = {"instrument": instrument, "completed_on": "2026-01-05", "answers": answers}
    errors = list(_validator(app, "QuestionnaireIn").iter_errors(body))
    assert (not errors) is valid, [e.message for e in errors]
    r = client.post("/v1/patients/me/questionnaires", json=body,
                    headers=make_patient().headers)
    assert r.status_code == (201 if valid else 422), r.text
    if not valid:
        assert r.json()["errors"][0]["loc"][:2] == ["body", "answers"], r.text


@pytest.mark.parametrize(("timezone", "valid"), [
    ("Europe/London", True), ("America/Argentina/Buenos_Aires", True), ("UTC", True),
    ("Etc/GMT+5", True), ("localtime", False), ("Mars/Olympus_Mons", False),
    ("europe/london", False), ("", False),
])
def test_time_zones_as_the_document_lists_them(app, client, make_patient, timezone, valid):
    ok = _validator(app, "TimeZone").is_valid(timezone)
    assert ok is valid
    r = client.patch("/v1/patients/me", json={"timezone": timezone},
                     headers=make_patient().headers)
    assert r.status_code == (200 if valid else 422), r.text
    if not valid:
        assert r.json()["errors"][0]["loc"] == ["body", "timezone"], r.text


def test_every_listed_time_zone_is_accepted_by_the_server():
    from app.schemas import TIMEZONE_SCHEMA, check_timezone

    names = TIMEZONE_SCHEMA["enum"]
    assert len(names) > 500
    assert [check_timezone(n) for n in names] == names


@pytest.mark.parametrize(("kinds", "valid"), [
    (["paracetamol", "nsaid_topical"], True), (["paracetamol", "paracetamol"], False)])
def test_analgesic_kinds_are_unique_as_the_document_states(
        app, client, make_patient, kinds, valid):
    body = {"knees": {"left": {"pain": 3}}, "analgesics": {"doses": 1, "kinds": kinds}}
    assert _validator(app, "SymptomEntryIn").is_valid(body) is valid
    r = client.put("/v1/patients/me/symptom-entries/2026-01-05", json=body,
                   headers=make_patient().headers)
    assert r.status_code == (201 if valid else 422), r.text
