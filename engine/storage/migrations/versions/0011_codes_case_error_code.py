"""cases.error_code: why a case's last step failed, as a code of engine.codes with its parameters (JSON), so
the case page says it in the reader's language; cases.error keeps the English text

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('error_code')
