"""Every shipped routine walked through the engine API, along every branch, timer and appeal outcome.

The scenarios (tests/routine_scenarios.py) say which answers steer which path. Each walk runs on a
controlled clock: a day passes between steps, and where a scenario lets a timer run out the clock is moved
past the timer's due time and `engine.runtime.timers.fire_due` fires it, as the scheduler would. For every
task the
walk checks its lane role and assignee, that someone at the same unit without the right is refused, that
the right person has it in their inbox, and then completes it with form data built from the task's own
JSON Schema. At the end: the case completed at the expected end events, every decision was logged with its
signer, linked cases were started, and the audit chain is intact.

A coverage check then fails if any flow node of any shipped diagram is reached by no scenario.
"""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import routine_scenarios as rs
import time_machine
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from elevflow.cli import main
from elevflow.engine import (
    Engine,
    FormValidationError,
    PermissionDeniedError,
    case_data,
    complete_task,
    deploy_path,
    get_case,
    get_task,
    inbox,
    list_tasks,
    sign_decision,
    start_case,
    verify_audit,
)
from elevflow.engine.expressions.holidays import is_public_holiday
from elevflow.engine.expressions.sandbox import script_engine
from elevflow.engine.org import records as org
from elevflow.engine.runtime import timers
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage import audit, state
from elevflow.engine.storage.models import Case, Timer

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
SHARED = PROCESSES / "shared"
ROUTINES = sorted(p.name for p in PROCESSES.iterdir() if p.is_dir() and p.name != "shared")
START = datetime(2026, 1, 12, 7, 30, tzinfo=timezone.utc)  # a Monday morning
MAX_STEPS = 80
#: The boundary timers of the shipped diagrams and the task each sits on. The appeal window's timer is
#: non-interrupting and fires at the end of the latest last day (see `window_end`).
TIMERS = {"Timer_overklagandetid": "Task_registrera_overklagande"}
STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: Decision tasks: what the audit log must say was decided, and whether only the rektor may sign it.
DECISIONS = {
    "Task_beslut_atgardsprogram": ("atgardsprogram", False),
    "Task_beslut_ej_atgardsprogram": ("ej_atgardsprogram", False),
    "Task_beslut_avsluta": ("avslut_atgardsprogram", False),
    "Task_beslut_sarskild_undervisningsgrupp": ("sarskild_undervisningsgrupp", True),
    "Task_beslut_enskild_undervisning": ("enskild_undervisning", True),
    "Task_beslut_anpassad_studiegang": ("anpassad_studiegang", True),
    "Task_beslut_distansundervisning": ("distansundervisning", True),
    "Task_besluta_avvisning": ("avvisning_overklagande", False),
}


