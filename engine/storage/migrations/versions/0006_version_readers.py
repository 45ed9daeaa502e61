"""version readers: the roles that see every case of a routine version at its unit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa



revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The unit-wide readers every version had until now: the rektor and the student health team.
DEFAULT_READERS = ("rektor", "specialpedagog", "speciallarare", "kurator", "skolskoterska", "skollakare",
                   "skolpsykolog", "elevhalsopersonal")


def upgrade() -> None:
    readers = op.create_table('version_readers',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], name=op.f('fk_version_readers_version_id_process_versions')),
    sa.PrimaryKeyConstraint('version_id', 'role', name=op.f('pk_version_readers'))
    )
    versions = [row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM process_versions"))]
    if versions:
        op.bulk_insert(readers, [{"version_id": v, "role": r} for v in versions for r in DEFAULT_READERS])


def downgrade() -> None:
    op.drop_table('version_readers')
