"""a school unit's postal address and a pupil's birth date

The appeal instructions on a decision say where to send the appeal: the school unit's postal address.
The delivery form proposes the pupil as a recipient from 16 (29 kap. 12 § skollagen): the birth date.
Both come from SS 12000 (Organisation.address, Person.birthDate) and may be unknown.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 00:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('school_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postal_address', sa.Text(), nullable=True))
    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.drop_column('birth_date')
    with op.batch_alter_table('school_units', schema=None) as batch_op:
        batch_op.drop_column('postal_address')
