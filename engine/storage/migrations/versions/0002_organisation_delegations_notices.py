"""organisation, delegations, notices, notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:32:44.347555
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guardians',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('protected_identity', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardians')),
    sa.UniqueConstraint('external_id', name=op.f('uq_guardians_external_id'))
    )
    op.create_table('outgoing_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_emails'))
    )
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.create_index('ix_outgoing_emails_unsent', ['send_after'], unique=False,
                              postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))

    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=100), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delegate_id'], ['users.id'], name=op.f('fk_delegations_delegate_id_users')),
    sa.ForeignKeyConstraint(['granted_by'], ['users.id'], name=op.f('fk_delegations_granted_by_users')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_delegations_revoked_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['school_units.id'], name=op.f('fk_delegations_unit_id_school_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegations'))
    )
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.create_index('ix_delegations_lookup', ['unit_id', 'delegate_id', 'decision'], unique=False)

    op.create_table('school_breaks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('first_day', sa.String(length=10), nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['school_units.id'], name=op.f('fk_school_breaks_unit_id_school_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_breaks'))
    )
    op.create_table('pupil_guardians',
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_pupil_guardians_guardian_id_guardians')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_pupil_guardians_pupil_id_pupils')),
    sa.PrimaryKeyConstraint('pupil_id', 'guardian_id', name=op.f('pk_pupil_guardians'))
    )
    with op.batch_alter_table('pupil_guardians', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pupil_guardians_guardian_id'), ['guardian_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Uuid(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mentor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False))
        batch_op.add_column(sa.Column('protected_identity', sa.Boolean(), server_default=sa.text('(false)'),
                                      nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_pupils_mentor_id_users'), 'users', ['mentor_id'], ['id'])

    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=50), server_default='manual', nullable=False))

    with op.batch_alter_table('school_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_school_units_external_id'), ['external_id'])

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('notice_level', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_tasks_notice_at'), ['notice_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('eppn', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('daily_digest', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))
        batch_op.add_column(sa.Column('last_digest_on', sa.String(length=10), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_eppn'), ['eppn'])
        batch_op.create_unique_constraint(batch_op.f('uq_users_external_id'), ['external_id'])



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_external_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_users_eppn'), type_='unique')
        batch_op.drop_column('last_digest_on')
        batch_op.drop_column('daily_digest')
        batch_op.drop_column('eppn')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_notice_at'))
        batch_op.drop_column('notice_level')
        batch_op.drop_column('notice_at')

    with op.batch_alter_table('school_units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_school_units_external_id'), type_='unique')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.drop_column('source')

    with op.batch_alter_table('pupils', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pupils_mentor_id_users'), type_='foreignkey')
        batch_op.drop_column('protected_identity')
        batch_op.drop_column('active')
        batch_op.drop_column('mentor_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')

    op.drop_table('notifications')
    with op.batch_alter_table('pupil_guardians', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pupil_guardians_guardian_id'))

    op.drop_table('pupil_guardians')
    op.drop_table('school_breaks')
    with op.batch_alter_table('delegations', schema=None) as batch_op:
        batch_op.drop_index('ix_delegations_lookup')

    op.drop_table('delegations')
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_emails_unsent', postgresql_where=sa.text('sent_at IS NULL'),
                            sqlite_where=sa.text('sent_at IS NULL'))

    op.drop_table('outgoing_emails')
    op.drop_table('guardians')
