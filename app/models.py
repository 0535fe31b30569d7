"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.auth.models import RefreshToken, User
from app.care.models import CareTeamMember, Invitation, Patient
from app.diary.models import ExercisePlan, ExerciseSession, Revision, SymptomEntry
from app.questionnaires.models import QuestionnaireResponse

__all__ = [
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
