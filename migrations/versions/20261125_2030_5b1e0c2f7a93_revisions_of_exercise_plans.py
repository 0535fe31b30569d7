"""revisions of exercise plans

Revision ID: 5b1e0c2f7a93
Revises: 1d6d058aa4a2
Create Date: 2026-11-25 20:30:00.000000
"""
from collections.abc import Sequence

from alembic import op


revision: str = '5b1e0c2f7a93'
down_revision: str | None = '1d6d058aa4a2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('symptom_entry', 'exercise_session')"
NEW_KINDS = "kind IN ('symptom_entry', 'exercise_session', 'exercise_plan')"


def _replace_kind_check(condition: str) -> None:
    # SQLite cannot alter a CHECK in place: batch mode rebuilds the table with the new one.
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_revisions_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_revisions_kind'), condition)


def upgrade() -> None:
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM revisions WHERE kind = 'exercise_plan'")
    _replace_kind_check(OLD_KINDS)
