"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, RefreshToken, User
from app.care.models import CareTeamMember, Invitation, Patient
from app.diary.models import ExercisePlan, ExerciseSession, SymptomEntry
from app.function_tests.models import FunctionTest
from app.idempotency.models import IdempotencyKey
from app.notes.models import ClinicalNote
from app.questionnaires.models import QuestionnaireResponse
from app.records.models import Change, Revision
from app.treatments.models import Treatment

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CareTeamMember",
    "Change",
    "ClinicalNote",
    "ExercisePlan",
    "ExerciseSession",
    "FunctionTest",
    "IdempotencyKey",
    "Invitation",
    "Patient",
    "QuestionnaireResponse",
    "RefreshToken",
    "Revision",
    "SymptomEntry",
    "Treatment",
    "User",
]
