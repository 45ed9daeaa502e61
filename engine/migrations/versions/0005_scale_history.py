"""history-independent background work: open tasks' notices in a partial index; closed tasks' working aids gone

The scheduler's deadline-notice claim looked for the earliest notice_at among every task row, closed ones
included; a partial index over open tasks keeps it one index entry however many tasks were closed. The
step that closes a task now deletes its drafts and follow-up dates, so those left over from before are
deleted here once.

Revision ID: 0005_scale
Revises: 0004
Create Date: 2026-12-05 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_scale'
down_revision = '0004'
branch_labels = None
depends_on = None

CLOSED = "SELECT id FROM tasks WHERE state <> 'ready'"


def upgrade() -> None:
    op.execute(f"DELETE FROM task_drafts WHERE task_id IN ({CLOSED})")
    op.execute(f"DELETE FROM follow_ups WHERE task_id IN ({CLOSED})")
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_notice_at')
        batch_op.create_index('ix_tasks_notice_open', ['notice_at'], unique=False,
                              postgresql_where=sa.text("state = 'ready'"),
                              sqlite_where=sa.text("state = 'ready'"))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_notice_open', postgresql_where=sa.text("state = 'ready'"),
                            sqlite_where=sa.text("state = 'ready'"))
        batch_op.create_index('ix_tasks_notice_at', ['notice_at'], unique=False)
