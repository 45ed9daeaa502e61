"""A case's workflow state, stored without its spec.

The spec lives once per process version (see specs.py); a case row holds only its task tree and data,
serialised with SpiffWorkflow's own converters so its format version and migrations still apply. A
running case is stored as plain JSON (fast to write each step); an ended case is compressed.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task, TaskState

from .jsondata import ensure_json
from .workflow import Workflow

SERIALIZER_VERSION = VERSION


def _plain(value: Any) -> bool:
    """Whether a value is plain JSON already (so SpiffWorkflow's registry would leave it as it is)."""
    kind = type(value)
    if kind in (str, int, float, bool, type(None)):
        return True
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


class _StrictTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, sped up, and refusing data that is not plain JSON.

    It writes exactly what TaskConverter.to_dict writes (a test compares the two), but keeps each task
    id's string form on the workflow between steps and skips the registry for plain internal data.
    """

    def to_dict(self, task: Task) -> dict[str, Any]:
        workflow = task.workflow
        names = _id_strings(workflow.top_workflow)
        parent = workflow.tasks.get(task._parent) if task._parent is not None else None
        if parent is None:
            data, delta = task.data, {}
            ensure_json(data, f"task {task.task_spec.name!r}")
        else:
            before, after = parent.data, task.data
            updates = {k: v for k, v in after.items() if k not in before or v != before[k]}
            ensure_json(updates, f"task {task.task_spec.name!r}")
            data, delta = {}, {"updates": updates, "deletions": [k for k in before if k not in after]}
        internal = task.internal_data
        return {
            "id": _id(names, task.id),
            "parent": _id(names, task._parent) if parent is not None else None,
            "children": [_id(names, child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": internal if _plain(internal) else self.registry.convert(internal),
            "data": data,
            "delta": delta,
            "typename": "Task",
        }

    def encoded(self, task: Task) -> dict[str, Any] | orjson.Fragment:
        """What `to_dict` writes, for `dump`. A finished task no longer changes: its JSON is kept from the
        step that settled it and written as it is (an orjson Fragment), not encoded again at every later
        step of the case. (Kept in a dict on the workflow, by task id: an attribute set on the task itself
        would cost every later attribute look-up on it CPython's fast path.)"""
        settled = task.state & TaskState.FINISHED_MASK
        if not settled:
            return self.to_dict(task)
        memo = _memo(task.workflow.top_workflow)
        key = (task.state, task.last_state_change, len(task._children))
        found = memo.get(task.id)
        if found is not None and found[0] == key:
            return found[1]
        fragment = orjson.Fragment(orjson.dumps(self.to_dict(task)))
        memo[task.id] = (key, fragment)
        return fragment


def _memo(top: BpmnWorkflow) -> dict[UUID, tuple[tuple[int, float, int], orjson.Fragment]]:
    memo = top.__dict__.get("_elevflow_encoded")
    if memo is None:
        memo = top.__dict__["_elevflow_encoded"] = {}
    return memo


def _id_strings(top: BpmnWorkflow) -> dict[UUID, str]:
    names = top.__dict__.get("_elevflow_ids")
    if names is None:
        names = top.__dict__["_elevflow_ids"] = {}
    return names


def _id(names: dict[UUID, str], task_id: UUID) -> str:
    found = names.get(task_id)
    if found is None:
        found = names[task_id] = str(task_id)
    return found


class _StateConverter(BpmnWorkflowConverter):
    """The workflow converter minus the specs, which it takes from the cache when restoring."""

    def to_dict(self, workflow: BpmnWorkflow, encode: Callable[[Task], Any] | None = None) -> dict[str, Any]:
        """The workflow's dict; `encode` gives each task's (by default `to_dict`: plain dicts)."""
        encode = encode or _TASKS.to_dict
        dct = self._workflow_dict(workflow, encode)
        names = _id_strings(workflow)
        dct["subprocesses"] = {
            _id(names, key): {**self._workflow_dict(sub, encode), "parent_task_id": str(sub.parent_task_id),
                              "spec": sub.spec.name, "typename": "BpmnSubWorkflow"}
            for key, sub in workflow.subprocesses.items()}
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["typename"] = "BpmnWorkflow"
        return dct

    def _workflow_dict(self, workflow: Any, encode: Callable[[Task], Any]) -> dict[str, Any]:
        """What WorkflowConverter.to_dict writes, without a registry round trip per task."""
        ensure_json(workflow.data, "case data")  # so it is plain JSON, which the registry leaves as it is
        names = _id_strings(workflow.top_workflow)
        return {
            "data": workflow.data,
            "correlations": workflow.correlations,
            "last_task": _id(names, workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": {_id(names, key): encode(task) for key, task in workflow.tasks.items()},
            "root": _id(names, workflow.task_tree.id),
        }

    def restore(self, dct: dict[str, Any], spec: BpmnProcessSpec,
                subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_TASKS = _StrictTaskConverter(Task, _REGISTRY)
_CONVERTER = _StateConverter(Workflow, _REGISTRY)


def dump(workflow: BpmnWorkflow, *, compress: bool = False) -> bytes:
    """The case's state as bytes; raises DataNotJSONError if any data is not plain JSON."""
    raw = orjson.dumps(_CONVERTER.to_dict(workflow, _TASKS.encoded))
    # level 1: a fifth of level 6's time in the step that ends the case, for some 5 % more bytes
    return b"z" + zlib.compress(raw, 1) if compress else raw


def load(blob: bytes, version: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec],
         script_engine: Any) -> BpmnWorkflow:
    """Restore a case's workflow against its (cached) spec, migrating an older format first."""
    raw = zlib.decompress(blob[1:]) if blob[:1] == b"z" else blob
    dct = orjson.loads(raw)
    if version != SERIALIZER_VERSION:
        dct = _migrate(dct, version, spec, subprocess_specs)
    workflow = _CONVERTER.restore(dct, spec, subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def _migrate(dct: dict[str, Any], version: str, spec: BpmnProcessSpec,
             subprocess_specs: dict[str, BpmnProcessSpec]) -> dict[str, Any]:
    """Run SpiffWorkflow's own migrations, which expect the specs inside the dict."""
    dct["spec"] = _REGISTRY.convert(spec)
    dct["subprocess_specs"] = {k: _REGISTRY.convert(v) for k, v in subprocess_specs.items()}
    if version in MIGRATIONS:  # each migration chains on to the newest format itself
        MIGRATIONS[version](dct)
    dct.pop("spec")
    dct.pop("subprocess_specs")
    return dct
