"""The engine's task scan (engine/storage/workflow.py) against SpiffWorkflow's own TaskIterator.

Every conformance scenario runs through the engine once more, with each scan the workflow makes checked
against SpiffWorkflow's answer to the same question, at that moment: the same tasks in the same order,
for the state asked and for every other state and mask too (so a walk that only happens to agree on the
states the engine asks for today is caught as well). The scenarios reach user and manual tasks, gateways,
timers and cycles, boundary events, messages, event subprocesses, embedded subprocesses, call activities
and multi-instance tasks, each saved and loaded again between steps.
"""

from __future__ import annotations

import sys

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.specs import Simple, WorkflowSpec
from SpiffWorkflow.task import TaskState
from SpiffWorkflow.util.task import TaskIterator
from SpiffWorkflow.workflow import Workflow

from elevflow.engine.storage import workflow as scanning

from .test_conformance import SCENARIOS, test_each_model_runs_as_drawn

STATES = [TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE, TaskState.WAITING, TaskState.READY,
          TaskState.STARTED, TaskState.COMPLETED, TaskState.ERROR, TaskState.CANCELLED,
          TaskState.FINISHED_MASK, TaskState.DEFINITE_MASK, TaskState.PREDICTED_MASK,
          TaskState.NOT_FINISHED_MASK, TaskState.ANY_MASK]


class Checks:
    def __init__(self) -> None:
        self.scans = 0
        self.workflows: set[int] = set()

    def compare(self, workflow: scanning.Workflow) -> None:
        for state in STATES:
            for manual in (None, True, False):
                expected = list(BpmnTaskIterator(workflow.task_tree, state=state, manual=manual))
                assert list(scanning.scan(workflow, state, manual)) == expected, (state, manual)
            assert (list(scanning.scan(workflow, state, subprocesses=False))
                    == list(TaskIterator(workflow.task_tree, state=state))), state
        for sub in workflow.subprocesses.values():  # a subworkflow's own tree, as the engine asks of it
            assert (list(scanning.scan(sub, TaskState.READY))
                    == list(BpmnTaskIterator(sub.task_tree, state=TaskState.READY)))
        self.scans += 1
        self.workflows.add(id(workflow))


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_the_scan_finds_what_spiffworkflow_finds(engine, people, key, monkeypatch):
    checks = Checks()
    fast_get_tasks, fast_update = scanning.Workflow.get_tasks, scanning.Workflow.update_waiting_tasks

    def get_tasks(self, first_task=None, **kwargs):
        checks.compare(self)
        found = fast_get_tasks(self, first_task, **kwargs)
        assert found == BpmnWorkflow.get_tasks(self, first_task, **kwargs)
        return found

    def update_waiting_tasks(self):
        checks.compare(self)
        fast_update(self)

    monkeypatch.setattr(scanning.Workflow, "get_tasks", get_tasks)
    monkeypatch.setattr(scanning.Workflow, "update_waiting_tasks", update_waiting_tasks)
    test_each_model_runs_as_drawn(engine, people, key)
    assert checks.scans > 0, "the engine's workflow class was not used"


def test_a_deep_tree_is_walked_as_deep_as_spiffworkflow_walks_it():
    """Past 1,000 levels SpiffWorkflow stops descending; so does the scan (a loop run some hundred times
    builds such a tree). A chain of 1,010 tasks, predicted below its start."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # SpiffWorkflow predicts the chain recursively
    try:
        deep = _chain(1010)
    finally:
        sys.setrecursionlimit(limit)
    assert len(deep.tasks) == 1011
    for state in STATES:
        expected = list(TaskIterator(deep.task_tree, state=state))
        assert list(scanning.scan(deep, state, subprocesses=False)) == expected, state
    assert len(list(scanning.scan(deep, TaskState.ANY_MASK, subprocesses=False))) == 1001


def _chain(length: int) -> Workflow:
    spec = WorkflowSpec(addstart=True)
    previous = spec.start
    for number in range(length):
        following = Simple(spec, f"t{number}")
        previous.connect(following)
        previous = following
    return Workflow(spec)
