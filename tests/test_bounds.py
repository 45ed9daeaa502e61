"""The engine's bounds on what a routine can make it do (issue 13): evaluation workers with kernel limits,
timers and due rules, loops and steps, deploy-time checks of every expression, and deploying large or
differently encoded diagrams."""
from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from bpmn_builder import FORM, process, user_task
from click.testing import CliRunner
from conftest import FIXTURES, ready

from elevflow.cli import main
from elevflow.engine import DefinitionError, SandboxError, complete_task, deploy, start_case
from elevflow.engine.expressions.deadlines import check as check_due_rule
from elevflow.engine.expressions.deadlines import due_at
from elevflow.engine.expressions.sandbox import is_cheap
from elevflow.engine.routines.validation import validate

FORMS = {"svar.json": FORM}


def evaluate(evaluator, source: str, data: dict | None = None):
    return evaluator.script_engine.environment.evaluate(source, dict(data or {}))


# --- evaluation workers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "limit"), [
    ("round(1, -10**9) == 0", "took too long"),
    ("[[0] * 100000] * 100000 == [[0] * 100000] * 100000", "took too long"),
    ("len(list(zip(*[[1] * 100000] * 100000))) > 0", "MB of memory"),
])
def test_an_evaluation_that_overruns_costs_one_worker_which_is_replaced(evaluator, source, limit):
    pool = evaluator.pool()
    replaced = pool.replaced
    with pytest.raises(SandboxError, match=limit):
        evaluate(evaluator, source)
    assert pool.replaced == replaced + 1
    assert evaluate(evaluator, "sum([a, 2])", {"a": 1}) == 3  # the next evaluation has a fresh worker


def test_a_worker_answers_with_the_sandbox_s_own_errors_and_the_caller_s_clock(evaluator):
    with pytest.raises(SandboxError, match="too long"):
        evaluate(evaluator, "'a' * n", {"n": 10**6})
    with time_machine.travel(datetime(2031, 3, 4, 12, tzinfo=timezone.utc), tick=False):
        assert evaluate(evaluator, "today()") == "2031-03-04"  # the worker runs at its caller's moment
    data = {"a": 1}
    evaluator.script_engine.environment.execute("b = a + 1\ndel a", data)
    assert data == {"b": 2}


@pytest.mark.parametrize(("source", "cheap"), [
    ("beslut == 'atgardsprogram'", True), ("not anmalan_direkt and elev['klass'] == '7B'", True),
    ("x in ['a', 'b']", True), ("x in y", False), ("len(x) > 0", False), ("a + 1 > 2", False),
    ("round(1, -10**9) == 0", False), ("[a for a in x]", False), ("x[1:]", False),
])
def test_only_provably_cheap_expressions_run_in_the_server_s_process(source, cheap):
    assert is_cheap(source) is cheap


def test_a_forked_process_gets_its_own_workers_and_none_are_left_behind(evaluator):
    assert evaluate(evaluator, "abs(-2)") == 2
    parent = evaluator.pool()
    child = os.fork()
    if child == 0:  # as a gunicorn worker forked after the app was loaded
        try:
            ok = evaluate(evaluator, "abs(-3)") == 3 and evaluator.pool() is not parent
            evaluator.close_pool()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert evaluate(evaluator, "abs(-4)") == 4  # the parent's workers were not touched
    pids = [worker.process.pid for worker in parent._idle]
    evaluator.close_pool()
    for pid in pids:  # every worker was reaped: no zombie is left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert pids and evaluator.pool() is not parent
    assert evaluate(evaluator, "abs(-5)") == 5  # and a new pool starts on demand


def test_a_worker_killed_from_outside_is_replaced(evaluator):
    pool = evaluator.pool()
    assert evaluate(evaluator, "abs(-1)") == 1
    for worker in list(pool._idle):
        os.kill(worker.process.pid, signal.SIGKILL)
    assert evaluate(evaluator, "abs(-6)") == 6


# --- timers, due rules, loops and steps -------------------------------------------------------------------

def test_durations_and_dates_longer_than_the_organiser_allows_are_refused():
    assert "at most 10 years" in str(check_due_rule("P999999999Y"))  # a coded message, said in English
    assert check_due_rule("P9Y") is None
    assert "at most 1 years" in str(check_due_rule("P2Y", years=1))  # ELEVFLOW_MAX_TIMER_YEARS=1
    with pytest.raises(Exception, match="ELEVFLOW_MAX_TIMER_YEARS"):  # a rule deployed before the change
        due_at("P2Y", datetime(2026, 12, 1, tzinfo=timezone.utc), years=1)


