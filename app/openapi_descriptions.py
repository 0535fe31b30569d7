"""Each operation's description in the OpenAPI document (its summary is on the route): who may
call it, what it does beyond the summary, and the answers a client should handle. A route's own
`description=` wins; `tests/test_openapi.py` requires one for every operation, and Spectral's
`operation-description` rule checks the committed document (`make lint-openapi`)."""

from __future__ import annotations

READ = (
    "The patient (`me`) or a clinician on their care team may read it (an API key needs "
    "`read`); anyone else gets 404, as for a patient who does not exist."
)
OWN_WRITE = (
    "Only the patient writes here (`me`; an API key needs `write`): a clinician on the care "
    "team gets 403, anyone else 404."
)
CARE_WRITE = (
    "A clinician on the patient's care team writes here (an API key needs `write`); the "
    "patient gets 403, anyone else 404."
)
EITHER_WRITE = (
    "The patient or a clinician on their care team may write it (an API key needs `write`); "
    "anyone else gets 404."
)
VERSIONED = (
    "Answers an `ETag`; send it back in `If-Match` to change or delete only the version you "
    "read (412 when someone changed it since)."
)
REVISIONS = (
    "Nothing is lost on a replace or delete: each earlier version is kept, oldest first, with "
    "when it was replaced and by whom."
)
PAGED = (
    "Cursor-paginated: pass `next_cursor` back as `cursor` until it is null. A cursor is opaque: "
    "one this server did not issue is 422. Where `from` and `to` are taken, `from` after `to` "
    "is 422."
)
# Rules no schema can state (today moves; ownership is data), named where they apply.
NOT_AFTER_TODAY = "A date after today in the patient's time zone is 422."
PASSWORD_RULES = (
    "The password needs at least 10 characters and may not be easy to guess (zxcvbn score 2 or "
    "more); an email at a reserved domain (`.test`, `.local`, `.invalid`, …) is 422."
)
SESSION_RULES = (
    "A session starting after now is 422, and so is a `plan_id` that names no exercise plan of "
    "this patient."
)
WINDOW = "Windows span at most 1,099 days, and `from` after `to` is 422."
IDEMPOTENT = (
    "Send an `Idempotency-Key` to retry safely: the same key and body replay the stored answer "
    "(`Idempotent-Replayed: true`), another body with the key is 422, and a retry while the "
    "first is running is 409."
)

