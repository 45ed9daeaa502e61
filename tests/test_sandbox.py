"""The expression and script sandbox: escapes refused, resources bounded, helpers, ISO-8601 timers."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from elevflow.engine.errors import DataNotJSONError, SandboxError
from elevflow.engine.expressions import helpers, sandbox
from elevflow.engine.expressions.helpers import (
    HELPERS,
    business_days_add,
    business_days_between,
    date_add,
    days_between,
    is_business_day,
    iso_duration,
    now,
    set_holiday_provider,
    timer_literal,
    today,
)
from elevflow.engine.expressions.holidays import is_public_holiday
from elevflow.engine.expressions.sandbox import (
    SandboxEnvironment,
    check_expression,
    check_script,
    check_timer,
)

DATA: dict[str, Any] = {
    "beslut": "atgardsprogram",
    "atgarder": [{"typ": "anpassning", "prio": 2}, {"typ": "stod", "prio": 1}],
    "elev": {"namn": "Alva", "klass": "7B"},
    "x": 1,
    "n": 10**10,
    "s": "abc",
}

# Escape attempts as expressions: each must be refused when deployed and when it runs.
EXPRESSION_ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "[].__class__",
    "''.__class__.__mro__[1].__subclasses__()",
    "x.__class__.__bases__",
    "elev.__dict__",
    "{**elev.__dict__}",
    "[*().__class__.__mro__]",
    "getattr([], '__class__')",
    "getattr(x, 'real')",
    "__import__('os')",
    "__builtins__",
    "_getattr_(x, 'real')",
    "open('/etc/passwd').read()",
    "ｏｐｅｎ('/etc/passwd')",  # fullwidth letters: Python normalises the name to `open`
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(x)",
    "type(x).__subclasses__(x)",
    "int.mro()",
    "x.mro()",
    "object.__subclasses__()",
    "super()",
    "setattr(elev, 'namn', 1)",
    "(x for x in []).gi_frame",
    "(x for x in []).gi_frame.f_back.f_globals",
    "(lambda: (yield))().gi_code",
    "(lambda: 0).__code__",
    "(lambda: 0).__globals__",
    "'{0.__class__}'.format(1)",
    "'{x}'.format_map(elev)",
    "f'{x.__class__}'",
    "f'{1:>1000000000}'",
    "'%s' % x.__class__",
    "'%*d' % (10**9, 1)",
    "breakpoint()",
    "help()",
    "print('hej')",
    "memoryview(b'x')",
    "bytes(10)",
    "bytearray(10)",
    "b'raw'",
    "s.encode()",
    "x.to_bytes(10**9, 'big')",
    "'a'.translate({97: 'a' * 100000})",
    "iter([1])",
    "id(x)",
    "'a' * 10**10",
    "10 ** 10 ** 10",
    "[0] * 10**9",
    "1 << 10**9",
    "range(10**12)",
    "x is 1",
]

SCRIPT_ESCAPES = [
    "import os",
    "from os import system",
    "class X: pass",
    "@staticmethod\ndef f(): pass",
    "def f():\n    return 1",
    "async def f(): pass",
    "while True: pass",
    "while 1:\n    x = 2",
    "for i in range(10**12): pass",
    "try:\n    x = 1\nexcept Exception as e:\n    y = e.__traceback__",
    "with open('x') as f: pass",
    "raise SystemExit",
    "global x",
    "match x:\n    case 1: pass",
    "x = 1\ny = x.__class__",
    "a, *b = ().__class__.__mro__",
    "today = '2026-01-01'",
    "len = 3",
    "print('hej')",
    "x = 'a' * 10**10",
    "x = [0] * 10**9",
    "x = 1 << 10**9",
    "x = 10 ** 10 ** 10",
]


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment()


@pytest.fixture
def data() -> dict[str, Any]:
    return copy.deepcopy(DATA)


@pytest.fixture
def holidays() -> Iterator[None]:
    yield
    set_holiday_provider(is_public_holiday)


# --- escapes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", EXPRESSION_ESCAPES)
def test_expression_escape_refused_at_check_and_run_time(source: str, env: SandboxEnvironment,
                                                         data: dict[str, Any]) -> None:
    with pytest.raises(SandboxError):
        check_expression(source)
    with pytest.raises(SandboxError):
        env.evaluate(source, data)


@pytest.mark.parametrize("source", SCRIPT_ESCAPES)
def test_script_escape_refused_at_check_and_run_time(source: str, env: SandboxEnvironment,
                                                     data: dict[str, Any]) -> None:
    with pytest.raises(SandboxError):
        check_script(source)
    before = dict(data)
    with pytest.raises(SandboxError):
        env.execute(source, data)
    assert data == before


def test_refusals_say_what_was_refused() -> None:
    with pytest.raises(SandboxError, match=r"attribute '__class__' is not allowed: names starting with '_'"):
        check_expression("[].__class__")
    with pytest.raises(SandboxError, match=r"name '__import__' is not allowed: names starting with '_' are"):
        check_expression("__import__('os')")
    with pytest.raises(SandboxError, match=r"str.format can reach attributes"):
        check_expression("'{0.__class__}'.format(1)")
    with pytest.raises(SandboxError, match=r"type\(\) is not available"):
        check_expression("type(x)")
    with pytest.raises(SandboxError, match=r"import is not allowed"):
        check_script("x = 1\nimport os")
    with pytest.raises(SandboxError, match="never ends"):
        check_script("while True: pass")


def test_compile_refusal_carries_the_line() -> None:
    with pytest.raises(SandboxError) as refused:
        check_script("a = 1\nb = 2\nc = a.__class__")
    assert refused.value.line == 3


def test_runtime_guards_refuse_on_their_own() -> None:
    """Defence in depth: the guard functions refuse even if compile-time checks were bypassed."""
    for name in ("__class__", "format", "mro", "gi_frame", "f_globals"):
        with pytest.raises(SandboxError):
            sandbox.guarded_getattr("abc", name)
    with pytest.raises(SandboxError, match="attributes of classes"):
        sandbox.guarded_getattr(int, "bit_length")
    with pytest.raises(SandboxError):
        sandbox.guarded_getitem(list, int)
    assert sandbox.guarded_getattr("abc", "upper")() == "ABC"


# --- resource bounds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "s * n", "[0] * n", "n ** n", "1 << n", "range(n)", "s.ljust(n)", "s.zfill(n)", "s.center(n)",
    "f'{x:>{n}}'", "'%0*d' % (n, 1)", "sum([[1]] * 3, [])", "[s := s * n]",
])
def test_size_bounds_at_run_time(source: str, env: SandboxEnvironment, data: dict[str, Any]) -> None:
    check_expression(source)  # the operands come from task data, so only running can tell
    with pytest.raises(SandboxError):
        env.evaluate(source, data)


@pytest.mark.parametrize("script", [
    "while x > 0:\n    x = x + 1",
    "for i in range(100000):\n    for j in range(100000):\n        pass",
    "y = [i for i in range(100000) for j in range(2)]",
    "f = lambda g, k: k and g(g, k - 1) + g(g, k - 1)\ny = f(f, 40)",
    "t = 'ab' * 50000\nfor i in range(3):\n    t = t + t",
    "t = 'ab'\nwhile True:\n    t += t\n    if not t:\n        break",
    "l = [0] * 1000\nfor i in range(20):\n    l.extend(l)",
    "w = ['a' * 1000] * 1000\nj = ''.join(w)",
    "t = 'a' * 1000\nu = t.replace('a', t)",
    "v = [0]\nfor i in range(60):\n    v = [v, v]\nw = str(v)",
    "v = [0]\nfor i in range(60):\n    v = [v, v]\nw = f'{v}'",
    "v = [0]\nfor i in range(60):\n    v = [v, v]",  # left in task data: refused on the way out
    "t = s\nt *= n",
])
def test_step_and_size_bounds_in_scripts(script: str, env: SandboxEnvironment, data: dict[str, Any]) -> None:
    check_script(script)
    with pytest.raises(SandboxError):
        env.execute(script, data)


def test_cpu_time_bound(env: SandboxEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_CPU_SECONDS", 0.01)
    with pytest.raises(SandboxError, match="took too long"):
        env.execute("x = list(range(100000))\nfor i in range(10000):\n    y = sorted(x)", {})


def test_bounds_leave_room_for_real_work(env: SandboxEnvironment) -> None:
    result: dict[str, Any] = {}
    env.execute("total = 0\nfor i in range(50000):\n    total += i\ntext = '-' * 80\nbig = 2 ** 1000", result)
    assert result["total"] == sum(range(50000)) and len(result["text"]) == 80 and result["big"] == 2**1000


def test_runtime_refusal_carries_the_line(env: SandboxEnvironment) -> None:
    with pytest.raises(SandboxError) as refused:
        env.execute("a = 1\nb = 'x' * n", {"n": 10**9})
    assert refused.value.line == 2


# --- what works ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ('beslut == "atgardsprogram"', True),
    ('beslut != "atgardsprogram"', False),
    ("len(atgarder) > 0", True),
    ("atgarder[0]['typ']", "anpassning"),
    ("elev['klass'] == '7B' and x >= 1", True),
    ("elev.get('saknas', 'nej')", "nej"),
    ("atgarder[-1]['prio'] < 2 or not beslut", True),
    ("'stod' in [a['typ'] for a in atgarder]", True),
    ("sorted(atgarder, key=lambda a: a['prio'])[0]['typ']", "stod"),
    ("max(a['prio'] for a in atgarder)", 2),
    ("sum(a['prio'] for a in atgarder)", 3),
    ("any(a['prio'] > 1 for a in atgarder) and all(a['typ'] for a in atgarder)", True),
    ("business_days_add('2026-12-04', 1) == '2026-12-07'", True),
    ("f\"{elev['namn']} ({elev['klass']})\"", "Alva (7B)"),
    ("'%s: %d' % (elev['namn'], x)", "Alva: 1"),
    ("'-'.join(['a', 'b'])", "a-b"),
    ("round(3.14159, 2)", 3.14),
    ("int('42') + abs(-1) + len(str(x))", 44),
    ("dict(a=1)", {"a": 1}),
    ("list(range(3))", [0, 1, 2]),
    ("'ja' if x else 'nej'", "ja"),
    ("s[1:]", "bc"),
    ("'P7D'", "P7D"),
    ("2 ** 10", 1024),
])
def test_legitimate_expressions(source: str, expected: Any, env: SandboxEnvironment,
                                data: dict[str, Any]) -> None:
    check_expression(source)
    assert env.evaluate(source, data) == expected


def test_scripts_set_and_change_task_data(env: SandboxEnvironment, data: dict[str, Any]) -> None:
    script = ("antal = len(atgarder)\n"
              "status = 'klar' if antal > 1 else 'pagaende'\n"
              "elev['klass'] = '8B'\n"
              "atgarder.append({'typ': 'ny', 'prio': 3})\n"
              "atgarder[0]['prio'] = 9\n"
              "summa = 0\n"
              "for a in atgarder:\n"
              "    summa += a['prio']\n"
              "frist = business_days_add('2026-12-04', 5)\n"
              "del s")
    check_script(script)
    assert env.execute(script, data) is True
    assert data["antal"] == 2 and data["status"] == "klar" and data["elev"]["klass"] == "8B"
    assert data["summa"] == 9 + 1 + 3 and data["frist"] == "2026-12-11" and "s" not in data


def test_helpers_and_functions_do_not_leak_into_task_data(env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {"a": 1}
    env.execute("b = a + 1\nf = lambda v: v\ng = len\nc = [i for i in range(3)]", data)
    assert data == {"a": 1, "b": 2, "c": [0, 1, 2]}


@pytest.mark.parametrize("script", ["y = {1, 2}", "y = range(3)", "y = (i for i in [1])", "y = {1: 'a'}"])
def test_scripts_may_only_leave_plain_data(script: str, env: SandboxEnvironment) -> None:
    data: dict[str, Any] = {"a": 1}
    with pytest.raises(DataNotJSONError, match="'y'"):
        env.execute(script, data)
    assert data == {"a": 1}


def test_data_key_shadowing_a_helper_is_refused(env: SandboxEnvironment) -> None:
    with pytest.raises(SandboxError, match=r"task data field\(s\) 'today' have the name of a helper"):
        env.execute("x = 1", {"today": "2026-12-01"})
    with pytest.raises(SandboxError, match=r"'today' has the name of the helper today\(\)"):
        env.evaluate("today() > '2026'", {"today": "2026-12-01"})
    assert env.evaluate("beslut == 'ja'", {"today": "2026-12-01", "beslut": "ja"}) is True  # unused: fine


def test_data_objects_are_visible_but_task_data_wins(env: SandboxEnvironment) -> None:
    assert env.evaluate("a + b", {"a": 1}, {"a": 100, "b": 10}) == 11


def test_compiled_code_is_cached(env: SandboxEnvironment) -> None:
    source = "x + 41 == 42  # cached"
    assert sandbox._compile_cached("eval", source) is sandbox._compile_cached("eval", source)
    before = sandbox._compile_cached.cache_info()
    for _ in range(5):
        assert env.evaluate(source, {"x": 1}) is True
    after = sandbox._compile_cached.cache_info()
    assert after.hits - before.hits == 5 and after.misses == before.misses


# --- through SpiffWorkflow -----------------------------------------------------------------------------

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
        '20100524/MODEL" id="defs" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="p" '
        'isExecutable="true">')
GATEWAY = """
<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
<bpmn:scriptTask id="prepare"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
  <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1</bpmn:incoming>
  <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:endEvent id="yes"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="no"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="prepare"/>
