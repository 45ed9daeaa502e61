"""service_status: when the scheduler last ran a round and when `audit verify` last ran (and its verdict),
for the readiness check and the metrics

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 05:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_status',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.String(length=500), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('service_status')
