"""Deploy-time checks of a BPMN bundle: everything that can be known before a case runs.

1. Every file is well-formed XML with no DOCTYPE or entity, and valid against the BPMN 2.0 and Spiff XSDs.
2. SpiffWorkflow's parser builds a spec for every executable process and every process it calls, and
   can lay out a new case's paths ahead (a loop through parallel gateways alone makes it recurse forever).
   Constructs Elevflow cannot run (support.py) are named element by element before the parser runs.
3. Every lane names a known role, and every user task sits in a lane. A process's `visibleTo` names known
   roles; a `personal` task names the person it goes to (`assigneeFrom`).
4. Every form a user task names exists and is a valid JSON Schema object; every due rule parses.
5. Every expression SpiffWorkflow evaluates (conditions, loop and completion conditions, cardinalities,
   timers, message payloads, service task parameters) and every script passes the sandbox's compile-time
   check; timers, due rules, loop maxima and fixed cardinalities stay within the bounds of
   elevflow.engine.expressions.bounds.
6. A routine's own properties are known, with a known value: `caseSubject` is "pupil" or "unit".
7. The quality figures (engine/routines/quality_measures.py) and decision documents' sections
   (engine/documents/document_sections.py) a routine declares name only steps, form fields, decision kinds and
   cancel grounds it has: a step renamed in the editor that a figure or a section reads is refused.
All problems are collected, each with file, line and element id and a code the web layer translates, so a
process owner can fix them at once: when a stage stops (unreadable XML, constructs Elevflow cannot run, a
file SpiffWorkflow rejects), the checks that need only the XML (3's lanes, 5) still run on the routine's own
files and their problems are reported with it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import SendTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from ..codes import Coded
from ..errors import DefinitionError, Problem, SandboxError
from ..expressions import bounds, deadlines, sandbox
from ..org.access import EHT_ROLES, NO_LANE
from ..org.roles import ROLES, role_for_lane
from . import bpmnxml, declared_sections, formcheck, quality_measures, step_declarations, support
from .bpmnxml import NS
from .parser import ElevflowParser
from .specs import CANCEL_GROUNDS, CASE_SUBJECT, CASE_SUBJECTS, task_meta, user_tasks_of


@dataclass
class Bundle:
    """A routine as deployed: its BPMN files and forms, plus the specs parsed from them."""

    files: dict[str, str]
    forms: dict[str, dict[str, Any]]
    specs: dict[str, tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    readers: dict[str, frozenset[str]] = field(default_factory=dict)  # process key -> roles seeing every case
    subjects: dict[str, str] = field(default_factory=dict)  # key -> what its cases are about (specs.py)
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> its process's properties
    file_of: dict[str, str] = field(default_factory=dict)  # process id -> the file that holds it


# The roles that see every case of a routine at its unit unless its process names others (`visibleTo`):
# a pupil's case is the rektor's and the student health team's; a unit-level case only the rektor's.
DEFAULT_READERS = {"pupil": frozenset({"rektor"}) | EHT_ROLES, "unit": frozenset({"rektor"})}
VISIBLE_TO = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='visibleTo']"


def readers_of(tree: etree._ElementTree, key: str, file_name: str,
               subject: str = "pupil") -> tuple[frozenset[str], list[Problem]]:
    """The roles a process's `visibleTo` property names (comma-separated role names), or the default."""
    process = tree.xpath("//bpmn:process[@id=$key]", key=key, namespaces=NS)[0]
    found = process.xpath(VISIBLE_TO, namespaces=NS)
    if not found:
        return DEFAULT_READERS[subject], []
    roles, problems = set(), []
    for name in (found[0].get("value") or "").split(","):
        role = role_for_lane(name)
        if role is None:
            problems.append(Problem("process.visible_to_unknown", {"name": name.strip()},
                                    element_id=key, line=found[0].sourceline, file=file_name))
        roles.add(role)
    return frozenset(r for r in roles if r), problems


def _expression(source: str, _limits: bounds.Bounds) -> None:
    sandbox.check_expression(source)


def _script(source: str, _limits: bounds.Bounds) -> None:
    sandbox.check_script(source)


