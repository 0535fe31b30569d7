"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, RefreshToken, User
from app.care.models import CareTeamMember, Invitation, Patient
from app.diary.models import ExercisePlan, ExerciseSession, SymptomEntry
from app.function_tests.models import FunctionTest
from app.idempotency.models import IdempotencyKey
from app.notes.models import ClinicalNote
from app.questionnaires.models import QuestionnaireResponse
from app.records.models import Change, Revision, StateQueue
from app.treatments.models import Treatment
from app.trends.models import FlagEpisode, FlagReview, PatientState

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CareTeamMember",
    "Change",
    "ClinicalNote",
    "ExercisePlan",
    "ExerciseSession",
    "FlagEpisode",
    "FlagReview",
    "FunctionTest",
    "IdempotencyKey",
    "Invitation",
    "Patient",
    "PatientState",
    "QuestionnaireResponse",
    "RefreshToken",
    "Revision",
    "StateQueue",
    "SymptomEntry",
    "Treatment",
    "User",
]