<bpmn:sequenceFlow id="f1" sourceRef="prepare" targetRef="gw"/>
<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="yes">
  <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="no"/>
"""
BOUNDARY = """
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:boundaryEvent id="timer" attachedToRef="wait" cancelActivity="{interrupting}">
  <bpmn:outgoing>f3</bpmn:outgoing>
  <bpmn:timerEventDefinition><bpmn:{kind}>{timer}</bpmn:{kind}></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:scriptTask id="remind"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
  <bpmn:script>reminded = True</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="late"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="done"/>
<bpmn:sequenceFlow id="f3" sourceRef="timer" targetRef="remind"/>
<bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="late"/>
"""
START = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def workflow(evaluator: Any, body: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str((HEAD + body + "</bpmn:process></bpmn:definitions>").encode(), "test.bpmn")
    return BpmnWorkflow(parser.get_spec("p"), parser.get_subprocess_specs("p"),
                        script_engine=evaluator.script_engine)


def advance(traveller: Any, wf: BpmnWorkflow, delta: timedelta) -> None:
    traveller.shift(delta)
    wf.refresh_timers()
    wf.do_engine_steps()


def completed(wf: BpmnWorkflow, bpmn_id: str) -> int:
    return len([t for t in wf.get_tasks(spec_name=bpmn_id) if t.state == TaskState.COMPLETED])


def reminders(wf: BpmnWorkflow) -> int:
    return completed(wf, "remind")


def test_gateway_runs_in_the_sandbox(evaluator) -> None:
    wf = workflow(evaluator, GATEWAY.format(script="beslut = 'atgardsprogram'",
                                            condition='beslut == "atgardsprogram"'))
    wf.do_engine_steps()
    assert wf.is_completed() and completed(wf, "yes") == 1 and completed(wf, "no") == 0


def test_refused_gateway_condition_surfaces_as_workflow_task_exception(evaluator) -> None:
    wf = workflow(evaluator, GATEWAY.format(script="beslut = 1", condition="().__class__.__base__"))
    with pytest.raises(WorkflowTaskException) as raised:
        wf.do_engine_steps()
    exc = raised.value
    assert exc.error_type == "SandboxError" and isinstance(exc.__cause__, SandboxError)
    assert "attribute '__class__' is not allowed" in exc.args[0]
    assert exc.args[0].startswith("Error evaluating expression '().__class__.__base__'")
    assert exc.task.task_spec.bpmn_id == "gw" and exc.line_number == 1


def test_runtime_refusal_in_gateway_keeps_its_message(evaluator) -> None:
    wf = workflow(evaluator, GATEWAY.format(script="n = int('1' + '0' * 10)", condition="len('a' * n) > 0"))
    with pytest.raises(WorkflowTaskException, match="the result would be too long") as raised:
        wf.do_engine_steps()
    assert isinstance(raised.value.__cause__, SandboxError)


def test_ordinary_errors_keep_their_message(evaluator) -> None:
    wf = workflow(evaluator, GATEWAY.format(script="n = 0", condition="1 / n > 0"))
    with pytest.raises(WorkflowTaskException, match="ZeroDivisionError: division by zero"):
        wf.do_engine_steps()


def test_refused_script_surfaces_with_its_line(evaluator) -> None:
    wf = workflow(evaluator, GATEWAY.format(script="a = 1&#10;b = 'x' * int('1' + '0' * 10)",
                                            condition="True"))
    with pytest.raises(WorkflowTaskException) as raised:
        wf.do_engine_steps()
    exc = raised.value
    assert isinstance(exc.__cause__, SandboxError) and exc.line_number == 2
    assert exc.args[0].startswith("Error in script on line 2: the result would be too long")
    assert exc.task.task_spec.bpmn_id == "prepare"


# --- ISO-8601 timer literals ---------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "P7D", "PT24H", "P1W", "P3W", "P1Y2M10DT2H30M", "PT0.5S", "R6/P1D", "R/PT1H", "R3/PT1H", "2026-12-01",
    "2026-12-01T08:00:00+01:00", "2026-12-01T08:00Z", "R3/2026-12-01T08:00:00Z/P1D",
    "R2/P1D/2026-12-10T00:00Z", "  P7D\n",
])
def test_timer_literals_recognised(source: str, env: SandboxEnvironment) -> None:
    assert timer_literal(source) == source.strip()
    assert env.evaluate(source, {}) == source.strip()
    check_timer(source)


@pytest.mark.parametrize("source", [
    "p7d", "P", "PT", "P1DT", "P7D + 1", "P1.5D", "7D", "R3", "R3/", "R3/PT1H/PT1H", "2026-13-01",
    "2026-12-01T25:00Z", "'P7D'", "P7D P1D",
])
def test_timer_literal_regex_is_strict(source: str) -> None:
    assert timer_literal(source) is None


def test_quoted_timer_values_stay_python_strings(env: SandboxEnvironment) -> None:
    assert env.evaluate('"P7D"', {}) == "P7D"
    assert env.evaluate("iso_duration(days=frist)", {"frist": 14}) == "P14D"
    check_timer('"PT24H"')
    check_timer("iso_duration(days=frist)")


@pytest.mark.parametrize("source, kind, message", [
    ("P7X", None, "name 'P7X' is not defined|not valid"),
    ("'P7X'", None, "not a valid timeDuration"),
    ("2026-02-30T08:00:00Z", None, "not a valid timeDate"),
    ("2026-12-01T08:00:00", None, "no UTC offset"),
    ("R3/2026-12-01T08:00/P1D", None, "no UTC offset"),
    ("P7D", "timeDate", "timeDate needs a date"),
    ("2026-12-01T08:00:00Z", "timeCycle", "timeCycle needs a cycle"),
    ("42", None, "must be ISO-8601 text"),
    ("__import__('os')", None, "names starting with '_'"),
])
def test_check_timer_refuses(source: str, kind: Any, message: str) -> None:
    if source == "P7X":  # not a literal, so an expression: compiles, and is only known when it runs
        check_timer(source)
        return
    with pytest.raises(SandboxError, match=message):
        check_timer(source, kind=kind)


def test_a_timer_literal_is_not_a_condition() -> None:
    with pytest.raises(SandboxError, match="is a timer value, not a condition"):
        check_expression("P7D")


@pytest.mark.parametrize("timer", ["P7D", "\n  P7D  \n", '"P7D"'])
def test_boundary_duration_timer_fires(timer: str, evaluator) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        wf = workflow(evaluator, BOUNDARY.format(interrupting="true", kind="timeDuration", timer=timer))
        wf.do_engine_steps()
        assert [event.value for event in wf.waiting_events()] == ["2026-12-08T08:00:00+00:00"]
        advance(traveller, wf, timedelta(days=6, hours=23))
        assert not wf.is_completed()
        advance(traveller, wf, timedelta(hours=1, seconds=1))
        assert wf.is_completed() and reminders(wf) == 1


def test_cycle_timer_fires_three_times(evaluator) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        wf = workflow(evaluator, BOUNDARY.format(interrupting="false", kind="timeCycle", timer="R3/PT1H"))
        wf.do_engine_steps()
        assert [event.value for event in wf.waiting_events()] == ["2026-12-01T09:00:00+00:00"]
        counts = []
        for _ in range(5):
            advance(traveller, wf, timedelta(hours=1, seconds=1))
            counts.append(reminders(wf))
        assert counts == [1, 2, 3, 3, 3]
        assert not wf.is_completed() and wf.get_tasks(state=TaskState.READY, manual=True)


def test_date_timer_fires_at_the_moment(evaluator) -> None:
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc), tick=False) as traveller:
        body = BOUNDARY.format(interrupting="true", kind="timeDate", timer="2026-12-01T08:00:00+01:00")
        wf = workflow(evaluator, body)
        wf.do_engine_steps()
        advance(traveller, wf, timedelta(minutes=59))  # 06:59 UTC is 07:59 in Sweden
        assert not wf.is_completed()
        advance(traveller, wf, timedelta(minutes=2))
        assert wf.is_completed() and reminders(wf) == 1


# --- helpers -------------------------------------------------------------------------------------------

def test_every_helper_is_documented() -> None:
    assert set(HELPERS) >= {"today", "now", "date_add", "business_days_add", "business_days_between",
                            "days_between", "iso_duration"}
    for name, function in {**HELPERS, "set_holiday_provider": set_holiday_provider}.items():
        assert function.__doc__ and len(function.__doc__) > 20, name
    for name in ("len", "min", "max", "sum", "sorted", "any", "all", "abs", "round", "int", "float", "str",
                 "bool", "list", "dict"):
        assert name in helpers.BUILTINS


def test_business_days() -> None:
    assert business_days_add("2026-12-04", 1) == "2026-12-07"  # Friday + 1 = Monday
    assert business_days_add("2026-12-07", -1) == "2026-12-04"
    assert business_days_add("2026-12-05", 0) == "2026-12-05"
    assert business_days_add("2026-12-05", 1) == "2026-12-07"  # from a Saturday
    assert business_days_add("2026-12-01T10:00:00+01:00", 5) == "2026-12-08"
    assert business_days_between("2026-12-04", "2026-12-07") == 1
    assert business_days_between("2026-12-07", "2026-12-04") == -1
    assert business_days_between("2026-12-01", "2026-12-01") == 0
    for n in (1, 4, 5, 17, -3):
        assert business_days_between("2026-12-02", business_days_add("2026-12-02", n)) == n
    assert is_business_day("2026-12-04") and not is_business_day("2026-12-05")


def test_holiday_provider_plugs_in(holidays: None) -> None:
    set_holiday_provider(lambda day: day == date(2026, 12, 7))
    assert business_days_add("2026-12-04", 1) == "2026-12-08"
    assert business_days_between("2026-12-04", "2026-12-08") == 1
    set_holiday_provider(lambda day: True)
    with pytest.raises(ValueError, match="no business day within"):
        business_days_add("2026-12-04", 1)


def test_calendar_helpers() -> None:
    assert date_add("2026-12-04", days=3) == "2026-12-07"
    assert date_add("2026-12-04", weeks=1, days=-1) == "2026-12-10"
    assert date_add("2026-12-01T08:00:00+01:00", days=1) == "2026-12-02T08:00:00+01:00"
    assert days_between("2026-12-01", "2026-12-08") == 7 and days_between("2026-12-08", "2026-12-01") == -7
    assert [iso_duration(days=7), iso_duration(hours=24), iso_duration(weeks=2), iso_duration(days=1, hours=2,
            minutes=30), iso_duration()] == ["P7D", "PT24H", "P14D", "P1DT2H30M", "PT0S"]
    with pytest.raises(ValueError):
        iso_duration(days=-1)
    with pytest.raises(ValueError, match="is not a date"):
        date_add("1 december", days=1)
    with pytest.raises(TypeError, match="whole number"):
        business_days_add("2026-12-04", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between"):
        business_days_add("2026-12-04", 10**9)


def test_today_and_now_follow_the_clock_in_swedish_time(env: SandboxEnvironment) -> None:
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc), tick=False):
        assert today() == "2027-01-01"
        assert now() == "2027-01-01T00:30:00+01:00"
        assert env.evaluate("today() == '2027-01-01' and now() > '2027'", {}) is True
