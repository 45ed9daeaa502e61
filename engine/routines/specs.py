"""Parsed process versions, each parsed once per OS process and kept in a small LRU cache.

A version's files were validated when deployed, so loading one here only parses; it never validates or
deserializes a spec per step.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from jsonschema import Draft202012Validator
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from ..errors import NotFoundError
from ..org.roles import role_for_lane
from . import bpmnxml, formcheck, step_declarations
from .parser import ElevflowParser

#: A routine's own (process-level) property saying what a case of it is about: a pupil (the default) or
#: a school unit — the unit's quality work, or a report that must not identify a pupil. A unit-level
#: case has no pupil record at all (docs/processes.md "Cases without a pupil").
CASE_SUBJECT = "caseSubject"
CASE_SUBJECTS = ("pupil", "unit")


def process_properties(files: dict[str, str], key: str) -> dict[str, str]:
    """The properties on process `key` itself (name -> value, in document order): `caseSubject`, the
    quality figures it declares (engine/routines/quality_measures.py), ..."""
    for name, text in sorted(files.items()):
        if f'id="{key}"' not in text:
            continue
        tree, _ = bpmnxml.parse(text, name)
        if tree is not None and key in bpmnxml.process_ids(tree):
            return {n: p.get("value") or "" for n, p in bpmnxml.process_properties(tree, key).items()}
    return {}


def case_subject(properties: dict[str, str]) -> str:
    """What a case of the process is about, from its properties: "pupil" or "unit". The files were
    validated at deploy, so a value other than "unit" can only be "pupil" or no value at all."""
    return "unit" if properties.get(CASE_SUBJECT) == "unit" else "pupil"


#: The grounds on which a case may still be cancelled once it has reached a user task whose
#: `cancelGrounds` property names them (engine/runtime/cases.py), with what they say.
CANCEL_GROUNDS = {"elev_flyttat": "Eleven har flyttat från skolenheten",
                  "dubblett": "Ärendet är en dubblett av ett annat ärende"}


@dataclass(frozen=True)
class TaskMeta:
    """What the engine reads from a user task's extensions."""

    bpmn_id: str
    name: str
    lane: str | None
    role: str | None
    form: str | None
    due_rule: str | None
    due_from: str | None
    assignee_from: str | None
    decision: str | None
    non_delegable: bool
    instructions: str
    personal: bool = False  # its holder's own duty: never offered to a lane, released or handed on
    #: once the case reached this task, it may be cancelled only on these grounds (CANCEL_GROUNDS)
    cancel_grounds: tuple[str, ...] = ()
    #: the steps whose documentation the task's page shows (step_declarations.py), and its form's prefill
    context: tuple[str, ...] = ()
    prefill: str = ""


def user_tasks_of(processes: Iterable[Any]) -> dict[str, tuple[TaskMeta, str]]:
    """Every user task of the given process specs, by BPMN id: its metadata and the process it is in."""
    return {meta.bpmn_id: (meta, process.name) for process in processes for s in process.task_specs.values()
            if getattr(s, "manual", False) and getattr(s, "bpmn_id", None) and (meta := task_meta(s))}


def task_meta(task_spec: Any) -> TaskMeta:
    ext = getattr(task_spec, "extensions", None) or {}
    props = ext.get("properties", {})
    return TaskMeta(
        bpmn_id=task_spec.bpmn_id,
        name=task_spec.bpmn_name or task_spec.bpmn_id,
        lane=task_spec.lane,
        role=role_for_lane(task_spec.lane),
        form=props.get("formJsonSchemaFilename"),
        due_rule=props.get("dueRule"),
        due_from=props.get("dueFrom"),
        assignee_from=props.get("assigneeFrom"),
        decision=props.get("decision"),
        non_delegable=props.get("nonDelegable", "").strip().lower() == "true",
        instructions=ext.get("instructionsForEndUser") or "",
        personal=props.get("personal", "").strip().lower() == "true",
        cancel_grounds=tuple(props.get("cancelGrounds", "").split()),
        context=step_declarations.context_steps(props.get(step_declarations.CONTEXT, "")),
        prefill=props.get(step_declarations.PREFILL, ""),
    )