# ------------------------------------------------------------------------------------- the shipped diagrams
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODES = {"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent",
              "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "transaction", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}


@dataclass(frozen=True)
class Node:
    process: str  # the process (or embedded subprocess) the node belongs to, as SpiffWorkflow names it
    id: str
    kind: str
    file: str


def shipped_nodes() -> list[Node]:
    """Every flow node of every shipped diagram (lanes, flows and participants are not flow nodes)."""
    nodes = []
    for path in sorted(PROCESSES.glob("*/*.bpmn")):
        for element in etree.parse(str(path)).iter(f"{{{BPMN_NS}}}*"):
            kind = etree.QName(element).localname
            if kind not in FLOW_NODES:
                continue
            owner = next(a for a in element.iterancestors()
                         if etree.QName(a).localname in ("process", "subProcess", "transaction"))
            nodes.append(Node(owner.get("id"), element.get("id"), kind, f"{path.parent.name}/{path.name}"))
    return nodes


NODES = shipped_nodes()
PROCESS_OF = {n.id: n.process for n in NODES}
END_EVENTS = {n.id for n in NODES if n.kind == "endEvent"}


# ----------------------------------------------------------------------------------------------- the school
@dataclass
class School:
    unit: int
    pupil: int
    users: dict[str, int]  # username -> user id


def build_school(engine: Engine, routines: list[str]) -> School:
    """One school unit with a person in every role the routines' lanes need, a pupil, and the routines."""
    with engine.db.write() as s:
        kommun = org.add_organiser(s, "Exempelby kommun")
        unit = org.add_unit(s, "20000001", "Ekskolan", kommun.id)
        users = {}
        for username, role in rs.PEOPLE.items():
            user = org.add_user(s, username, username.title(), f"{username}@example.se")
            org.assign_role(s, user.id, unit.id, role)
            users[username] = user.id
        pupil = org.add_pupil(s, unit.id, "Alva", "Andersson", "7B")
        school = School(unit.id, pupil.id, users)
    for routine in routines:
        deploy_path(engine, PROCESSES / routine, shared_dir=SHARED)
    return school


def routines_for(scenario: rs.Scenario) -> list[str]:
    return [scenario.routine, *scenario.linked]


def start_for(engine: Engine, school: School, routine: str, by: int):
    """Start a case as the routine says: for the school's pupil, or (a unit-level routine) for its unit."""
    if routine in rs.UNIT_LEVEL:
        return start_case(engine, routine, unit_id=school.unit, by=by)
    return start_case(engine, routine, pupil_id=school.pupil, by=by)


# ------------------------------------------------------------------------------------------------ form data
def sample(schema: dict[str, Any], today: date) -> Any:
    """A valid value for one field of a form: the first choice, today's date, a short text, ..."""
    if "const" in schema:
        return schema["const"]
    if "oneOf" in schema:
        return schema["oneOf"][0]["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: sample(v, today) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema["items"], today) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "boolean":
        return False
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "string":
        if "pattern" in schema:
            raise AssertionError(f"a field with pattern {schema['pattern']!r} needs a value in the scenario")
        later = "dateAfter" in schema  # a date the form wants after another one (a follow-up)
        day = today + timedelta(days=30) if later else today
        return {"date": day.isoformat(), "date-time": datetime.now(timezone.utc).isoformat()}.get(
            schema.get("format"), "Anteckning")
    raise AssertionError(f"no sample for {schema}")


def form_data(form: dict[str, Any], answer: dict[str, Any], school: School) -> dict[str, Any]:
    """Complete, valid data for a form: the scenario's answer over a sample of every field."""
    today = datetime.now(timezone.utc).date()
    data = {k: sample(v, today) for k, v in form["properties"].items() if k not in answer}
    for key, value in answer.items():
        data[key] = school.users[value[1:]] if isinstance(value, str) and value.startswith("@") else value
    validator = Draft202012Validator(form, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [e.message for e in validator.iter_errors(data)]
    assert not errors, f"the scenario's data for {form['title']!r} is not valid: {errors}"
    return data


def answer_for(scenario: rs.Scenario | dict[str, Any], bpmn_id: str, visit: int, waited: bool = False) -> Any:
    """The answer for a step's `visit`; `(WAIT, answer)` is WAIT until the timer on the task has fired."""
    answers = scenario.answers if isinstance(scenario, rs.Scenario) else scenario
    answer = answers.get(bpmn_id, {})
    if isinstance(answer, list):
        answer = answer[min(visit, len(answer) - 1)]
    if isinstance(answer, tuple):
        answer = answer[1] if waited else rs.WAIT
    return answer


def next_step(scenario: rs.Scenario, ready: list[Any], seen: dict[Any, int],
              visits: Counter, waited: set | frozenset = frozenset()) -> tuple[Any, Any] | None:
    """The open task the scenario does next, with its answer; None when it waits for a timer first.

    `seen` numbers each task by how often its step had been reached before (so a step met again in a
    loop takes the scenario's next answer); `visits` counts the step's visits so far; `waited` holds the
    tasks whose timer has fired."""
    for task in sorted(ready, key=lambda t: (t.bpmn_id in scenario.defer, t.bpmn_id)):
        if task.id not in seen:
            seen[task.id] = visits[task.bpmn_id]
            visits[task.bpmn_id] += 1
        answer = answer_for(scenario, task.bpmn_id, seen[task.id], task.id in waited)
        if answer == rs.WAIT:
            return None
        return task, answer
    return None


# ------------------------------------------------------------------------------------------------- the walk
@dataclass
class Walk:
    case_id: int
    path: list[str]
    reached: set[tuple[str, str]]  # (process id, flow node id) of this case and the cases it started


def ready_tasks(engine: Engine, case_id: int):
    return list_tasks(engine, case_id=case_id, state="ready")


def timers_of(engine: Engine, case_id: int) -> list[Timer]:
    with engine.db.read() as s:
        return list(s.scalars(select(Timer).where(Timer.case_id == case_id)))


def do_task(engine: Engine, task, data: dict[str, Any], user_id: int) -> None:
    """Complete a task as `user_id`; a decision is signed (just re-authenticated), as it must be."""
    if task.bpmn_id in DECISIONS:
        sign_decision(engine, task.id, data, by=user_id, reauthenticated_at=datetime.now(timezone.utc))
    else:
        complete_task(engine, task.id, data, by=user_id)


def complete_as_the_right_person(engine: Engine, school: School, scenario: rs.Scenario, task, answer) -> None:
    """Check the task's lane and assignee, that a colleague without the right is refused, then do it."""
    assert task.role == rs.ROLE_OF[task.bpmn_id], task.bpmn_id
    assignee = rs.assignee(task.bpmn_id, scenario.started_by)
    assert task.assignee_id == (school.users[assignee] if assignee else None), task.bpmn_id
    user = assignee or scenario.by.get(task.bpmn_id) or rs.LANE_USER[task.role]
    refused = ("teacher" if assignee == "rektor" else "rektor") if assignee else rs.LANE_REFUSED[task.role]
    data = form_data(task_info(engine, task)["form"], answer, school)
    with pytest.raises(PermissionDeniedError):
        complete_task(engine, task.id, data, by=school.users[refused])
    assert task.id in {t.id for t in inbox(engine,
                                           school.users[user])}, f"{task.bpmn_id} not in {user}'s inbox"
    do_task(engine, task, data, school.users[user])


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def window_end(engine: Engine, case_id: int) -> datetime:
    """When the appeal window of the case's latest delivery closes, worked out here from its receipt
    dates: three weeks after each, a last day on a weekend or public holiday (the eves included) moved to
    the next weekday (lag 1930:173), open to the end of the latest such day in Swedish time."""
    delivered = [t for t in list_tasks(engine, case_id=case_id, state="completed")
                 if t.bpmn_id == "Task_delge_beslut"]
    last = max(date.fromisoformat(r["mottaget_datum"]) for r in delivered[-1].data["delgivning_mottagare"])
    last += timedelta(weeks=3)
    while last.weekday() >= 5 or is_public_holiday(last):
        last += timedelta(days=1)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=STOCKHOLM)


def let_the_timer_run_out(engine: Engine, clock: Any, case_id: int, waiting: list) -> tuple[str, Any]:
    """Nothing fires a minute before the window closes; a minute after, the scheduler fires it — and the
    registration stays open, since an appeal can be registered at any time. Returns the path step and the
    task the timer sat on."""
    [timer] = timers_of(engine, case_id)
    [task] = [t for t in waiting if t.bpmn_id == TIMERS[timer.bpmn_id]]
    assert utc(timer.due_at) == window_end(engine, case_id)
    clock.move_to(utc(timer.due_at) - timedelta(minutes=1))
    assert timers.fire_due(engine) == 0
    clock.move_to(utc(timer.due_at) + timedelta(minutes=1))
    assert timers.fire_due(engine) == 1
    assert get_task(engine, task.id).state == "ready"
    return f"timer:{timer.bpmn_id}", task.id


def reached_nodes(engine: Engine, case_ids: list[int]) -> set[tuple[str, str]]:
    """The flow nodes the cases reached: every COMPLETED task in their stored workflows (subprocesses
    included), plus what the audit log says was created, taken or fired."""
    found = set()
    with engine.db.read() as s:
        for case_id in case_ids:
            row = s.get(Case, case_id)
            parsed = engine.specs.get(row.process_version_id)
            workflow = state.load(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs,
                                  script_engine())
            tasks = [*workflow.tasks.values(),
                     *(t for sub in workflow.subprocesses.values() for t in sub.tasks.values())]
            found |= {(t.workflow.spec.name, t.task_spec.bpmn_id) for t in tasks
                      if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id}
    for case_id in case_ids:
        for event in audit.events(engine, case_id=case_id, limit=100_000):
            ids = [event.data.get("bpmn_id")] if event.kind in ("task_created", "timer_fired") else []
            if event.kind == "gateway_taken":
                ids = [event.data["bpmn_id"], *event.data["taken"]]
            found |= {(PROCESS_OF[i], i) for i in ids if i in PROCESS_OF}
    return found


def walk(engine: Engine, school: School, scenario: rs.Scenario) -> Walk:
    """Drive one case of the scenario's routine to its end through the engine API."""
    path: list[str] = []
    visits: Counter[str] = Counter()
    seen: dict[Any, int] = {}
    waited: set[Any] = set()
    with time_machine.travel(START, tick=False) as clock:
        starter = school.users[scenario.started_by]
        case = start_for(engine, school, scenario.routine, starter)
        for _ in range(MAX_STEPS):
            assert timers.fire_due(engine) == 0  # no timer falls due while people are at work
            ready = ready_tasks(engine, case.id)
            if not ready:
                break
            chosen = next_step(scenario, ready, seen, visits, waited)
            if chosen is None:
                step, task_id = let_the_timer_run_out(engine, clock, case.id, ready)
                path.append(step)
                waited.add(task_id)
                continue
            complete_as_the_right_person(engine, school, scenario, *chosen)
            path.append(chosen[0].bpmn_id)
            clock.shift(timedelta(days=1))
        else:
            pytest.fail(f"{scenario.id}: no end after {MAX_STEPS} steps: {path[-6:]}")
    with engine.db.read() as s:
        children = list(s.scalars(select(Case.id).where(Case.parent_case_id == case.id)))
    return Walk(case.id, path, reached_nodes(engine, [case.id, *children]))


#: scenario id -> reached nodes, from the walks on SQLite in this session (the coverage check fills gaps).
WALKED: dict[str, set[tuple[str, str]]] = {}


# -------------------------------------------------------------------------------------------- the scenarios
@pytest.mark.parametrize("scenario", rs.SCENARIOS, ids=[s.id for s in rs.SCENARIOS])
def test_routine_path(engine, scenario):
    """The scenario's case runs its expected path to its expected ends, as the right people do each step."""
    school = build_school(engine, routines_for(scenario))
    result = walk(engine, school, scenario)

    assert result.path == list(scenario.path)
    case = get_case(engine, result.case_id)
    assert case.status == "completed" and case.ended_at is not None
    assert ready_tasks(engine, case.id) == [] and timers_of(engine, case.id) == []
    assert {n for _, n in reached_nodes(engine, [case.id]) if n in END_EVENTS} == scenario.ends

    events = audit.events(engine, case_id=case.id, limit=100_000)
    done = [e.data["bpmn_id"] for e in events if e.kind == "task_completed"]
    assert done == [step for step in result.path if not step.startswith("timer:")]
    signed = [(e.data["decision"], e.data["non_delegable"], e.data["signer_id"])
              for e in events if e.kind == "decision_signed"]
    assert signed == [(*DECISIONS[t], school.users["rektor"]) for t in done if t in DECISIONS]
    assert [e.data["bpmn_id"] for e in events if e.kind == "timer_fired"] == \
        [step[len("timer:"):] for step in result.path if step.startswith("timer:")]

    with engine.db.read() as s:
        children = list(s.scalars(select(Case).where(Case.parent_case_id == case.id).order_by(Case.id)))
    assert [c.process_key for c in children] == list(scenario.linked)
    for child in children:
        assert (child.pupil_id, child.unit_id, child.status, child.started_by) == \
            (school.pupil, school.unit, "running", None)
        first = [(t.bpmn_id, t.role) for t in ready_tasks(engine, child.id)]
        assert first == [("Task_anmalan_rektor", "larare")]  # the report, not extra anpassningar
    assert [e.data["child_case_id"] for e in events if e.kind == "case_linked"] == [c.id for c in children]

    if scenario.data:
        data = case_data(engine, case.id)
        assert {k: data.get(k) for k in scenario.data} == scenario.data
    assert verify_audit(engine).ok
    if engine.db.dialect == "sqlite":
        WALKED[scenario.id] = result.reached


def walk_until(engine: Engine, school: School, routine: str, answers: dict[str, Any], stop_at: str):
    """Start a case and do its tasks (one open at a time) until `stop_at` is open; return that task."""
    case = start_for(engine, school, routine, school.users[rs.STARTER[routine]])
    while True:
        [task] = ready_tasks(engine, case.id)
        if task.bpmn_id == stop_at:
            return task
        data = form_data(task_info(engine, task)["form"], answer_for(answers, task.bpmn_id, 0), school)
        user = rs.assignee(task.bpmn_id, rs.STARTER[routine]) or rs.LANE_USER[task.role]
        do_task(engine, task, data, school.users[user])


def test_a_non_delegable_decision_is_refused_to_everyone_but_the_rektor(engine):
    """Skollagen 3:9: a special teaching group is decided by the rektor personally, by no colleague."""
    school = build_school(engine, ["sarskilt_stod"])
    group = {**rs.PROGRAMME, "sarskild_form": "sarskild_undervisningsgrupp"}
    answers = {**rs.SS, "Task_utarbeta_atgardsprogram": group}
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "sarskilt_stod", answers, "Task_beslut_sarskild_undervisningsgrupp")
        data = form_data(task_info(engine, task)["form"], {}, school)
        for username in ("specialpedagog", "kurator", "skolpsykolog", "teacher", "mentor", "huvudman"):
            with pytest.raises(PermissionDeniedError):
                do_task(engine, task, data, school.users[username])
        assert [t.id for t in ready_tasks(engine, task.case_id)] == [task.id]
        do_task(engine, task, data, school.users["rektor"])
    assert [t.bpmn_id for t in ready_tasks(engine, task.case_id)] == ["Task_delge_beslut"]


def test_sarskilt_stod_investigation_deadlines_count_from_the_report_date(engine):
    """Investigation started within a week of the report, decision chosen within five (domain brief 2.3)."""
    school = build_school(engine, ["sarskilt_stod"])
    answers = {**rs.SS, "Task_anmalan_rektor": {"anmalan_datum": "2026-01-05"}}
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "sarskilt_stod", answers, "Task_utarbeta_atgardsprogram")
    # each is due at the end of its day in Swedish time (23:59, UTC+1 in winter), counted from the report
    report = datetime(2026, 1, 5, 22, 59, tzinfo=timezone.utc)
    due = {t.bpmn_id: t.due_at for t in list_tasks(engine, case_id=task.case_id)}
    assert {k: due[k] - report for k in ("Task_utse_utredare", "Task_pedagogisk_kartlaggning",
                                         "Task_samrad_elevhalsa", "Task_pedagogisk_bedomning",
                                         "Task_prova_utredning")} == {
        "Task_utse_utredare": timedelta(weeks=1), "Task_pedagogisk_kartlaggning": timedelta(weeks=3),
        "Task_samrad_elevhalsa": timedelta(weeks=4), "Task_pedagogisk_bedomning": timedelta(weeks=4),
        "Task_prova_utredning": timedelta(weeks=5)}
    assert due["Task_utarbeta_atgardsprogram"] == START + timedelta(weeks=2)  # from when it was opened


