"""routine drafts: process owners' unpublished edits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:40:00.000000
"""
from alembic import op
import sqlalchemy as sa



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routine_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('base_version_id', sa.Integer(), nullable=True),
    sa.Column('main_file', sa.String(length=200), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['base_version_id'], ['process_versions.id'], name=op.f('fk_routine_drafts_base_version_id_process_versions')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_routine_drafts_created_by_users')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_routine_drafts_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routine_drafts'))
    )
    with op.batch_alter_table('routine_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routine_drafts_key'), ['key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('routine_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routine_drafts_key'))

    op.drop_table('routine_drafts')
