"""Cancelling a support case once it has been reported to the rektor (who may not refuse to have it
investigated, 3 kap. 7 § skollagen) is refused, except on the grounds the routine lists — the pupil moved,
or a duplicate — which are recorded on the case, told to the huvudman and counted in the quality figures.

Scenario tests through the engine API and the CLI on a controlled clock, everyone in their lane.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import routine_scenarios as rs
import time_machine
from click.testing import CliRunner
from routine_walks import drive
from test_routines import START, build_school, ready_tasks

from elevflow.cli import main
from elevflow.engine import PermissionDeniedError, cancel_case, get_case
from elevflow.engine.expressions.terms import Term
from elevflow.engine.oversight import quality
from elevflow.engine.oversight.quality import Selection
from elevflow.engine.storage import audit
from elevflow.engine.work import notify


def test_a_case_not_yet_reported_may_be_cancelled_for_any_reason(engine):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, rs.SS, "Task_anmalan_rektor")
        ended = cancel_case(engine, task.case_id, by=school.users["rektor"], reason="Anpassningarna räckte")
    assert (ended.status, ended.cancel_ground) == ("cancelled", None)


def test_a_reported_case_is_cancelled_only_on_a_listed_ground_which_is_recorded_told_and_counted(engine):
    school = build_school(engine, ["sarskilt_stod"])
    rektor, huvudman = school.users["rektor"], school.users["huvudman"]
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, rs.SS, "Task_pedagogisk_kartlaggning")
        case_id = task.case_id
        for ground in (None, "for_mycket_arbete"):
            with pytest.raises((PermissionDeniedError, ValueError)) as refused:
                cancel_case(engine, case_id, by=rektor, reason="Vi hinner inte utreda", ground=ground)
            assert "elev_flyttat" in str(refused.value) or "unknown ground" in str(refused.value)
        assert get_case(engine, case_id).status == "running"  # refused: nothing changed
        assert [t.id for t in ready_tasks(engine, case_id)] == [task.id]
        assert notify.unread(engine, huvudman) == []

        ended = cancel_case(engine, case_id, by=rektor, reason="Familjen har flyttat till Malmö",
                            ground="elev_flyttat")
        now = datetime.now(timezone.utc)
    assert (ended.status, ended.cancel_ground) == ("cancelled", "elev_flyttat")
    [event] = [e for e in audit.events(engine, case_id=case_id) if e.kind == "case_cancelled"]
    assert event.data == {"reason": "Familjen har flyttat till Malmö", "ground": "elev_flyttat"}

    [told] = notify.unread(engine, huvudman)
    assert told.line() == (f"Ärende {case_id} avbröts efter anmälan till rektor: eleven har flyttat från "
                           "skolenheten.")
    assert all(n.kind != "case_cancelled" for n in notify.unread(engine, school.users["teacher"]))

    term = Term.of(now)
    for who, value in (("rektor", 1), ("huvudman", None)):  # the huvudman sees a small count as hidden
        scope = quality.scope_for(engine, school.users[who])
        dash = quality.dashboard(engine, scope, Selection(term, tuple(scope.units), as_of=now))
        [series] = [s for s in dash.counts if s.key == "avbrutna_efter_anmalan"]
        [grounds] = [b for b in dash.breakdowns if b.key == "avbrytande_grund"]
        assert series.by_term[term.key].value == value
        assert grounds.parts["elev_flyttat"].value == value and grounds.parts["dubblett"].value == 0
        assert series.by_term[term.key].suppressed == (value is None)


def test_the_command_line_asks_for_the_ground_once_the_case_is_reported(engine, db_url):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, rs.SS, "Task_prova_utredning")
    runner = CliRunner()
    base = ["--database", db_url, "cancel", str(task.case_id), "--as", "rektor",
            "--reason", "Dubbelregistrerat"]
    refused = runner.invoke(main, base)
    assert refused.exit_code == 2 and "elev_flyttat" in refused.output, refused.output  # names the grounds
    assert get_case(engine, task.case_id).status == "running"
    done = runner.invoke(main, [*base, "--ground", "dubblett"])
    assert done.exit_code == 0, done.output
    assert get_case(engine, task.case_id).cancel_ground == "dubblett"