def test_a_check_in_cannot_set_the_count_that_the_process_keeps(engine):
    """Every shipped form refuses fields it does not declare, so no one can type `avstamning_nr`."""
    school = build_school(engine, ["arshjul"])
    answers = {"Task_ar_planera": {"lasar": "2025/26", "antal_avstamningar": 2}}
    with time_machine.travel(START, tick=False):
        task = walk_until(engine, school, "arshjul", answers, "Task_ar_avstamning")
        data = form_data(task_info(engine, task)["form"], {}, school)
        with pytest.raises(FormValidationError) as refused:
            complete_task(engine, task.id, {**data, "avstamning_nr": 2}, by=school.users["rektor"])
        assert list(refused.value.errors) == [""] and "avstamning_nr" in refused.value.errors[""][0]
        complete_task(engine, task.id, data, by=school.users["rektor"])
    assert case_data(engine, task.case_id)["avstamning_nr"] == 1
    assert [t.bpmn_id for t in ready_tasks(engine, task.case_id)] == ["Task_ar_avstamning"]


# --------------------------------------------------------------------------------------------- the coverage
@pytest.fixture
def every_walk(sqlite_template: Path, tmp_path: Path) -> dict[str, set[tuple[str, str]]]:
    """The reached nodes of every scenario on SQLite: those walked in this session, the rest walked now."""
    missing = [s for s in rs.SCENARIOS if s.id not in WALKED]
    if missing:
        shutil.copy(sqlite_template, tmp_path / "coverage.db")
        engine = Engine.from_settings(database_url=f"sqlite:///{tmp_path / 'coverage.db'}")
        try:
            school = build_school(engine, ROUTINES)
            for scenario in missing:
                WALKED[scenario.id] = walk(engine, school, scenario).reached
            assert verify_audit(engine).ok
        finally:
            engine.close()
    return {s.id: WALKED[s.id] for s in rs.SCENARIOS}


