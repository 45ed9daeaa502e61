"""unit-level cases: a case and its task rows may have no pupil

The årshjul (the unit's quality work) and a BUS avvikelse (de-identified) run as cases of a school unit,
with no pupil record: `cases.pupil_id` and `tasks.pupil_id` become nullable. The unit was already on both.
On SQLite the tables are rebuilt (engine/storage/schema.py switches foreign-key checks off meanwhile).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('pupil_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('pupil_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Only possible while no unit-level case exists: their rows have no pupil to give back.
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('pupil_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('pupil_id', existing_type=sa.Integer(), nullable=False)
