"""The sections a routine declares for its decision documents (engine/documents/document_sections.py):
checked at
deploy, and printed from the case's version, so an organiser's own decision gets its own document."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from bpmn_builder import process

from elevflow.engine import DefinitionError, deploy, list_tasks, sign_decision, start_case
from elevflow.engine.documents.document_sections import of_version
from elevflow.engine.documents.pdf import decision_content
from elevflow.engine.storage.models import DecisionRecord

DECISION = """<bpmn:userTask id="Task_1" name="Besluta om samtalsstöd">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="beslut.json"/>
        <spiffworkflow:property name="decision" value="samtalsstod"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {
    "omfattning": {"type": "string", "title": "Omfattning",
                   "oneOf": [{"const": "vecka", "title": "En gång i veckan"},
                             {"const": "manad", "title": "En gång i månaden"}]},
    "samtal": {"type": "array", "title": "Samtal", "items": {"type": "object", "properties": {
        "vem": {"type": "string", "title": "Med vem"}, "when": {"type": "string", "title": "När"}}}},
    "beslut_ap_motivering": {"type": "string"}}}
DECLARED = {"document:samtalsstod": "Beslut om samtalsstöd | 2 kap. 25 § skollagen (2010:800)",
            "section:samtalsstod:2": "Samtalen: Task_1.samtal",
            "section:samtalsstod:1": "Stödets omfattning: Task_1.omfattning"}


def routine(properties: dict[str, str]) -> str:
    return process(DECISION, lane="Rektor", key="samtal", properties=properties)


def test_an_organisers_own_decision_prints_the_sections_its_routine_declares(engine, people):
    [version] = deploy(engine, {"samtal.bpmn": routine(DECLARED)}, {"beslut.json": FORM})
    data = {"omfattning": "vecka", "samtal": [{"vem": "Kurator", "when": "Tisdagar"}]}
    own = of_version(engine.specs.get(version.id), "samtalsstod", data)
    document = decision_content("samtalsstod", data, signer_name="Rektor R", delegation_ref=None,
                                signed_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc), unit_name="Ekskolan",
                                pupil_name="Alva Andersson", own=own)
    assert (document.title, document.legal_ground) == ("Beslut om samtalsstöd",
                                                       "2 kap. 25 § skollagen (2010:800)")
    headings = [s.heading for s in document.sections]
    assert headings[:4] == ["Elev och skolenhet", "Beslut", "Stödets omfattning", "Samtalen"]
    text = document.text()
    assert "Omfattning: En gång i veckan" in text and "Med vem | När\nKurator | Tisdagar" in text

    case = start_case(engine, "samtal", pupil_id=people.pupil, by=people.rektor)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    sign_decision(engine, task.id, {**data, "beslut_ap_motivering": "Behov"}, by=people.rektor,
                  reauthenticated_at=datetime.now(timezone.utc))
    with engine.db.read() as s:
        [record] = s.query(DecisionRecord).all()
    assert record.decision == "samtalsstod" and bytes(record.document).startswith(b"%PDF-")


@pytest.mark.parametrize("properties, message", [
    ({"section:samtalsstod:1": "Omfattning: Task_2.omfattning"},
     "section 'Omfattning' of the samtalsstod document reads step 'Task_2', which is not a user task"),
    ({"section:samtalsstod:1": "Omfattning: Task_1.antal"},
     "reads field 'antal' of step 'Task_1', which its form beslut.json does not have"),
    ({"section:annat:1": "Omfattning: Task_1.omfattning"}, "the document of decision kind 'annat', which no"),
    ({"section:samtalsstod": "Omfattning: Task_1.omfattning"}, "a section is section:KIND:N = Heading"),
])
def test_a_section_naming_what_the_routine_lacks_is_refused(engine, properties, message):
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, {"samtal.bpmn": routine(properties)}, {"beslut.json": FORM})
    [problem] = refused.value.problems
    assert message in problem.message and problem.element_id == "samtal"
    assert problem.message.startswith(next(iter(properties)) + ": ")
