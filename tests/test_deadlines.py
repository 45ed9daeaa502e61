"""Deadlines on the Swedish school calendar: business days, holidays, breaks, reminders, escalation."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from elevflow.engine import list_tasks, start_case
from elevflow.engine.expressions.deadlines import due_at, load_config, offset
from elevflow.engine.expressions.helpers import business_days_add, business_days_between
from elevflow.engine.expressions.holidays import easter_sunday, public_holidays
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import AuditEvent, Notification, SchoolBreak, TaskRow
from elevflow.engine.work import notices


@pytest.mark.parametrize("year, easter", [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                          (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
                                          (2038, date(2038, 4, 25))])
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_the_swedish_public_holidays_of_2026():
    days = public_holidays(2026)
    assert days[date(2026, 4, 3)] == "Långfredagen" and days[date(2026, 4, 6)] == "Annandag påsk"
    assert days[date(2026, 5, 14)] == "Kristi himmelsfärdsdag"
    assert days[date(2026, 6, 19)] == "Midsommarafton" and days[date(2026, 6, 20)] == "Midsommardagen"
    assert days[date(2026, 10, 31)] == "Alla helgons dag"
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 31)} <= set(days)
    assert len(days) == 16


@pytest.mark.parametrize("start, n, expected", [
    ("2026-12-23", 1, "2026-12-28"),   # julafton, juldagen, annandag jul (a Saturday) and Sunday skipped
    ("2026-12-30", 1, "2027-01-04"),   # nyårsafton, nyårsdagen, weekend
    ("2027-01-05", 1, "2027-01-07"),   # trettondedag jul
    ("2026-04-02", 1, "2026-04-07"),   # långfredagen, påsk, annandag påsk
    ("2026-05-13", 1, "2026-05-15"),   # Kristi himmelsfärd
    ("2026-06-18", 1, "2026-06-22"),   # midsommarafton
    ("2026-06-05", 1, "2026-06-08"),   # nationaldagen is a Saturday in 2026
    ("2027-06-04", 1, "2027-06-07"),
    ("2026-12-21", 5, "2026-12-30"),   # 22, 23, 28, 29, 30
    ("2027-01-04", -1, "2026-12-30"),
])
def test_business_days_skip_weekends_and_holidays(start, n, expected):
    assert business_days_add(start, n) == expected
    if n > 0:
        assert business_days_between(start, expected) == n


def test_due_rules_count_business_days_across_holidays_and_keep_the_time_of_day():
    start = datetime(2026, 12, 22, 13, 30, tzinfo=timezone.utc)
    # 23, 28, 29, 30 December, then 4 January (31 Dec, 1 Jan and the weekend are not work days)
    assert due_at("5BD", start) == datetime(2027, 1, 4, 13, 30, tzinfo=timezone.utc)
    assert due_at("P1W", start) == datetime(2026, 12, 29, 13, 30, tzinfo=timezone.utc)
    assert offset(datetime(2027, 1, 7, 9, 0, tzinfo=timezone.utc), "2BD", -1) == \
        datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)


def test_a_school_break_pauses_business_days_for_its_unit_only(engine, people, chain):
    with engine.db.write() as s:
        s.add(SchoolBreak(unit_id=people.unit, name="Sportlov", first_day="2027-02-22",
                          last_day="2027-02-26"))
    engine.breaks.refresh()
    off = engine.breaks.is_off(people.unit)
    start = datetime(2027, 2, 19, 10, 0, tzinfo=timezone.utc)  # a Friday before the break
    assert due_at("1BD", start, off).date() == date(2027, 3, 1)
    assert due_at("1BD", start, engine.breaks.is_off(people.other_unit)).date() == date(2027, 2, 22)


def test_a_task_due_in_business_days_skips_its_units_break(engine, people, tmp_path, monkeypatch):
    rules = tmp_path / "frister.toml"
    rules.write_text('[stodkedja]\nTask_anmalan = "2BD"\n', encoding="utf-8")
    monkeypatch.setattr(engine, "deadlines", load_config(rules))
    from conftest import FIXTURES

    from elevflow.engine import deploy_path
    deploy_path(engine, FIXTURES / "stodkedja", shared_dir=FIXTURES / "none")
    with engine.db.write() as s:
        s.add(SchoolBreak(unit_id=None, name="Höstlov", first_day="2026-11-02", last_day="2026-11-06"))
    engine.breaks.refresh()
    with time_machine.travel(datetime(2026, 10, 30, 8, 0, tzinfo=timezone.utc), tick=False):  # Friday
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    # the break's weekdays do not count: Monday 9 and Tuesday 10 November are the two business days
    assert task.due_at == datetime(2026, 11, 10, 8, 0, tzinfo=timezone.utc)


POLICY = """
[policy]
remind_before = "2BD"
escalate_after = "1BD"
escalate_to_huvudman_after = "5BD"

