"""Deploying routines: validation before storing, immutable versions, one parse per version."""
from __future__ import annotations

import json

import pytest
from bpmn_builder import FORM, gateway, one_task, process, script, user_task
from conftest import FIXTURES
from sqlalchemy import func, select

from elevflow.engine import DefinitionError, deploy, deploy_path, versions
from elevflow.engine.core import Engine
from elevflow.engine.storage.models import AuditEvent, ProcessVersion

FORMS = {"svar.json": json.dumps(FORM)}


def count_versions(engine: Engine) -> int:
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(ProcessVersion))


def refused(engine: Engine, xml: str, forms: dict[str, str] | None = None) -> DefinitionError:
    before = count_versions(engine)
    with pytest.raises(DefinitionError) as info:
        deploy(engine, {"test.bpmn": xml}, FORMS if forms is None else forms, by=None)
    assert count_versions(engine) == before, "a refused deployment must store nothing"
    return info.value


def test_deploy_stores_an_immutable_version_with_hash_author_and_note(engine, people):
    [version] = deploy(engine, {"test.bpmn": one_task()}, FORMS, by=people.rektor, note="första")
    assert (version.key, version.version, version.deployed_by, version.note) == \
        ("testprocess", 1, people.rektor, "första")
    assert len(version.content_hash) == 64 and version.deployed_at.tzinfo is not None
    assert version.forms == {"svar.json": FORM}
    with engine.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "definition_deployed")).one()
    assert event.data["version"] == 1 and event.actor_id == people.rektor


def test_identical_content_makes_no_new_version_and_changed_content_does(engine):
    first = deploy(engine, {"test.bpmn": one_task()}, FORMS)[0]
    again = deploy(engine, {"test.bpmn": one_task()}, FORMS)[0]
    assert again.id == first.id and count_versions(engine) == 1
    changed = deploy(engine, {"test.bpmn": one_task(due="P2W")}, FORMS, note="längre frist")[0]
    assert changed.version == 2 and changed.content_hash != first.content_hash
    assert [v.version for v in versions(engine, "testprocess")] == [2, 1]


def test_deploy_from_a_folder_takes_its_forms(engine):
    [version] = deploy_path(engine, FIXTURES / "stodkedja", shared_dir=FIXTURES / "none")
    assert version.key == "stodkedja"
    assert set(version.forms) == {"anmalan.json", "utredning.json", "beslut.json"}


def test_a_version_is_parsed_once_and_then_served_from_the_cache(engine):
    version = deploy(engine, {"test.bpmn": one_task()}, FORMS)[0]
    fresh = Engine.from_settings(database_url=engine.db.url)  # another worker: nothing cached yet
    try:
        first = fresh.specs.get(version.id)
        assert fresh.specs.get(version.id) is first
        assert fresh.specs.parses == 1
    finally:
        fresh.close()


def test_malformed_xml_is_refused_with_its_line(engine):
    error = refused(engine, one_task().replace("</bpmn:process>", "</bpmn:proces>"))
    [problem] = error.problems
    assert "malformed XML" in problem.message and problem.line and problem.file == "test.bpmn"


@pytest.mark.parametrize("where", ["attribute", "text"])
def test_an_external_entity_is_refused_and_never_read(engine, tmp_path, where):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = f'<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file://{secret}">]>\n'
    xml = one_task(doctype=doctype)
    if where == "attribute":
        xml = xml.replace('name="Uppgift Task_1"', 'name="&x;"')
    else:
        xml = xml.replace('<bpmn:endEvent id="End_1"/>', '<bpmn:endEvent id="End_1">'
                          '<bpmn:documentation>&x;</bpmn:documentation></bpmn:endEvent>')
    error = refused(engine, xml)
    [problem] = error.problems
    assert "DOCTYPE" in problem.message and problem.line == 2 and "TOPSECRET" not in str(error)


