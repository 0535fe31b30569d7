"""The care around the diary as FHIR R4: exercise plans as CarePlans and flag episodes as
Flags (for the clinician's system; a Flag describes what the data showed, never advice)."""

from __future__ import annotations

from typing import Any

from app.exports.fhir_build import cc, local, stable_id
from app.exports.fhir_codes import CS_ACTIVITY, CS_FLAG_RULE, CS_FLAG_SEVERITY

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"


def care_plan_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A prescribed exercise plan: `sessions_per_week` sessions of `minutes_per_session` of an
    activity from `start_date` (to `end_date`)."""
    activity = row.activity.replace("_", " ")
    period = {"start": row.start_date.isoformat()}
    if row.end_date is not None:
        period["end"] = row.end_date.isoformat()
    detail: dict[str, Any] = {
        "kind": "ServiceRequest",
        "code": cc(local(CS_ACTIVITY, row.activity, activity.capitalize())),
        "status": "in-progress",
        "scheduledTiming": {
            "repeat": {
                "frequency": row.sessions_per_week,
                "period": 1,
                "periodUnit": "wk",
                "duration": row.minutes_per_session,
                "durationUnit": "min",
                "boundsPeriod": period,
            }
        },
        "description": f"{activity.capitalize()}, {row.minutes_per_session} min, "
        f"{row.sessions_per_week} times a week",
    }
    res: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": stable_id(row.id, "care-plan"),
        "meta": {"versionId": str(row.version)},
        "status": "completed" if row.end_date is not None else "active",
        "intent": "plan",
        "title": f"Exercise plan: {activity}",
        "subject": {"reference": patient_ref},
        "period": period,
        "activity": [{"detail": detail}],
    }
    if row.instructions:
        res["note"] = [{"text": row.instructions}]
    return res


def flag_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A flag episode: `active` while open, `inactive` once reviewed or resolved; its period
    is the episode's first to last date."""
    rule = row.rule.replace("_", " ")
    code = cc(local(CS_FLAG_RULE, row.rule, rule.capitalize()), row.reason)
    return {
        "resourceType": "Flag",
        "id": stable_id(row.id, "flag"),
        "status": "active" if row.status == "open" else "inactive",
        "category": [
            cc({"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}),
            cc(local(CS_FLAG_SEVERITY, row.severity, row.severity.capitalize())),
        ],
        "code": code,
        "subject": {"reference": patient_ref},
        "period": {"start": row.first_date.isoformat(), "end": row.last_date.isoformat()},
    }
