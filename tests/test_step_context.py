"""What a step builds on and its form's first values, declared with the routine (`context`, `prefill`):
refused at deploy when they name a step or field the routine does not have; on a step's page, the earlier
steps' documentation as the user may see it (the medical part's withheld, the look logged) and the form
proposed from it, the pupil's guardians and today."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from bpmn_builder import HEAD
from sqlalchemy import select

from elevflow.engine import complete_task, deploy, list_tasks, start_case
from elevflow.engine.documents import stepcontext
from elevflow.engine.errors import DefinitionError
from elevflow.engine.org import records as org
from elevflow.engine.storage.models import AccessLogEntry, Guardian, PupilGuardian
from elevflow.engine.views import taskview

FORMS = {
    "forsta.json": {"type": "object", "properties": {
        "beskrivning": {"type": "string", "title": "Beskrivning"},
        "amnen": {"type": "array", "title": "Ämnen", "items": {"type": "object", "properties": {
            "amne": {"type": "string", "title": "Ämne"}, "anpassning": {"type": "string"}}}},
        "datum": {"type": "string", "format": "date"}}},
    "halsa.json": {"type": "object", "properties": {"halsa": {"type": "string", "title": "Hälsa"}}},
    "andra.json": {"type": "object", "properties": {
        "datum": {"type": "string", "format": "date", "title": "Datum"},
        "svarigheter": {"type": "string"},
        "amnen": {"type": "array", "items": {"type": "string"}},
        "provat": {"type": "string"},
        "behov": {"type": "array", "items": {"type": "object", "properties": {
            "omrade": {"type": "string"}, "behov": {"type": "string"}}}},
        "halsa": {"type": "string"},
        "mottagare": {"type": "array", "items": {"type": "object", "properties": {
            "mottagare_namn": {"type": "string"}, "mottagare_roll": {"type": "string"},
            "mottaget_datum": {"type": "string", "format": "date"}}}}}},
}
PREFILL = ("datum=today; svarigheter=Task_forsta.beskrivning; amnen=Task_forsta.amnen[amne]; "
           "provat=Task_forsta.amnen[anpassning]; behov[omrade]=Task_forsta.amnen[amne]; "
           "behov[behov]=Task_forsta.beskrivning; halsa=Task_halsa.halsa; mottagare=guardians; "
           "mottagare[mottaget_datum]=today")


def task(task_id: str, form: str, extra: str = "") -> str:
    return f"""<bpmn:userTask id="{task_id}" name="Steg {task_id}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>{extra}
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"""


def routine(context: str = "Task_forsta Task_halsa", prefill: str = PREFILL) -> str:
    declared = (f'<spiffworkflow:property name="context" value="{context}"/>'
                f'<spiffworkflow:property name="prefill" value="{prefill}"/>')
    return f"""{HEAD}  <bpmn:process id="bygger" name="Bygger på" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_1" name="Lärare"><bpmn:flowNodeRef>Task_forsta</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_andra</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_2" name="Skolsköterska"><bpmn:flowNodeRef>Task_halsa</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"/>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Task_forsta"/>
    {task("Task_forsta", "forsta.json")}
    <bpmn:sequenceFlow id="F2" sourceRef="Task_forsta" targetRef="Task_halsa"/>
    {task("Task_halsa", "halsa.json")}
    <bpmn:sequenceFlow id="F3" sourceRef="Task_halsa" targetRef="Task_andra"/>
    {task("Task_andra", "andra.json", declared)}
    <bpmn:sequenceFlow id="F4" sourceRef="Task_andra" targetRef="End"/>
    <bpmn:endEvent id="End"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("context, prefill, code", [
    ("Task_finns_inte", "", "step.context_unknown_step"),
    ("Task_andra", "", "step.context_itself"),
    ("", "datum=Task_finns_inte.beskrivning", "step.prefill_unknown_step"),
    ("", "datum=Task_forsta.finns_inte", "step.prefill_unknown_field"),
    ("", "finns_inte=today", "step.prefill_unknown_target"),
    ("", "behov[finns_inte]=Task_forsta.beskrivning", "step.prefill_unknown_target"),
    ("", "svarigheter=today", "step.prefill_mismatch"),
    ("", "datum=guardians", "step.prefill_mismatch"),
    ("", "amnen=Task_forsta.amnen", "step.prefill_mismatch"),  # rows are not a list of texts
    ("", "datum", "step.prefill_form"),
])
def test_a_declaration_naming_what_the_routine_does_not_have_is_refused_with_a_code(engine, context, prefill,
                                                                                    code):
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, {"bygger.bpmn": routine(context, prefill)}, FORMS)
    reasons = [p.params["reason"].code for p in refused.value.problems if p.code == "task.step_declaration"]
    assert reasons == [code]
    assert all(p.element_id == "Task_andra" for p in refused.value.problems)


