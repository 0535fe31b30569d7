"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.auth.models import RefreshToken, User
from app.care.models import CareTeamMember, Invitation, Patient
from app.diary.models import ExerciseSession, Revision, SymptomEntry

__all__ = [
    "CareTeamMember",
    "ExerciseSession",
    "Invitation",
    "Patient",
    "RefreshToken",
    "Revision",
    "SymptomEntry",
    "User",
]
