"""cases.diary_organiser and cases.diary_number: every case's diarienummer, the organiser's running number
of the year given when the case starts (engine/org/diary.py); diary_counters: the last number per
organiser and year. Cases that exist already are numbered here, in the order they were started.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:30:00.000000
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diary_counters',
                    sa.Column('organiser', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('last', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('organiser', 'year', name=op.f('pk_diary_counters')))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('diary_organiser', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('diary_number', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint('uq_cases_diary_number', ['diary_organiser', 'diary_number'])
    _number_existing_cases()


def _number_existing_cases() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, c.started_at, u.organiser_id FROM cases c JOIN school_units u ON u.id = c.unit_id "
        "ORDER BY c.started_at, c.id")).all()
    last: dict[tuple[int, int], int] = {}
    stockholm = ZoneInfo("Europe/Stockholm")
    for case_id, started_at, organiser in rows:
        if isinstance(started_at, str):  # SQLite hands the stored text back
            started_at = datetime.fromisoformat(started_at)
        if started_at.tzinfo is None:  # stored as UTC
            started_at = started_at.replace(tzinfo=timezone.utc)
        key = (organiser or 0, started_at.astimezone(stockholm).year)
        last[key] = last.get(key, 0) + 1
        bind.execute(sa.text("UPDATE cases SET diary_organiser = :o, diary_number = :n WHERE id = :id"),
                     {"o": key[0], "n": f"{key[1]}/{last[key]:04d}", "id": case_id})
    for (organiser, year), seq in last.items():
        bind.execute(sa.text("INSERT INTO diary_counters (organiser, year, last) VALUES (:o, :y, :s)"),
                     {"o": organiser, "y": year, "s": seq})


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint('uq_cases_diary_number', type_='unique')
        batch_op.drop_column('diary_number')
        batch_op.drop_column('diary_organiser')
    op.drop_table('diary_counters')
