"""The public BPMN MIWG reference models: each gets a clear verdict from the validator, and the
executable document-request model (C.9.1) runs end to end once its user task is put in a lane.

The expected verdicts say, per model, which elements Elevflow cannot run (by id) or that the model is a
descriptive diagram with no executable process. Every problem must name an element or say what to mark.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from elevflow.cli import main
from elevflow.engine import (
    ConflictError,
    PermissionDeniedError,
    complete_task,
    deploy,
    get_case,
    list_tasks,
    start_case,
    verify_audit,
)
from elevflow.engine.expressions.sandbox import script_engine
from elevflow.engine.routines.bpmnxml import NS
from elevflow.engine.routines.editing import verdict
from elevflow.engine.runtime import messages, timers
from elevflow.engine.storage import audit, state
from elevflow.engine.storage.models import Timer

MIWG = Path(__file__).parent / "fixtures" / "miwg"
MODELS = sorted(p.name for p in MIWG.glob("*.bpmn"))
NOT_EXECUTABLE = "no executable process"
SERVICE, DATA_STORE, RULES, FLOW_CONDITION = ("service task", "data store", "business rule task",
                                              "condition on a flow leaving a task")
# model -> (what the problems say, elements they must name)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "A.1.0.bpmn": ({NOT_EXECUTABLE}, set()),
    "A.2.0.bpmn": ({NOT_EXECUTABLE}, set()),
    "A.2.1.bpmn": ({FLOW_CONDITION}, {"_To9Z7TOCEeSknpIVFCxNIQ", "_To9Z8zOCEeSknpIVFCxNIQ"}),
    "A.3.0.bpmn": ({NOT_EXECUTABLE}, set()),
    "A.4.0.bpmn": ({NOT_EXECUTABLE}, set()),
    "A.4.1.bpmn": ({NOT_EXECUTABLE}, set()),
    "B.1.0.bpmn": ({SERVICE, DATA_STORE}, {"_ec919941-53ec-403d-97e1-6a163a063f21", "DS1373655174514"}),
    "B.2.0.bpmn": ({SERVICE, DATA_STORE}, {"_3bfec246-ab94-4807-a79a-3df91ac13800"}),
    "C.1.0.bpmn": ({SERVICE}, {"archiveInvoice"}),
    "C.1.1.bpmn": ({SERVICE, DATA_STORE}, {"archiveInvoice", "sid-14ef3d18-7218-4f57-98f0-bb595114754b"}),
    "C.2.0.bpmn": ({NOT_EXECUTABLE}, set()),
    "C.3.0.bpmn": ({"Exactly one start event is required"}, {"_cd6f230f-13c3-4027-aa3e-57de601a1ab2"}),
    "C.4.0.bpmn": ({SERVICE, DATA_STORE}, {"_9db2d136-aa33-4de2-be76-554e7843363d"}),
    "C.5.0.bpmn": ({DATA_STORE}, {"_776bd6ca-5f18-432f-a748-f1930bfdf16e"}),
    "C.6.0.bpmn": ({SERVICE, "compensation"}, {"_3a2f133c-3ae1-4e21-94b5-6e8cf51acd74"}),
    "C.7.0.bpmn": ({SERVICE, RULES}, {"_eae674ce-4d6e-48ac-819c-c79e0868e40d"}),
    "C.8.0.bpmn": ({SERVICE, RULES}, {"_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32"}),
    "C.8.1.bpmn": ({SERVICE, RULES}, {"_2b960d84-feb1-46a9-a1a1-c300dd996b99"}),
    "C.9.0.bpmn": ({SERVICE}, {"ServiceTask_CancelApplication", "ServiceTask_RejectPolicy"}),
    "C.9.1.bpmn": ({"user task is not in a lane"}, {"UserTask_CallCustomer"}),
    "C.9.2.bpmn": ({"multiinstance task must specify a cardinality"}, {"CallActivity_RequestDocument"}),
}


def test_every_model_has_an_expected_verdict():
    assert len(MODELS) == 21
    assert set(EXPECTED) == set(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_each_model_gets_a_clear_verdict(model):
    found = verdict({model: (MIWG / model).read_text(encoding="utf-8")}, {})
    assert not found.runnable
    says, elements = EXPECTED[model]
    messages = " | ".join(p.message for p in found.problems)
    for words in says:
        assert words in messages, messages
    assert elements <= {p.element_id for p in found.problems}
    for problem in found.problems:  # each names its element, or tells what to mark on the process
        assert problem.element_id or NOT_EXECUTABLE in problem.message, problem
        assert problem.file == model


def test_the_command_line_gives_the_verdict(tmp_path):
    bad = CliRunner().invoke(main, ["check", str(MIWG / "C.1.0.bpmn")])
    assert bad.exit_code == 1 and "archiveInvoice" in bad.output and "service task" in bad.output
    fixed = tmp_path / "C.9.1.bpmn"
    fixed.write_text(document_request_in_a_lane(), encoding="utf-8")
    good = CliRunner().invoke(main, ["check", str(fixed)])
    assert good.exit_code == 0 and "runnable (requestDocument_en)" in good.output


def document_request_in_a_lane() -> str:
    """C.9.1 as a process owner fixes it in the editor: its one person's step put in the Rektor lane."""
    tree = etree.parse(str(MIWG / "C.9.1.bpmn"))
    process = tree.find(".//bpmn:process", NS)
    lane_set = etree.Element(f"{{{NS['bpmn']}}}laneSet", id="LaneSet_1")
    process.insert(0, lane_set)
    lane = etree.SubElement(lane_set, f"{{{NS['bpmn']}}}lane", id="Lane_rektor", name="Rektor")
    for node in process.xpath("bpmn:*[bpmn:incoming or bpmn:outgoing]", namespaces=NS):
        etree.SubElement(lane, f"{{{NS['bpmn']}}}flowNodeRef").text = node.get("id")
    return etree.tostring(tree, encoding="unicode")


