"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, RefreshToken, User
from app.care.models import CareTeamMember, Invitation, Patient
from app.diary.models import ExercisePlan, ExerciseSession, Revision, SymptomEntry
from app.questionnaires.models import QuestionnaireResponse

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CareTeamMember",
    "ExercisePlan",
    "ExerciseSession",
    "Invitation",
    "Patient",
    "QuestionnaireResponse",
    "RefreshToken",
    "Revision",
    "SymptomEntry",
    "User",
]