def _timer(source: str, limits: bounds.Bounds) -> None:
    sandbox.check_timer(source, years=limits.timer_years)


def _cardinality(source: str, limits: bounds.Bounds) -> None:
    bounds.cardinality(source, limits.loop_rounds)


def _loop_maximum(source: str, limits: bounds.Bounds) -> None:
    bounds.loop_maximum(source, limits.loop_rounds)


_EXPRESSION_CHECKS = [
    ("descendant::bpmn:conditionExpression", _expression, "what.condition"),
    ("descendant::bpmn:timeDuration", _timer, "what.timer"),
    ("descendant::bpmn:timeDate", _timer, "what.timer"),
    ("descendant::bpmn:timeCycle", _timer, "what.timer"),
    ("descendant::bpmn:loopCardinality", _expression, "what.loop_cardinality"),
    ("descendant::bpmn:loopCardinality", _cardinality, "what.loop_cardinality"),
    ("descendant::bpmn:completionCondition", _expression, "what.completion_condition"),
    ("descendant::bpmn:loopCondition", _expression, "what.loop_condition"),
    ("descendant::bpmn:standardLoopCharacteristics/@loopMaximum", _loop_maximum, "what.loop_maximum"),
    ("descendant::bpmn:conditionalEventDefinition/bpmn:condition", _expression,
     "what.event_condition"),
    ("descendant::spiffworkflow:messagePayload", _expression, "what.message_payload"),
    ("descendant::spiffworkflow:serviceTaskOperator/descendant::spiffworkflow:parameter/@value",
     _expression, "what.service_parameter"),
    ("descendant::bpmn:scriptTask/bpmn:script", _script, "what.script"),
    ("descendant::spiffworkflow:preScript", _script, "what.pre_script"),
    ("descendant::spiffworkflow:postScript", _script, "what.post_script"),
]


#: SpiffWorkflow's own messages a diagram from another modeler commonly meets (the start of the message),
#: each with a code of engine.codes the web layer says in the reader's language; anything else is said
#: as SpiffWorkflow says it (`spiff.problem`).
SPIFF_CODES = [
    ("Exactly one start event is required", "spiff.one_start_event"),
    ("No start event found", "spiff.no_start_event"),
    ("A multiinstance task must specify a cardinality", "spiff.multi_instance_cardinality"),
    ("A loopMaximum or loopCondition must be specified", "spiff.loop_end"),
    ("A SubWorkflow Must contain an End event", "spiff.subprocess_end"),
    ("Multiple outgoing flows are not supported for tasks of type", "spiff.task_flows"),
    ("Time Specification Error", "spiff.timer"),
    ("Unknown Time Specification", "spiff.timer"),
    ("Duplicate process ID", "spiff.duplicate_process"),
    ("Cancel Events may only be used with transactions", "spiff.cancel_event"),
    ("Expected a", "spiff.missing_definition"),
]


def _spiff_problem(exc: SpiffWorkflowException, trees: dict[str, etree._ElementTree]) -> Problem:
    element_id = getattr(exc, "id", None) or getattr(exc, "task_spec", None) and exc.task_spec.bpmn_id
    file_name = getattr(exc, "file_name", None) or None
    line = getattr(exc, "line_number", None) or None
    if not line and element_id:
        for name, tree in trees.items():
            line = bpmnxml.line_of(tree, element_id)
            if line:
                file_name = file_name or name
                break
    message = str(exc.args[0]) if exc.args else str(exc)
    code = next((c for start, c in SPIFF_CODES if message.startswith(start)), "spiff.problem")
    params = {"detail": message} if code == "spiff.problem" else {}
    return Problem(code, params, element_id=element_id or None,
                   line=int(line) if line else None, file=file_name)