def test_the_document_request_runs_end_to_end_on_the_timers(engine, people):
    files = {"C.9.1.bpmn": document_request_in_a_lane()}
    assert verdict(files, {}).runnable
    version = deploy(engine, files, {})[0]
    assert version.key == "requestDocument_en"
    start = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as clock:
        case = start_case(engine, "requestDocument_en", pupil_id=people.pupil, by=people.rektor)
        assert list_tasks(engine, case_id=case.id, state="ready") == []  # waiting for the answer
        for day in range(1, 7):  # R6/P1D: a reminder a day while no answer comes
            clock.move_to(start + timedelta(days=day, minutes=1))
            assert timers.fire_due(engine) == 1
            assert list_tasks(engine, case_id=case.id, state="ready") == []
        clock.move_to(start + timedelta(days=7, minutes=2))  # P7D: escalate to a phone call
        timers.fire_due(engine)
        [call] = list_tasks(engine, case_id=case.id, state="ready")
        assert (call.bpmn_id, call.role) == ("UserTask_CallCustomer", "rektor")
        complete_task(engine, call.id, {}, by=people.rektor)
    assert get_case(engine, case.id).status == "completed"
    stored = get_case(engine, case.id)
    parsed = engine.specs.get(stored.process_version_id)
    workflow = state.load(stored.state, stored.serializer_version, parsed.spec, parsed.subprocess_specs,
                          script_engine())
    done = Counter(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED))
    assert done["SendTask_SendReminderEmail"] == 6  # one reminder a day, six days
    assert done["UserTask_CallCustomer"] == 1 and done["EndEvent_TalkedToCustomer"] == 1
    assert done["EndEvent_GotDocument"] == 0
    assert any(e.kind == "timer_fired" and e.data["bpmn_id"] == "BoundaryEvent_2"
               for e in audit.events(engine, case_id=case.id))
    assert verify_audit(engine).ok


def test_the_document_request_ends_when_the_document_comes(engine, db_url, people):
    deploy(engine, {"C.9.1.bpmn": document_request_in_a_lane()}, {})
    start = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as clock:
        case = start_case(engine, "requestDocument_en", pupil_id=people.pupil, by=people.rektor)
        clock.move_to(start + timedelta(days=1, minutes=1))
        assert timers.fire_due(engine) == 1  # one reminder
        assert messages.waiting_messages(engine, case.id) == ["MESSAGE_documentReceived"]
        with pytest.raises(ConflictError, match="waits for MESSAGE_documentReceived"):
            messages.deliver(engine, case.id, "something_else", by=people.rektor)
        with pytest.raises(PermissionDeniedError):
            messages.deliver(engine, case.id, "MESSAGE_documentReceived", by=people.outsider)
        result = CliRunner().invoke(main, ["--database", db_url, "message", str(case.id),
                                           "MESSAGE_documentReceived", "--as", "rektor"])
        assert result.exit_code == 0, result.output
    stored = get_case(engine, case.id)
    assert stored.status == "completed"
    with engine.db.read() as session:
        assert session.scalars(select(Timer).where(Timer.case_id == case.id)).all() == []
    kinds = [e.kind for e in audit.events(engine, case_id=case.id)]
    assert "message_received" in kinds and kinds[-1] == "case_completed"
    assert list_tasks(engine, case_id=case.id, state="ready") == []
    assert verify_audit(engine).ok