[policy.stodkedja.Task_anmalan]
remind_before = "1BD"
"""


def notes(engine, user_id):
    with engine.db.read() as s:
        return [n.kind for n in s.scalars(select(Notification).where(Notification.user_id == user_id)
                                          .order_by(Notification.id))]


def test_reminder_then_escalation_to_rektor_then_huvudman(engine, people, chain, tmp_path, monkeypatch):
    rules = tmp_path / "frister.toml"
    rules.write_text(POLICY, encoding="utf-8")
    monkeypatch.setattr(engine, "deadlines", load_config(rules))
    with engine.db.write() as s:
        boss = org.add_user(s, "huvudman", "Hanna Huvudman")
        org.assign_role(s, boss.id, people.unit, "huvudman")
        boss_id = boss.id
    # Monday 09:00; the report is due in a week (P1W): Monday 30 Nov 09:00
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    with engine.db.read() as s:
        row = s.get(TaskRow, task.id)
    assert row.notice_at == datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)  # 1BD before: Friday
    with time_machine.travel(datetime(2026, 11, 27, 8, 59, tzinfo=timezone.utc), tick=False):
        assert notices.fire_due(engine) == 0
    with time_machine.travel(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), tick=False):
        assert notices.fire_due(engine) == 1
    # unclaimed: everyone the Lärare lane serves at the unit is reminded, nobody else
    assert notes(engine, people.teacher) == ["reminder"] and notes(engine, people.mentor) == ["reminder"]
    assert notes(engine, people.rektor) == [] and notes(engine, people.outsider) == []
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc), tick=False):  # due + 1BD
        assert notices.fire_due(engine) == 1
    assert notes(engine, people.rektor) == ["escalation"] and notes(engine, boss_id) == []
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc), tick=False):  # due + 5BD
        assert notices.fire_due(engine) == 1
        assert notices.fire_due(engine) == 0  # nothing more, ever
    assert notes(engine, boss_id) == ["escalation"]
    with engine.db.read() as s:
        trail = [(e.kind, e.data["to"]) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind.in_(["deadline_reminder", "deadline_escalated"]))
            .order_by(AuditEvent.seq))]
    assert trail == [("deadline_reminder", "holder"), ("deadline_escalated", "rektor"),
                     ("deadline_escalated", "huvudman")]


def test_a_completed_task_is_not_reminded(engine, people, chain):
    from elevflow.engine import complete_task
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id,
                      {"anmalan_datum": "2026-11-23", "beskrivning": "Läser långsamt, tappar fokus."},
                      by=people.teacher)
    with time_machine.travel(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc), tick=False):
        notices.fire_due(engine)
    assert notes(engine, people.teacher) == [] and notes(engine, people.mentor) == []


def test_notices_missed_while_everything_was_down_catch_up(engine, people, chain):
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    with time_machine.travel(datetime(2027, 1, 20, tzinfo=timezone.utc), tick=False):
        assert notices.fire_due(engine) == 3  # reminder, then both escalations, in order


def test_a_policy_file_with_a_bad_rule_or_key_is_refused(tmp_path):
    bad = tmp_path / "f.toml"
    bad.write_text('[policy]\nremind_before = "snart"\n', encoding="utf-8")
    with pytest.raises(Exception, match="policy.remind_before"):
        load_config(bad)
    bad.write_text('[policy]\nremind_efter = "2BD"\n', encoding="utf-8")
    with pytest.raises(Exception, match="remind_efter"):
        load_config(bad)


def test_breaks_are_recorded_from_the_command_line_and_deadlines_follow(engine, db_url, people):
    from click.testing import CliRunner

    from elevflow.cli import main
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--database", db_url, "breaks", *args])

    assert run("add", "Sportlov", "2027-02-22", "2027-02-26", "--unit", "10000001").exit_code == 0
    bad = run("add", "Sportlov", "2027-02-26", "2027-02-22")
    assert bad.exit_code == 2 and "ends" in bad.output
    assert run("add", "Lov", "2027-02-22", "2027-02-26", "--unit", "999").exit_code != 0
    listed = run("list").output
    assert "Sportlov" in listed and "Ekskolan" in listed
    engine.breaks.refresh()
    start = datetime(2027, 2, 19, 10, 0, tzinfo=timezone.utc)
    assert due_at("1BD", start, engine.breaks.is_off(people.unit)).date() == date(2027, 3, 1)
    break_id = listed.split()[0]
    assert run("remove", break_id).exit_code == 0
    engine.breaks.refresh()
    assert due_at("1BD", start, engine.breaks.is_off(people.unit)).date() == date(2027, 2, 22)


def test_a_deadline_counted_from_a_date_ends_at_23_59_swedish_time_of_its_day():
    from elevflow.engine.expressions.deadlines import due_from
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    # winter (UTC+1) and summer (UTC+2): the task is late only once its day is over in Sweden
    assert due_from("P0D", "2026-12-07", now) == datetime(2026, 12, 7, 22, 59, tzinfo=timezone.utc)
    assert due_from("P0D", "2026-06-10", now) == datetime(2026, 6, 10, 21, 59, tzinfo=timezone.utc)
    assert due_from("P3W", "2026-12-01", now) == datetime(2026, 12, 22, 22, 59, tzinfo=timezone.utc)
    assert due_from("2BD", "2026-12-23", now) == datetime(2026, 12, 29, 22, 59, tzinfo=timezone.utc)
    # a moment stays a moment; no dueFrom value counts from now
    assert due_from("P1D", "2026-12-07T10:15:00+01:00", now) == datetime(2026, 12, 8, 9, 15,
                                                                           tzinfo=timezone.utc)
    assert due_from("P1W", None, now) == datetime(2026, 12, 8, 9, 0, tzinfo=timezone.utc)


def test_a_task_that_opens_with_its_deadline_near_is_not_reminded_but_still_escalated(engine, people,
                                                                                       tmp_path, monkeypatch):
    from bpmn_builder import FORM, one_task

    from elevflow.engine import deploy
    rules = tmp_path / "frister.toml"
    rules.write_text(POLICY, encoding="utf-8")
    monkeypatch.setattr(engine, "deadlines", load_config(rules))
    deploy(engine, {"t.bpmn": one_task(due="P1D")}, {"svar.json": FORM})
    # Monday 09:00, due Tuesday 09:00: inside the two business days' reminder window from the start
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), tick=False):
        start_case(engine, "testprocess", pupil_id=people.pupil, by=people.teacher)
    with time_machine.travel(datetime(2026, 11, 23, 9, 1, tzinfo=timezone.utc), tick=False):
        notices.fire_due(engine)
    assert notes(engine, people.teacher) == [] and notes(engine, people.mentor) == []
    with time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc), tick=False):  # due + 1BD
        assert notices.fire_due(engine) == 1
    assert notes(engine, people.rektor) == ["escalation"] and notes(engine, people.teacher) == []