@pytest.fixture
def case(engine, people):
    deploy(engine, {"bygger.bpmn": routine()}, FORMS)
    with engine.db.write() as s:
        nurse = org.add_user(s, "nurse", "Nora Nurse")
        org.assign_role(s, nurse.id, people.unit, "skolskoterska")
        guardian = Guardian(given_name="Anna", family_name="Andersson")
        s.add(guardian)
        s.flush()
        s.add(PupilGuardian(pupil_id=people.pupil, guardian_id=guardian.id))
        nurse_id = nurse.id
    started = start_case(engine, "bygger", pupil_id=people.pupil, by=people.teacher)
    [first] = list_tasks(engine, case_id=started.id, state="ready")
    complete_task(engine, first.id, {"beskrivning": "Läser långsamt.\nTappar fokus.", "amnen": [
        {"amne": "Svenska", "anpassning": "Inläsningstjänst"},
        {"amne": "Matematik", "anpassning": "Färre tal"}]}, by=people.teacher)
    [health] = list_tasks(engine, case_id=started.id, state="ready")
    complete_task(engine, health.id, {"halsa": "Synundersökning visar nedsatt syn."}, by=nurse_id)
    [second] = list_tasks(engine, case_id=started.id, state="ready")
    return started.id, second.id, nurse_id


def test_the_step_shows_what_it_builds_on_withholds_the_medical_part_and_logs_the_look(engine, people, case):
    case_id, task_id, _nurse = case
    view = taskview.open_task(engine, people.teacher, task_id, log=False)
    found = stepcontext.for_task(engine, people.teacher, view)
    assert [(e.bpmn_id, e.completed_by_name, e.withheld) for e in found.entries] == [
        ("Task_forsta", "Teacher", False), ("Task_halsa", "Nora Nurse", True)]
    assert found.entries[0].data["beskrivning"] == "Läser långsamt.\nTappar fokus."
    assert found.entries[1].data is None and "halsa" not in found.prefill  # never copied out of the zone
    with engine.db.read() as s:
        looks = s.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.case_id == case_id,
                                                              AccessLogEntry.user_id == people.teacher)).all()
    assert "underlag för steget" in looks


def test_the_form_is_proposed_from_earlier_steps_the_guardians_and_today_in_swedish_time(engine, people,
                                                                                        case):
    _case_id, task_id, _nurse = case
    view = taskview.open_task(engine, people.teacher, task_id, log=False)
    # 23:30 UTC on 6 December is already 7 December in Sweden
    with time_machine.travel(datetime(2026, 12, 6, 23, 30, tzinfo=timezone.utc), tick=False):
        proposed = stepcontext.for_task(engine, people.teacher, view).prefill
    assert proposed == {
        "datum": "2026-12-07", "svarigheter": "Läser långsamt.\nTappar fokus.",
        "amnen": ["Svenska", "Matematik"], "provat": "Inläsningstjänst\nFärre tal",
        "behov": [{"omrade": "Svenska", "behov": "Läser långsamt."},
                  {"omrade": "Matematik", "behov": "Tappar fokus."}],
        "mottagare": [{"mottagare_namn": "Anna Andersson", "mottagare_roll": "vardnadshavare",
                       "mottaget_datum": "2026-12-07"}]}


def test_the_school_nurse_sees_and_gets_the_medical_part_and_an_outsider_nothing(engine, people, case):
    _case_id, task_id, nurse = case
    view = taskview.open_task(engine, nurse, task_id, log=False)
    found = stepcontext.for_task(engine, nurse, view)
    assert [e.withheld for e in found.entries] == [False, False]
    assert found.prefill["halsa"] == "Synundersökning visar nedsatt syn."
    with pytest.raises(Exception) as refused:
        taskview.open_task(engine, people.outsider, task_id, log=False)
    assert type(refused.value).__name__ == "NotVisibleError"
