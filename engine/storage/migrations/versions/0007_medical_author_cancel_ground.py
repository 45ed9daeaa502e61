"""medical authorship of a task's data; the ground a case was cancelled on (issue 12, points 4 and 8)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('medical_author', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_ground', sa.String(length=40), nullable=True))
    # Tasks already completed by someone who holds a medical role at the unit now: theirs.
    op.execute("""UPDATE tasks SET medical_author = true WHERE completed_by IS NOT NULL AND EXISTS (
        SELECT 1 FROM role_assignments r WHERE r.user_id = tasks.completed_by AND r.unit_id = tasks.unit_id
        AND r.role IN ('skolskoterska', 'skollakare'))""")


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('cancel_ground')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('medical_author')