def _load_forms(raw: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    forms: dict[str, dict[str, Any]] = {}
    problems = []
    for name, value in raw.items():
        if isinstance(value, (str, bytes)):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(Problem("form.not_json", {"detail": exc.msg}, line=exc.lineno, file=name))
                continue
        forms[name] = value
    return forms, problems


def check_form(name: str, schema: Any) -> list[Coded]:
    """What is wrong with a form (none when it is a valid JSON Schema object whose rules hold)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return [Coded("form.not_object")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [Coded("form.bad_schema", {"detail": exc.message})]
    return formcheck.rule_problems(schema)


def _check_expressions(name: str, tree: etree._ElementTree, limits: bounds.Bounds) -> list[Problem]:
    problems = []
    for xpath, check, what in _EXPRESSION_CHECKS:
        for element in tree.xpath(xpath, namespaces=NS):
            if isinstance(element, str):  # an attribute's value
                source, element = element.strip(), element.getparent()  # type: ignore[attr-defined]  # lxml
            else:
                source = (element.text or "").strip()
            if not source:
                continue
            try:
                check(source, limits)
            except SandboxError as exc:
                line = element.sourceline + (exc.line - 1 if exc.line else 0)
                problems.append(Problem("expression.refused", {"what": Coded(what), "reason": exc.coded},
                                        element_id=bpmnxml.enclosing_id(element),
                                        line=line, file=name))
    return problems


def _check_lanes(name: str, tree: etree._ElementTree) -> list[Problem]:
    problems = []
    for lane in tree.xpath("//bpmn:lane", namespaces=NS):
        role = role_for_lane(lane.get("name"))
        if role is None or role in NO_LANE:
            known = ", ".join(r.sv for r in ROLES.values() if r.key not in NO_LANE)
            code = "lane.not_for_cases" if role else "lane.unknown_role"
            problems.append(Problem(code, {"lane": lane.get("name"), "known": known},
                                    element_id=lane.get("id"), line=lane.sourceline, file=name))
    return problems


# A routine's own properties and their allowed values (None: any value, checked where it is read).
PROCESS_PROPERTIES: dict[str, tuple[str, ...] | None] = {CASE_SUBJECT: CASE_SUBJECTS, "visibleTo": None,
                                                         step_declarations.PUPIL_PAGE: None}


def _check_process_properties(name: str, tree: etree._ElementTree, key: str) -> tuple[str, list[Problem]]:
    """The routine's own properties (on its process element): what its cases are about, and problems."""
    problems = []
    found = bpmnxml.process_properties(tree, key)
    for prop_name, element in found.items():
        if quality_measures.declares(prop_name) or declared_sections.declares(prop_name):
            continue
        if prop_name not in PROCESS_PROPERTIES:
            problems.append(Problem("process.unknown_property",
                                    {"name": prop_name, "known": sorted(PROCESS_PROPERTIES)}, element_id=key,
                                    line=element.sourceline, file=name))
        elif (allowed := PROCESS_PROPERTIES[prop_name]) is not None and element.get("value") not in allowed:
            problems.append(Problem("process.bad_property",
                                    {"name": prop_name, "value": element.get("value"),
                                     "allowed": list(allowed)},
                                    element_id=key, line=element.sourceline,
                                    file=name))
    subject = found[CASE_SUBJECT].get("value") if CASE_SUBJECT in found else "pupil"
    return subject if subject in CASE_SUBJECTS else "pupil", problems


def _check_declarations(spec: BpmnProcessSpec, subprocesses: dict[str, BpmnProcessSpec],
                    forms: dict[str, Any], tree: etree._ElementTree, key: str,
                    file_name: str) -> tuple[dict[str, str], list[Problem]]:
    """The routine's properties, and whatever its declared quality figures and document sections name
    that it does not have: each problem names the process, the property (the figure or section) and the
    step, field or kind."""
    elements = bpmnxml.process_properties(tree, key)
    properties = {n: e.get("value") or "" for n, e in elements.items()}
    measures, found = quality_measures.parse(properties)
    tasks = {step: meta for step, (meta, _) in user_tasks_of([spec, *subprocesses.values()]).items()}
    found += quality_measures.check(measures, tasks, forms)
    documents, malformed = declared_sections.parse(properties)
    found += malformed + declared_sections.check(documents, tasks, forms)
    if step_declarations.PUPIL_PAGE in properties:
        found += [(step_declarations.PUPIL_PAGE, why) for why in step_declarations.check_pupil_page(
            properties[step_declarations.PUPIL_PAGE], tasks, forms)]
    return properties, [Problem("decl.problem", {"property": prop, "reason": why}, element_id=key,
                                line=elements[prop].sourceline,
                                file=file_name) for prop, why in found]


def sending_message(spec: Any) -> bool:
    """A send task naming a message throws it to other cases; one naming none tells its lane (needs one)."""
    return isinstance(getattr(spec, "event_definition", None), MessageEventDefinition)


def _check_user_tasks(spec: BpmnProcessSpec, forms: dict[str, Any], trees: dict[str, etree._ElementTree],
                      file_of: dict[str, str], limits: bounds.Bounds,
                      routine_tasks: dict[str, Any] | None = None) -> list[Problem]:
    """Each user task's own extensions; `routine_tasks` (the routine's user tasks by id, its called
    processes' included) are what its `context` and `prefill` may name."""
    problems = []
    file_name = file_of.get(spec.name)
    tree = trees.get(file_name) if file_name else None
    lines = bpmnxml.line_index(tree) if tree is not None else {}
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, SendTask) and not task_spec.lane and not sending_message(task_spec):
            problems.append(Problem("task.send_no_lane", element_id=task_spec.bpmn_id,
                                    line=lines.get(task_spec.bpmn_id), file=file_name))
        if not getattr(task_spec, "manual", False) or not hasattr(task_spec, "bpmn_id"):
            continue
        meta = task_meta(task_spec)

        line = lines.get(meta.bpmn_id)

        def problem(code: str, params: dict[str, Any] | None = None, element: str = meta.bpmn_id,
                    line: int | None = line) -> Problem:
            return Problem(code, params or {}, element_id=element, line=line, file=file_name)

        if meta.lane is None:
            problems.append(problem("task.no_lane"))
        if meta.form is not None and meta.form not in forms:
            problems.append(problem("task.form_missing", {"form": meta.form}))
        if meta.due_rule is not None and (why := deadlines.check(meta.due_rule, limits.timer_years)):
            problems.append(problem(*why))
        if meta.personal and not meta.assignee_from:
            problems.append(problem("task.personal_no_assignee"))
        if unknown := [g for g in meta.cancel_grounds if g not in CANCEL_GROUNDS]:
            problems.append(problem("task.unknown_cancel_grounds", {"grounds": unknown,
                                                                   "known": list(CANCEL_GROUNDS)}))
        problems += [problem("task.step_declaration", {"reason": why}) for why in step_declarations.check(
            meta.bpmn_id, meta.form, meta.context, meta.prefill, routine_tasks or {}, forms)]
    return problems