def unreached(walks: dict[str, set[tuple[str, str]]]) -> list[str]:
    reached = set().union(*walks.values())
    return [f"{n.file}: {n.kind} {n.id}" for n in NODES if (n.process, n.id) not in reached]


def test_every_flow_node_of_every_shipped_diagram_is_reached_by_a_scenario(every_walk):
    assert len({n.id for n in NODES}) == len(NODES), "flow node ids must be unique across the diagrams"
    assert {n.file.split("/")[0] for n in NODES} == {*ROUTINES, "shared"}
    assert unreached(every_walk) == []


def test_the_coverage_check_notices_a_node_that_no_scenario_reaches(every_walk):
    without = {k: v for k, v in every_walk.items() if "distansundervisning" not in k}
    assert unreached(without) == [
        "sarskilt_stod/sarskilt_stod.bpmn: userTask Task_beslut_distansundervisning"]


# ----------------------------------------------------------------------------------------- the command line
@pytest.mark.parametrize("routine", ROUTINES)
def test_a_new_case_is_walked_to_its_end_from_the_command_line(engine, db_url, routine):
    school = build_school(engine, [routine])
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--database", db_url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def task_ids(output: str) -> list[str]:
        return re.findall(r"^([0-9a-f-]{36})  case", output, flags=re.MULTILINE)

    scenario = rs.CLI_WALKS[routine]
    path: list[str] = []
    with time_machine.travel(START, tick=False) as clock:
        subject = ["--unit", str(school.unit)] if routine in rs.UNIT_LEVEL else ["--pupil", str(school.pupil)]
        out = run("start", routine, *subject, "--as", rs.STARTER[routine])
        case_id = int(re.match(r"case (\d+) started \(running\)", out).group(1))
        for _ in range(MAX_STEPS):
            ids = task_ids(out)
            if not ids:
                break
            task = min((get_task(engine, i) for i in ids), key=lambda t: t.bpmn_id)
            shown = run("task", str(task.id))
            assert f"case {case_id}, ready, lane {rs.ROLE_OF[task.bpmn_id]}" in shown
            form = json.loads(shown[shown.index("\n{") + 1:])
            data = form_data(form, answer_for(scenario, task.bpmn_id, path.count(task.bpmn_id)), school)
            user = rs.assignee(task.bpmn_id, rs.STARTER[routine]) or rs.LANE_USER[task.role]
            assert task.assignee_id in (None, school.users[user])
            out = run("complete", str(task.id), "--as", user, "--data", json.dumps(data))
            path.append(task.bpmn_id)
            clock.shift(timedelta(days=1))
    assert f"case {case_id} is completed" in out
    assert get_case(engine, case_id).status == "completed"
    assert get_case(engine, case_id).pupil_id == (None if routine in rs.UNIT_LEVEL else school.pupil)
    listed = "pupil –" if routine in rs.UNIT_LEVEL else f"pupil {school.pupil} "
    assert re.search(rf"^\s+{case_id}\s+{routine}\s+{listed}", run("cases"), flags=re.MULTILINE)
    assert path == list(scenario.path)
    assert {n for _, n in reached_nodes(engine, [case_id]) if n in END_EVENTS} == scenario.ends
    assert "audit log intact" in run("audit", "verify")