def test_a_computed_timer_beyond_the_bound_stops_the_case_with_a_recorded_error(engine, people):
    body = user_task() + """
    <bpmn:sequenceFlow id="Flow_t" sourceRef="Task_1" targetRef="Timer_1"/>
    <bpmn:intermediateCatchEvent id="Timer_1"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">iso_duration(days=dagar)</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Timer_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    deploy(engine, {"t.bpmn": process(body)}, FORMS)
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.teacher, data={"dagar": 10**7})
    task = ready(engine, case.id)[0]
    with pytest.raises(SandboxError, match="too long for a timer"):
        complete_task(engine, task.id, {"svar": "ja"}, by=people.teacher)
    assert ready(engine, case.id)[0].id == task.id
    with engine.db.read() as s:
        from elevflow.engine.storage.models import Case, Timer
        assert "too long for a timer" in s.get(Case, case.id).error
        assert s.query(Timer).count() == 0


def test_a_failed_timer_step_is_recorded_on_its_case(engine, people):
    body = user_task() + """
    <bpmn:boundaryEvent id="Timer_1" attachedToRef="Task_1"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1D</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_t" sourceRef="Timer_1" targetRef="Script_1"/>
    <bpmn:scriptTask id="Script_1"><bpmn:script>x = round(1, -10**9)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_x" sourceRef="Script_1" targetRef="End_1"/>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    deploy(engine, {"t.bpmn": process(body)}, FORMS)
    case = start_case(engine, "testprocess", pupil_id=people.pupil, by=people.teacher)
    from elevflow.engine.runtime.timers import fire_due
    from elevflow.engine.storage import audit
    from elevflow.engine.storage.models import Case
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=2), tick=False):
        assert fire_due(engine, limit=1) == 1
    with engine.db.read() as s:
        assert "took too long" in s.get(Case, case.id).error
    assert [e.kind for e in audit.events(engine, case_id=case.id)][-1] == "step_failed"
    assert len(ready(engine, case.id)) == 1  # the task is still open: the timer's step was rolled back


def test_every_expression_spiffworkflow_evaluates_is_checked_at_deploy():
    loop = """<bpmn:scriptTask id="Loop_1"><bpmn:standardLoopCharacteristics>
      <bpmn:loopCondition>{0}</bpmn:loopCondition></bpmn:standardLoopCharacteristics>
      <bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>"""
    body = user_task() + """
    <bpmn:sequenceFlow id="Flow_l" sourceRef="Task_1" targetRef="Loop_1"/>""" + loop.format(
        "n.__class__") + """
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Loop_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    with pytest.raises(DefinitionError) as refused:
        validate({"t.bpmn": process(body)}, {}, FORMS)
    assert [(p.element_id, "loop condition refused" in p.message) for p in refused.value.problems] == [
        ("Loop_1", True)]


# --- large diagrams and encodings ------------------------------------------------------------------------

def _wide(tasks: int) -> str:
    refs = tuple(f"T{i}" for i in range(tasks))
    body = '<bpmn:parallelGateway id="G"/><bpmn:parallelGateway id="J"/>' + "".join(
        f'<bpmn:userTask id="T{i}"/><bpmn:sequenceFlow id="A{i}" sourceRef="G" targetRef="T{i}"/>'
        f'<bpmn:sequenceFlow id="B{i}" sourceRef="T{i}" targetRef="J"/>' for i in range(tasks))
    return process(body + '<bpmn:sequenceFlow id="F_e" sourceRef="J" targetRef="E"/><bpmn:endEvent id="E"/>',
                   lane_nodes=refs).replace('targetRef="Task_1"', 'targetRef="G"')


def test_a_large_diagram_is_checked_and_a_too_deep_one_is_a_clear_problem():
    validate({"wide.bpmn": _wide(3000)}, {}, {})  # timed in benchmarks/deploy_check.py
    chain = "".join(f'<bpmn:task id="Task_{i}"/><bpmn:sequenceFlow id="F{i}" sourceRef="Task_{i}" '
                    f'targetRef="Task_{i + 1}"/>' for i in range(1, 3000)) + '<bpmn:task id="Task_3000"/>'
    with pytest.raises(DefinitionError) as refused:
        validate({"deep.bpmn": process(chain, lane=None)}, {}, {})
    assert "cannot read a process this deep" in str(refused.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "iso-8859-1", "utf-8-sig"])
def test_a_bpmn_file_in_the_encoding_it_declares_deploys_from_the_command_line(db_url, tmp_path, encoding):
    xml = (FIXTURES / "stodkedja" / "stodkedja.bpmn").read_text(encoding="utf-8")
    declared = {"utf-8-sig": "UTF-8"}.get(encoding, encoding.upper().removesuffix("-LE").removesuffix("-BE"))
    xml = xml.replace('encoding="UTF-8"', f'encoding="{declared}"')
    folder = tmp_path / "rutin"
    (folder / "forms").mkdir(parents=True)
    (folder / "stodkedja.bpmn").write_bytes(xml.encode(encoding))
    for form in (FIXTURES / "stodkedja" / "forms").iterdir():
        (folder / "forms" / form.name).write_bytes(form.read_bytes())
    result = CliRunner().invoke(main, ["--database", db_url, "deploy", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_an_encoding_that_cannot_be_read_is_a_clear_problem(db_url, tmp_path):
    (tmp_path / "r.bpmn").write_bytes(b'<?xml version="1.0" encoding="x-klingon"?><bpmn:definitions/>')
    result = CliRunner().invoke(main, ["--database", db_url, "deploy", str(tmp_path)])
    assert result.exit_code == 1 and "x-klingon" in result.output and "save it as UTF-8" in result.output
    (tmp_path / "r.bpmn").write_bytes('<?xml version="1.0"?><x>å</x>'.encode("latin-1"))
    result = CliRunner().invoke(main, ["--database", db_url, "deploy", str(tmp_path)])
    assert result.exit_code == 1 and "not valid utf-8 text" in result.output

