"""A published routine can never widen anyone's access (issue 13, point 3).

A process owner publishes, through the editor, a routine whose script names himself in the field a
later task takes its assignee from (`assigneeFrom`), or whose lane is the process owner's own role. He
must not become a participant of any case: his case page answers as for a case that does not exist,
his inbox and notifications stay empty, and the case shows the rektor why the task waits in its lane.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from elevflow.engine import PermissionDeniedError, complete_task, list_tasks, start_case
from elevflow.engine.storage.models import AccessLogEntry, AuditEvent, ProcessVersion

from .conftest import login, post, publish, text
from .test_cases import REPORT

NAMES_HIMSELF = """<bpmn:scriptTask id="Script_utse" name="Utse utredare" scriptFormat="python">
      <bpmn:script>utredare = OWNER</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_utse" sourceRef="Script_utse" targetRef="Task_utredning"/>
    """


def naming_himself(xml: str, owner: int) -> str:
    """The report step followed by a script that writes the owner's id where the investigation takes its
    assignee from."""
    flow = '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_anmalan" targetRef="Task_utredning"/>'
    xml = xml.replace(flow, flow.replace("Task_utredning", "Script_utse") + "\n    "
                      + NAMES_HIMSELF.replace("OWNER", str(owner)))
    xml = xml.replace('<spiffworkflow:property name="dueRule" value="5BD"/>',
                      '<spiffworkflow:property name="dueRule" value="5BD"/>\n'
                      '          <spiffworkflow:property name="assigneeFrom" value="utredare"/>')
    return xml.replace("<bpmn:flowNodeRef>Task_anmalan</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>Task_anmalan</bpmn:flowNodeRef>\n"
                       "        <bpmn:flowNodeRef>Script_utse</bpmn:flowNodeRef>")


def test_a_routine_naming_its_author_gives_him_no_case(app, browser, engine, people, owner, chain):
    page = publish(browser, chain, lambda xml: naming_himself(xml, owner), note="Utredaren utses automatiskt")
    assert "Version 2 av ”Stödkedja (test)” är publicerad" in page
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [report] = list_tasks(engine, case_id=case.id, state="ready")
    complete_task(engine, report.id, REPORT, by=people.teacher)

    # The investigation went to no one: it waits for the unit's specialpedagog, as its lane says.
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    assert (task.bpmn_id, task.assignee_id, task.role) == ("Task_utredning", None, "specialpedagog")
    with engine.db.read() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.kind == "assignee_refused")).one()
        assigned = s.scalars(select(AuditEvent).where(AuditEvent.kind == "task_assigned")).all()
    assert refused.case_id == case.id and refused.data["named_id"] == owner
    assert refused.data["field"] == "utredare" and assigned == []

    # The process owner sees nothing of it: not the case page, its task, its diagram, nor his inbox.
    for path in (f"/arenden/{case.id}", f"/uppgifter/{task.id}", f"/arenden/{case.id}/diagram.bpmn"):
        assert browser.get(path).status_code == 404, path
    inbox = text(browser.get("/uppgifter"))
    assert "Alva" not in inbox and "Utred behovet" not in inbox
    assert "Alva" not in text(browser.get("/aviseringar"))
    with engine.db.read() as s:
        looks = s.scalars(select(AccessLogEntry).where(AccessLogEntry.user_id == owner)).all()
    assert looks and not any(look.allowed for look in looks)  # his tries are on record, refused

    # The rektor sees why the task waits in its lane; the specialpedagog can take it.
    rektor = app.test_client()
    login(rektor, "rektor")
    case_page = text(rektor.get(f"/arenden/{case.id}"))
    assert "gick inte till den som fältet utredare anger (Petra Processägare)" in case_page
    specialpedagog = app.test_client()
    login(specialpedagog, "specialpedagog")
    assert "Utred behovet" in text(specialpedagog.get("/uppgifter"))


def test_a_lane_of_the_process_owner_is_refused_at_publish(browser, engine, chain):
    page = publish(browser, chain, lambda xml: xml.replace('name="Specialpedagog"', 'name="Processägare"'))
    assert "publicerades inte" in page and "Lane_specialpedagog" in page
    assert "arbetar med rutiner, aldrig med ärenden" in page  # the problem in the user's language
    with engine.db.read() as s:
        assert s.scalars(select(ProcessVersion.version).where(ProcessVersion.key == "stodkedja")).all() == [1]


def test_a_process_owner_neither_finds_pupils_nor_starts_a_case_for_one(browser, engine, people, owner,
                                                                        chain):
    """Holding the process owner's role at every unit (as the organisation import gives it) opens no
    pupil: search finds nobody, starting is refused, and the engine refuses it too (#13)."""
    assert "Andersson" not in text(browser.get("/elever?q=Alva"))  # the term is shown again, no pupil
    assert post(browser, f"/elever/{people.pupil}/starta", {"rutin": "stodkedja"}).status_code == 404
    with pytest.raises(PermissionDeniedError, match="may not start a case"):
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=owner)
    with engine.db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "case_started")).all() == []
