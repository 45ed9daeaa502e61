"""Interrupting event subprocesses, which SpiffWorkflow starts beside the process without stopping it.

BPMN: when the start event of an event subprocess marked interrupting (the default) fires, the process
that holds it stops - its open tasks, its waiting events, its other event subprocesses - and only the
event subprocess runs on to the end. The parser marks such start events (parser.py, `INTERRUPTING`); after
every run of the workflow, `interrupt` cancels what the fired ones interrupt, once (the event subprocess's
task remembers it in its internal data, which is saved with the case).
"""
from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

from ..routines.parser import INTERRUPTING

DONE = "elevflow_interrupted"


def _descendants(task: Task) -> set:
    found, todo = set(), [task]
    while todo:
        current = todo.pop()
        found.add(current.id)
        todo.extend(current.children)
    return found


def interrupt(workflow: BpmnWorkflow) -> bool:
    """Stop what each newly fired interrupting event subprocess interrupts; return whether any fired."""
    acted = False
    for sub in list(workflow.subprocesses.values()):
        starts = {s.name for s in sub.spec.start.outputs if getattr(s, INTERRUPTING, False)}
        if not starts or sub.parent_task_id is None:  # the usual case: looks at no task at all
            continue
        if not any(t.task_spec.name in starts and t.state == TaskState.COMPLETED for t in sub.tasks.values()):
            continue
        esp = workflow.get_task_from_id(sub.parent_task_id)
        if esp is None or esp.internal_data.get(DONE):
            continue
        esp.internal_data[DONE] = True
        parent, keep = esp.workflow, _descendants(esp)
        for task in list(parent.tasks.values()):
            if task.id in keep or task.id not in parent.tasks or task.has_state(TaskState.FINISHED_MASK):
                continue
            if task.id in workflow.subprocesses:  # an embedded subprocess or another event subprocess
                workflow.cancel(workflow.subprocesses[task.id])
            task.cancel()
        for task in list(parent.tasks.values()):  # the joins that waited for what was stopped may go on
            if task.state == TaskState.WAITING and task.id in keep:
                task.task_spec._update(task)
        acted = True
    return acted
