"""Shared by the editing, migration and editor tests: a process owner, and stodkedja edited the way a
process owner would edit it in the browser."""
from __future__ import annotations

from typing import Any

from elevflow.engine.org import records as org

FOLLOW_UP_TASK = """<bpmn:userTask id="Task_uppfoljning" name="Följ upp programmet">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="utredning.json"/>
          <spiffworkflow:property name="dueRule" value="P2W"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Task_uppfoljning" targetRef="End_klar"/>
    """


def add_process_owner(engine: Any, unit_id: int, username: str = "processagare") -> int:
    with engine.db.write() as s:
        user = org.add_user(s, username, "Petra Processägare", f"{username}@example.se")
        org.assign_role(s, user.id, unit_id, "processagare")
        return user.id


def with_follow_up(xml: str) -> str:
    """A follow-up step added after the decision, in the Rektor lane."""
    old = '<bpmn:sequenceFlow id="Flow_4" sourceRef="Task_beslut" targetRef="End_klar"/>'
    xml = xml.replace(old, old.replace("End_klar", "Task_uppfoljning") + "\n    " + FOLLOW_UP_TASK)
    return xml.replace("<bpmn:flowNodeRef>End_klar</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>End_klar</bpmn:flowNodeRef>\n"
                       "        <bpmn:flowNodeRef>Task_uppfoljning</bpmn:flowNodeRef>")


def without_report(xml: str) -> str:
    """The teacher's report step removed: a case starts straight at the investigation."""
    start = xml.index('<bpmn:userTask id="Task_anmalan"')
    end = xml.index('<bpmn:userTask id="Task_utredning"')
    xml = xml[:start] + xml[end:]
    xml = xml.replace('targetRef="Task_anmalan"/>', 'targetRef="Task_utredning"/>')
    return xml.replace("<bpmn:flowNodeRef>Task_anmalan</bpmn:flowNodeRef>", "")


def with_report_due_in(xml: str, rule: str) -> str:
    """The report step's due rule changed."""
    return xml.replace('<spiffworkflow:property name="dueRule" value="P1W"/>',
                       f'<spiffworkflow:property name="dueRule" value="{rule}"/>')


ESCAPE = "().__class__.__base__.__subclasses__()"


def with_escape(xml: str) -> str:
    return xml.replace('behov == "ja"', f'behov == "ja" and {ESCAPE}')