DESCRIPTIONS: dict[str, str] = {
    "POST /v1/auth/register": "Creates a patient account with an IANA time zone (it defines the "
    "patient's days) and, optionally, birth year, sex and index knee. "
    + PASSWORD_RULES
    + " Sign in afterwards at `POST /v1/auth/token`. 409 when the email is taken. "
    + IDEMPOTENT,
    "POST /v1/auth/refresh": "Exchanges a refresh token for new tokens (JSON body); the same as "
    "`grant_type=refresh_token` at `POST /v1/auth/token`. Each refresh token works once: a "
    "reused one is refused and ends the whole sign-in (401).",
    "POST /v1/auth/logout": "Ends the sign-in the access token belongs to: its access and "
    "refresh tokens stop working at once. Other sign-ins of the account go on.",
    "POST /v1/auth/logout-all": "Ends every sign-in of the account, this one included (e.g. "
    "after losing a phone). API keys are not affected: revoke them at `/v1/api-keys`.",
    "POST /v1/auth/password": "Changes the caller's password after checking the current one; "
    "every other sign-in of the account ends, this one goes on. Not with an API key (403). "
    "The new password needs at least 10 characters and may not be easy to guess (zxcvbn "
    "score 2 or more).",
    "POST /v1/admin/clinicians": "An admin creates a clinician account (clinicians do not sign "
    "themselves up). " + PASSWORD_RULES + " 409 when the email is taken. " + IDEMPOTENT,
    "POST /v1/api-keys": "Creates an API key for the caller with the scopes given (`read`, "
    "`write`, `export`). The secret is in `key` in this answer only; it is stored as a keyed "
    "hash. Send it as `X-API-Key`. " + IDEMPOTENT,
    "GET /v1/api-keys": "The caller's API keys with their names, scopes and last use; never the "
    "secrets. " + PAGED,
    "GET /v1/api-keys/{key_id}": "One of the caller's API keys (never its secret); another "
    "account's key is 404.",
    "DELETE /v1/api-keys/{key_id}": "Revokes one of the caller's API keys: requests with it are "
    "refused from the next one on. Revoking twice is 404.",
    "GET /v1/patients/{pid}": "The patient's profile: display name, time zone, birth year, sex, "
    "index knee. " + READ,
    "PATCH /v1/patients/{pid}": "Changes the caller's own profile (display name, time zone, "
    "birth year, sex, index knee); fields left out keep their value. A new time zone moves the "
    "day boundaries of later trends. " + OWN_WRITE,
    "DELETE /v1/patients/{pid}": "Erases the patient's account and every piece of their health "
    "data after re-entering the password (rate limited per address and account); the audit "
    "record keeps that it happened, without health values. " + OWN_WRITE,
    "POST /v1/invitations": "A clinician creates a short code to give a patient; accepting it "
    "puts the clinician on the patient's care team. Codes expire. " + IDEMPOTENT,
    "DELETE /v1/invitations/{code}": "The clinician who created an open invitation withdraws "
    "it; an accepted, expired or someone else's code is 404.",
    "POST /v1/invitations/{code}/accept": "The patient accepts a clinician's code: the "
    "clinician joins the care team and can read the record from the next request. An "
    "unknown, expired or used code is 404.",
    "GET /v1/patients/{pid}/care-team": "The clinicians on the patient's care team and since "
    "when. " + PAGED + " " + READ,
    "GET /v1/clinicians/me/care-requests": "Patients who asked the calling clinician (by email "
    "or id) to join their care team and are waiting for an answer.",
    "POST /v1/clinicians/me/care-requests/{patient_id}/accept": "The calling clinician accepts "
    "a patient's pending request and joins their care team; no pending request is 404.",
    "DELETE /v1/clinicians/me/care-requests/{patient_id}": "The calling clinician declines a "
    "patient's pending request; no pending request is 404.",
    "DELETE /v1/patients/{pid}/care-team/{clinician_id}": "The patient removes a clinician from "
    "their care team, or the clinician leaves it; access ends on the next request.",
    "GET /v1/clinicians/me/patients": "The calling clinician's patients with their latest "
    "numbers and open flag episodes, from the stored state (`as_of`). `sort=concern` puts open "
    "urgent episodes first, then patients whose numbers are unavailable, warnings, the largest "
    "rise in pain; " + PAGED,
    "POST /v1/patients/{pid}/flags/{flag_id}/review": "Marks the episode reviewed through its "
    "last date, keeping the note, who and when; every review is kept and audited. New data "
    "that meets the rule again reopens it. Reviewing again is allowed (the latest review "
    "shows). " + CARE_WRITE + " " + IDEMPOTENT,
    "PUT /v1/patients/{pid}/symptom-entries/{entry_date}": "Writes the whole entry for the "
    "patient's local date (not later than today at UTC+14): 201 when new, 200 when replaced "
    "(the old version is kept) or unchanged (nothing written). `If-None-Match: *` creates "
    "only. " + VERSIONED + " " + OWN_WRITE,
    "GET /v1/patients/{pid}/symptom-entries/{entry_date}": "The entry for that local date, with "
    "its `ETag`; `If-None-Match` with the current ETag answers 304. A deleted entry is 404 "
    "(its history stays under `/revisions`). " + READ,
    "DELETE /v1/patients/{pid}/symptom-entries/{entry_date}": "Deletes the entry; its last "
    "version is kept as a revision and the changes feed carries a tombstone. "
    + VERSIONED
    + " "
    + OWN_WRITE,
    "GET /v1/patients/{pid}/symptom-entries": "The live entries between `from` and `to` "
    "(local dates), ascending. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/symptom-entries/{entry_date}/revisions": REVISIONS + " " + READ,
    "PUT /v1/patients/{pid}/exercise-sessions/{session_id}": "Writes the whole session under "
    "an id the app chose (a UUID): retrying after a lost answer is safe. 201 when new, 200 "
    "when replaced or unchanged. The session's local date is `started_at`'s date at the offset "
    "given. " + SESSION_RULES + " " + VERSIONED + " " + OWN_WRITE,
    "GET /v1/patients/{pid}/exercise-sessions/{session_id}": "The session with its `ETag`; a "
    "deleted one is 404. " + READ,
    "DELETE /v1/patients/{pid}/exercise-sessions/{session_id}": "Deletes the session; its last "
    "version is kept as a revision. " + VERSIONED + " " + OWN_WRITE,
    "POST /v1/patients/{pid}/exercise-sessions": "Logs a session under a server-chosen id "
    "(`Location` names it). Prefer `PUT` with your own id for anything logged offline. "
    + SESSION_RULES
    + " "
    + IDEMPOTENT
    + " "
    + OWN_WRITE,
    "GET /v1/patients/{pid}/exercise-sessions": "The live sessions by start time, filtered by "
    "activity and local dates. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/exercise-sessions/{session_id}/revisions": REVISIONS + " " + READ,
    "POST /v1/patients/{pid}/exercise-plans": "Prescribes an activity with minutes per session "
    "and sessions per week from a start date; adherence and the plan-anchored baseline follow "
    "it. " + CARE_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/exercise-plans": "The patient's plans by start date; `active_on` "
    "keeps those in force on a date. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/exercise-plans/{plan_id}": "One plan with its `ETag`. " + READ,
    "PATCH /v1/patients/{pid}/exercise-plans/{plan_id}": "Changes the fields given; the earlier "
    "version is kept under `/revisions`. " + VERSIONED + " " + CARE_WRITE,
    "GET /v1/patients/{pid}/exercise-plans/{plan_id}/revisions": REVISIONS + " " + READ,
    "POST /v1/patients/{pid}/treatments": "Records a treatment of a knee (an injection, "
    "embolisation, surgery …) on a date; trends mark it and `baseline=treatment` anchors on "
    "the latest. " + NOT_AFTER_TODAY + " " + EITHER_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/treatments": "The live treatments by date. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/treatments/{treatment_id}": "One treatment with its `ETag`. " + READ,
    "PATCH /v1/patients/{pid}/treatments/{treatment_id}": "Changes the fields given. "
    + VERSIONED
    + " "
    + EITHER_WRITE,
    "DELETE /v1/patients/{pid}/treatments/{treatment_id}": "Deletes the treatment; its last "
    "version is kept. " + VERSIONED + " " + EITHER_WRITE,
    "GET /v1/patients/{pid}/treatments/{treatment_id}/revisions": REVISIONS + " " + READ,
    "POST /v1/patients/{pid}/function-tests": "Records a performance test (30-s chair stand in "
    "stands; TUG, 40 m fast walk, stair climb in seconds) on a date; each test is a trend "
    "metric. " + NOT_AFTER_TODAY + " " + EITHER_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/function-tests": "The live results by date. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/function-tests/{test_id}": "One result with its `ETag`. " + READ,
    "DELETE /v1/patients/{pid}/function-tests/{test_id}": "Deletes the result; its last "
    "version is kept. " + VERSIONED + " " + EITHER_WRITE,
    "GET /v1/patients/{pid}/function-tests/{test_id}/revisions": REVISIONS + " " + READ,
    "POST /v1/patients/{pid}/questionnaires": "Stores a completed questionnaire and scores it: "
    "KOOS-JR (0–100 interval score), KOOS (five subscales), PGIC or PASS. Missing or invalid "
    "items are 422 naming them. " + NOT_AFTER_TODAY + " " + OWN_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/questionnaires": "Completed questionnaires with their scores by "
    "completion date. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/questionnaires/{questionnaire_id}": "One questionnaire with its "
    "answers and scores. " + READ,
    "POST /v1/patients/{pid}/notes": "A clinical note, optionally about a local date and on a "
    "topic; the patient can read it. Notes are never changed: a correction is a new note that "
    "`amends` the earlier one. " + NOT_AFTER_TODAY + " " + CARE_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/notes": "Clinical notes, oldest first. " + PAGED + " " + READ,
    "GET /v1/patients/{pid}/notes/{note_id}": "One clinical note. " + READ,
    "GET /v1/patients/{pid}/trends": "Every metric's summary for the window (baseline, current, "
    "change, status against its thresholds: docs/trends.md), the open flag episodes from the "
    "stored state, and adherence to each plan. Descriptive only, never advice. "
    + WINDOW
    + " "
    + READ,
    "GET /v1/patients/{pid}/trends/exercise-response": "Whether days after the activity go with "
    "a better or worse symptom than days after rest: raw means, and an adjusted estimate with "
    "its 95 % interval (a regression with the trend over time and the previous day's value, "
    "HAC errors) when there are enough days. An association, not a cause. " + WINDOW + " " + READ,
    "GET /v1/patients/{pid}/trends/session-pain": "Each session's pain before and after and the "
    "next day's pain, judged by the pain-monitoring model's limits. " + WINDOW + " " + READ,
    "GET /v1/patients/{pid}/trends/{metric}": "The metric's values per day, week or month for "
    "the knee asked (index by default), the 7-day rolling mean, and its summary against the "
    "anchored baseline (SPEC §4; docs/trends.md). " + WINDOW + " " + READ,
    "GET /v1/patients/{pid}/access-log": "Every read, write, export and refused attempt on the "
    "patient's record: who (id and role), what, when, and the outcome, newest first. Only "
    "the patient reads their own. " + PAGED,
    "GET /v1/admin/audit-events": "The whole audit record for an admin, newest first, filtered "
    "by actor, patient and time; it holds no health values. " + PAGED,
    "POST /v1/patients/{pid}/sync": "Up to 500 diary entries, exercise sessions and deletions "
    "in one call, for an app coming back online: each item is applied and answered on its own "
    "(`created`, `updated`, `unchanged`, `deleted`, `conflict`, `invalid`), in input order; "
    "an item's `if_match` guards it. Replaying the call answers `unchanged`. "
    "docs/offline-sync.md. " + OWN_WRITE + " " + IDEMPOTENT,
    "GET /v1/patients/{pid}/changes": "Everything created, changed or deleted on the record "
    "since the cursor, in commit order (deletions as tombstones), for a second device to "
    "catch up; keep the last `next_cursor`. " + READ,
    "GET /healthz": "Liveness: the process answers. No credential; it never touches the database.",
    "GET /readyz": "Readiness: 200 when the database answers, 503 (with `Retry-After`) when "
    "it does not. No credential.",
}


def describe(schema: dict[str, object]) -> None:
    """Give each operation without a description the one above."""
    paths = schema.get("paths")
    if not isinstance(paths, dict):
        return
    for path, operations in paths.items():
        for method, operation in operations.items():
            text = DESCRIPTIONS.get(f"{method.upper()} {path}")
            if text and not operation.get("description"):
                operation["description"] = text
