"""A case's workflow state, stored without its spec.

The spec lives once per process version (see specs.py); a case row holds only its task tree and data,
serialised with SpiffWorkflow's own converters so its format version and migrations still apply. A
running case is stored as plain JSON (fast to write each step); an ended case is compressed.
"""
from __future__ import annotations

import zlib
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from .jsondata import ensure_json

SERIALIZER_VERSION = VERSION


class _StrictTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, refusing data that is not plain JSON as it writes it."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        dct = super().to_dict(task)
        where = f"task {task.task_spec.name!r}"
        ensure_json(dct["data"] if task.parent is None else dct["delta"]["updates"], where)
        return dct


class _StateConverter(BpmnWorkflowConverter):
    """The workflow converter minus the specs, which it takes from the cache when restoring."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        ensure_json(workflow.data, "case data")
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

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
_StrictTaskConverter(Task, _REGISTRY)
_CONVERTER = _StateConverter(BpmnWorkflow, _REGISTRY)


def dump(workflow: BpmnWorkflow, *, compress: bool = False) -> bytes:
    """The case's state as bytes; raises DataNotJSONError if any data is not plain JSON."""
    raw = orjson.dumps(_CONVERTER.to_dict(workflow))
    return b"z" + zlib.compress(raw, 6) if compress else raw


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