def test_a_lane_with_an_unknown_role_is_refused_naming_the_lane(engine):
    error = refused(engine, one_task(lane="Vaktmästare"))
    [problem] = error.problems
    assert problem.element_id == "Lane_1" and "Vaktmästare" in problem.message and problem.line


def test_a_user_task_outside_any_lane_is_refused(engine):
    error = refused(engine, one_task(lane=None))
    assert any(p.element_id == "Task_1" and "not in a lane" in p.message for p in error.problems)


def test_a_missing_form_is_refused_naming_the_task(engine):
    error = refused(engine, one_task(form="saknas.json"))
    [problem] = error.problems
    assert problem.element_id == "Task_1" and "saknas.json" in problem.message and problem.line


def test_a_form_that_is_not_valid_json_schema_is_refused(engine):
    bad = {"svar.json": json.dumps({"type": "object", "properties": {"svar": {"type": "sträng"}}})}
    error = refused(engine, one_task(), bad)
    assert error.problems[0].file == "svar.json" and "JSON Schema" in error.problems[0].message


def test_a_form_that_is_not_json_is_refused_with_its_line(engine):
    error = refused(engine, one_task(), {"svar.json": '{\n "type": "object",\n}'})
    assert error.problems[0].file == "svar.json" and error.problems[0].line == 3


def test_an_invalid_due_rule_is_refused(engine):
    error = refused(engine, one_task(due="snart"))
    assert "due rule 'snart'" in str(error)


def test_bpmn_that_breaks_the_schema_is_refused_with_line(engine):
    xml = one_task().replace('<bpmn:endEvent id="End_1"/>',
                             '<bpmn:endEvent id="End_1"><bpmn:bogus/></bpmn:endEvent>')
    error = refused(engine, xml)
    assert error.problems[0].line


def test_no_executable_process_is_refused(engine):
    error = refused(engine, one_task().replace('isExecutable="true"', 'isExecutable="false"'))
    assert "no executable process" in str(error)


@pytest.mark.parametrize("condition", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
])
def test_a_sandbox_escape_in_a_condition_is_refused_at_the_flow(engine, condition):
    error = refused(engine, gateway(condition))
    assert any(p.element_id == "Flow_yes" and p.line and "condition refused" in p.message
               for p in error.problems), error.problems


def test_a_sandbox_escape_in_a_script_is_refused_at_the_script_line(engine):
    error = refused(engine, script("x = 1\ny = [].__class__"))
    [problem] = error.problems
    assert problem.element_id == "Script_1" and "script refused" in problem.message
    lines = script("x = 1\ny = [].__class__").splitlines()
    assert "y = [].__class__" in lines[problem.line - 1]


def test_every_problem_is_reported_at_once(engine):
    xml = process(user_task(form="saknas.json", due="snart") +
                  '<bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>'
                  '<bpmn:endEvent id="End_1"/>',
                  lane="Okänd")
    error = refused(engine, xml)
    assert len(error.problems) == 3


def test_iso_timer_literals_as_written_by_modelers_are_accepted(engine):
    body = user_task() + """
    <bpmn:boundaryEvent id="Timer_1" attachedToRef="Task_1">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P7D</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_t" sourceRef="Timer_1" targetRef="End_1"/>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    assert deploy(engine, {"test.bpmn": process(body)}, FORMS)[0].version == 1


def test_the_shipped_routines_all_deploy(engine):
    from pathlib import Path

    from elevflow.engine import settings
    root = Path(settings.load().processes_dir)
    keys = set()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "shared"):
        keys |= {v.key for v in deploy_path(engine, folder)}
    assert {"sarskilt_stod", "krankande_behandling", "franvaro", "orosanmalan", "avvikelse",
            "arshjul"} <= keys


def test_a_lane_of_the_process_owner_is_refused_naming_the_lane(engine):
    """A process owner shapes routines and works no case: no routine can put a step in his lane (#13)."""
    for name in ("Processägare", "processagare", "Process owner"):
        [problem] = refused(engine, one_task(lane=name)).problems
        assert problem.element_id == "Lane_1" and "works on routines, never on cases" in problem.message