@dataclass
class ParsedVersion:
    """A deployed version, ready to run."""

    id: int
    key: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, dict[str, Any]]
    subject: str = "pupil"  # what a case is about: "pupil" or "unit" (CASE_SUBJECT)
    properties: dict[str, str] = field(default_factory=dict)  # the process's own (process_properties)
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict)
    _meta: dict[int, TaskMeta] = field(default_factory=dict)
    _by_bpmn_id: dict[str, TaskMeta] | None = None
    _assignee_fields: dict[str, frozenset[str]] | None = None
    _flows: dict[tuple[str, str], tuple[str, str, str]] | None = None  # casediagram.flows

    @property
    def unit_level(self) -> bool:
        """A case of this version belongs to a school unit and has no pupil."""
        return self.subject == "unit"

    def meta(self, task_spec: Any) -> TaskMeta:
        found = self._meta.get(id(task_spec))
        if found is None:
            found = self._meta[id(task_spec)] = task_meta(task_spec)
        return found

    def user_tasks(self) -> dict[str, TaskMeta]:
        """Every user task of the version (its call activities' processes included), by BPMN id."""
        if self._by_bpmn_id is None:
            self._by_bpmn_id = {
                meta.bpmn_id: meta for p in [self.spec, *self.subprocess_specs.values()]
                for s in p.task_specs.values() if getattr(s, "bpmn_id", None) and (meta := self.meta(s))}
        return self._by_bpmn_id

    def assignee_fields(self) -> dict[str, frozenset[str]]:
        """Form fields that name the person a later task goes to (its `assigneeFrom`), each with the
        lane roles of the tasks it assigns: a form shows those fields as a choice among that lane's
        people at the unit."""
        if self._assignee_fields is None:
            found: dict[str, set[str]] = {}
            for meta in self.user_tasks().values():
                if meta.assignee_from and meta.role:
                    found.setdefault(meta.assignee_from, set()).add(meta.role)
            self._assignee_fields = {name: frozenset(roles) for name, roles in found.items()}
        return self._assignee_fields

    def validator(self, form: str) -> Draft202012Validator:
        """The form's validator (engine/routines/formcheck.py: blank required texts and date-time
        included)."""
        found = self._validators.get(form)
        if found is None:
            found = self._validators[form] = formcheck.validator(self.forms[form])
        return found


def parse_files(files: dict[str, str]) -> ElevflowParser:
    """A parser loaded with these BPMN files (already known to be safe XML)."""
    parser = ElevflowParser()
    for name, text in sorted(files.items()):
        tree, problems = bpmnxml.parse(text, name)
        if tree is None:  # cannot happen for a deployed version; the files were checked then
            raise ValueError(str(problems[0]))
        parser.add_bpmn_xml(tree, name)
    return parser


class SpecCache:
    """LRU of parsed versions by id, shared by every thread of the process.

    `load(version_id)` returns a version's (key, files, forms) from the database on a miss.
    """

    def __init__(self, size: int, load: Callable[[int], tuple[str, dict[str, str], dict[str, Any]] | None]):
        self.size = size
        self._load = load
        self._items: OrderedDict[int, ParsedVersion] = OrderedDict()
        self._lock = threading.Lock()
        self.parses = 0  # how many versions this cache has parsed (tests and benchmarks read it)

    def put(self, parsed: ParsedVersion) -> None:
        with self._lock:
            self._items[parsed.id] = parsed
            self._items.move_to_end(parsed.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, version_id: int) -> ParsedVersion:
        with self._lock:
            found = self._items.get(version_id)
            if found is not None:
                self._items.move_to_end(version_id)
                return found
        stored = self._load(version_id)
        if stored is None:
            raise NotFoundError(f"process version {version_id} does not exist")
        key, files, forms = stored
        parser = parse_files(files)
        properties = process_properties(files, key)
        parsed = ParsedVersion(version_id, key, parser.get_spec(key), parser.get_subprocess_specs(key), forms,
                               case_subject(properties), properties)
        self.parses += 1
        self.put(parsed)
        return parsed