def validate(main: dict[str, str], library: dict[str, str], raw_forms: dict[str, Any],
             limits: bounds.Bounds = bounds.DEFAULT) -> Bundle:
    """Check a bundle; return it with its specs parsed, or raise DefinitionError listing every problem.

    `main` holds the routine's own files, `library` the shared files its call activities may reach;
    `limits` are the engine's bounds (engine.expressions.bounds) its timers, due rules and loops must keep
    within.
    """
    problems: list[Problem] = []
    trees: dict[str, etree._ElementTree] = {}
    for name, text in {**library, **main}.items():
        tree, found = bpmnxml.parse(text, name)
        if tree is None:
            if name in main:  # a broken library file only matters if something calls into it
                problems.extend(found)
            continue
        trees[name] = tree
        if name in main:
            problems.extend(support.unsupported(tree, name))
    if problems:
        raise DefinitionError(_with_file_checks(problems, main, trees, limits))

    forms, problems = _load_forms(raw_forms)
    parser = ElevflowParser(validator=VALIDATOR)
    file_of: dict[str, str] = {}
    for name, tree in trees.items():
        try:
            parser.add_bpmn_xml(tree, name)
        except SpiffWorkflowException as exc:
            problems.append(_spiff_problem(exc, trees))
            continue
        except Exception as exc:  # an input the parser did not foresee: a verdict, never a stack trace
            problems.append(Problem("spiff.cannot_read", {"detail": repr(exc)}, file=name))
            continue
        for pid in [*bpmnxml.process_ids(tree), *bpmnxml.embedded_subprocess_ids(tree)]:
            file_of.setdefault(pid, name)
    if problems:
        raise DefinitionError(_with_file_checks(problems, main, trees, limits))

    keys = [pid for name in main for pid in bpmnxml.executable_process_ids(trees[name])]
    if not keys:
        raise DefinitionError([Problem("process.not_executable", file=next(iter(main), None))])
    bundle = Bundle(files={}, forms={}, file_of=file_of)
    for key in keys:
        try:
            spec = parser.get_spec(key)
            subprocesses = parser.get_subprocess_specs(key)
        except RecursionError:
            problems.append(Problem("process.too_deep", element_id=key, file=file_of.get(key)))
            continue
        except (ValidationException, SpiffWorkflowException) as exc:
            if "RecursionError" in str(exc) or isinstance(exc.__cause__ or exc.__context__, RecursionError):
                problems.append(Problem("process.too_deep", element_id=key, file=file_of.get(key)))
            else:
                problems.append(_spiff_problem(exc, trees))
            continue
        except Exception as exc:  # as above: name the process rather than fail
            problems.append(Problem("spiff.cannot_build", {"key": key, "detail": repr(exc)},
                                    element_id=key, file=file_of.get(key)))
            continue
        try:  # SpiffWorkflow lays out the paths ahead when a case starts: it must get through them
            BpmnWorkflow(spec, subprocesses, script_engine=sandbox.script_engine())
        except RecursionError:
            problems.append(Problem("process.endless_start", element_id=key, file=file_of.get(key)))
            continue
        except Exception as exc:  # noqa: BLE001 - a verdict, never a stack trace
            problems.append(Problem("spiff.cannot_start", {"key": key, "detail": repr(exc)},
                                    element_id=key, file=file_of.get(key)))
            continue
        bundle.specs[key] = (spec, subprocesses)
        bundle.names[key] = spec.description or key
        bundle.subjects[key], found = _check_process_properties(file_of[key], trees[file_of[key]], key)
        problems.extend(found)
        bundle.properties[key], found = _check_declarations(spec, subprocesses, forms, trees[file_of[key]],
                                                            key, file_of[key])
        problems.extend(found)
        bundle.readers[key], found = readers_of(trees[file_of[key]], key, file_of[key], bundle.subjects[key])
        problems.extend(found)
        for process_id in [key, *subprocesses]:  # a spec the XML does not name lives in the key's file
            used_file = file_of.get(process_id, file_of[key])
            bundle.files[used_file] = {**library, **main}[used_file]

    for name in bundle.files:
        problems.extend(_check_lanes(name, trees[name]))
        problems.extend(_check_expressions(name, trees[name], limits))
    for spec, subprocesses in bundle.specs.values():
        routine_tasks = {meta.bpmn_id: meta for process in [spec, *subprocesses.values()]
                         for s in process.task_specs.values()
                         if getattr(s, "manual", False) and hasattr(s, "bpmn_id") and (meta := task_meta(s))}
        for process_spec in [spec, *subprocesses.values()]:
            problems.extend(_check_user_tasks(process_spec, forms, trees, file_of, limits, routine_tasks))
            for task_spec in process_spec.task_specs.values():
                form = task_meta(task_spec).form if getattr(task_spec, "manual", False) else None
                if form in forms and form not in bundle.forms:
                    problems += [Problem(*why, file=form) for why in check_form(form, forms[form])]
                    bundle.forms[form] = forms[form]
    if problems:
        raise DefinitionError(_unique(problems))
    return bundle


def _with_file_checks(problems: list[Problem], main: dict[str, str], trees: dict[str, etree._ElementTree],
                      limits: bounds.Bounds) -> list[Problem]:
    """The problems that stopped a stage, with what the checks that need only the XML find in the
    routine's own files (lanes, expressions): every problem at once, so the owner fixes them in one go."""
    for name in main:
        if name in trees:
            problems = [*problems, *_check_lanes(name, trees[name]),
                        *_check_expressions(name, trees[name], limits)]
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, result = set(), []
    for p in problems:
        key = (p.message, p.element_id, p.line, p.file)  # the English text: nested codes and lists too
        if key not in seen:
            seen.add(key)
            result.append(p)
    return result
