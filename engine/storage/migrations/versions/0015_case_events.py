"""case_events: the outbox of messages and signals a case throws for other cases (runtime/crosscase.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sender_case_id', sa.Integer(), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=True),
    sa.Column('correlations', sa.JSON(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keep_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('receivers', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['organiser_id'], ['organisers.id'], name=op.f('fk_case_events_organiser_id_organisers')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_case_events_pupil_id_pupils')),
    sa.ForeignKeyConstraint(['sender_case_id'], ['cases.id'], name=op.f('fk_case_events_sender_case_id_cases')),
    sa.ForeignKeyConstraint(['unit_id'], ['school_units.id'], name=op.f('fk_case_events_unit_id_school_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_sender_case_id'), ['sender_case_id'], unique=False)
        batch_op.create_index('ix_case_events_pending', ['id'], unique=False,
                              postgresql_where=sa.text('delivered_at IS NULL'),
                              sqlite_where=sa.text('delivered_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_pending')
        batch_op.drop_index(batch_op.f('ix_case_events_sender_case_id'))
    op.drop_table('case_events')
