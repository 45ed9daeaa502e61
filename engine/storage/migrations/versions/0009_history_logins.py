"""history-independent background work; login attempts that are refused or unfinished

Open tasks' notices get a partial index; closed tasks' working aids are deleted. Login attempts may be
unfinished (success NULL: the password check was cut off) or refused by the limit (not a failure).

The scheduler's deadline-notice claim looked for the earliest notice_at among every task row, closed ones
included; a partial index over open tasks keeps it one index entry however many tasks were closed. The
step that closes a task now deletes its drafts and follow-up dates, so those left over from before are
deleted here once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
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
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.alter_column('success', existing_type=sa.Boolean(), nullable=True)
        batch_op.add_column(sa.Column('refused', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))


def downgrade() -> None:
    op.execute("UPDATE login_attempts SET success = false WHERE success IS NULL")
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_column('refused')
        batch_op.alter_column('success', existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_notice_open', postgresql_where=sa.text("state = 'ready'"),
                            sqlite_where=sa.text("state = 'ready'"))
        batch_op.create_index('ix_tasks_notice_at', ['notice_at'], unique=False)
