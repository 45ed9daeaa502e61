"""The workflow object a case runs in: SpiffWorkflow's BpmnWorkflow, with a faster task scan.

SpiffWorkflow finds tasks by state with its TaskIterator, a general tree walk (end markers, depth
bookkeeping, a filter object, a list copied at every branch) that costs more than the rest of an engine
step's own work: every `do_engine_steps` asks for the READY tasks at least twice, and every completed task
asks for the WAITING ones. `Workflow` answers the two questions the step path asks - tasks in a state
(optionally manual or not), and "update the WAITING tasks" - with a plain stack walk that visits the same
tasks in the same order (depth first, a subprocess's own tree before the children of the task that runs
it), so the workflow runs exactly as SpiffWorkflow's own would. Every other query goes to SpiffWorkflow.
tests/conformance/test_workflow_scan.py compares the two walks at every scan of every conformance scenario.

Differences: none in results. SpiffWorkflow stops descending 1,000 levels deep (its depth count, which
it keeps by walking parents, also drifts inside subprocesses); this walk counts each task's depth along
its own path and stops at the same 1,000.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

MAX_DEPTH = 1000  # SpiffWorkflow's TaskIterator default
_FUTURE, _MAYBE, _COMPLETED = TaskState.FUTURE, TaskState.MAYBE, TaskState.COMPLETED


def _lowest_descended(state: int) -> int:
    """The lowest state whose children may hold a match (TaskIterator's `min_state`): a predicted task
    follows only definite or finished ones, a definite task only finished ones."""
    if state & TaskState.PREDICTED_MASK:
        return _MAYBE
    if state & TaskState.DEFINITE_MASK:
        return _FUTURE
    return _COMPLETED


def scan(workflow: Any, state: int, manual: bool | None = None, *,
         subprocesses: bool = True) -> Iterator[Task]:
    """The tasks of `workflow` (a case's workflow or one of its subworkflows) in `state` (a state or mask),
    and whose spec's `manual` equals `manual` unless it is None, in TaskIterator's order. `subprocesses`:
    walk into the trees of subprocesses too, as BpmnTaskIterator does (TaskIterator does not).

    Lazy, as TaskIterator is: a task's children are read when the task is reached, before it is yielded,
    so a caller that changes a task while walking sees what TaskIterator's caller would."""
    lowest = _lowest_descended(state)
    subs = workflow.top_workflow.subprocesses if subprocesses else None
    stack: list[tuple[Task, int]] = [(workflow.task_tree, 0)]
    pop, push = stack.pop, stack.extend
    while stack:
        task, depth = pop()
        sub = subs.get(task.id) if subs else None
        if (task._children or sub is not None) and (task._state >= lowest or sub is not None) \
                and depth < MAX_DEPTH:
            found = task.workflow.tasks
            # reversed onto a stack: the first child comes off first; the subprocess's tree before them
            push([(found[child], depth + 1) for child in reversed(task._children)])
            if sub is not None:
                push(((sub.task_tree, depth + 1),))
        if task._state & state and (manual is None or task.task_spec.manual == manual):
            yield task


class Workflow(BpmnWorkflow):
    """A case's workflow (see the module docstring)."""

    def get_tasks(self, first_task: Task | None = None, **kwargs: Any) -> list[Task]:
        if first_task is None and kwargs.keys() <= {"state", "manual"} and "state" in kwargs:
            return list(scan(self, kwargs["state"], kwargs.get("manual")))
        return super().get_tasks(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        for task in scan(self, TaskState.WAITING, subprocesses=False):  # Workflow's own: TaskIterator
            task.task_spec._update(task)
