"""Process owners edit routines: drafts, checks with deploy's rules, publishing, import and export,
and the diff between two versions."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, ready, sign
from editing_helpers import add_process_owner, with_escape, with_follow_up, with_report_due_in
from sqlalchemy import func, select

from elevflow.engine import (
    ConflictError,
    DefinitionError,
    PermissionDeniedError,
    complete_task,
    deploy_path,
    get_case,
    start_case,
    verify_audit,
)
from elevflow.engine.routines import editing, versiondiff
from elevflow.engine.storage.models import ProcessVersion, RoutineDraft

REPORT = {"anmalan_datum": "2026-11-20", "beskrivning": "Läser långsamt."}


@pytest.fixture
def owner(engine, people):
    return add_process_owner(engine, people.unit)


def count(engine, model) -> int:
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def edited(engine, chain, owner, change) -> RoutineDraft:
    draft = editing.open_draft(engine, chain.id, by=owner)
    xml = draft.files[draft.main_file]
    return editing.save(engine, draft.id, by=owner, seen=draft.row_version, bpmn=change(xml))


def test_only_a_process_owner_may_open_drafts(engine, people, chain):
    for user in (people.rektor, people.teacher, people.outsider):
        with pytest.raises(PermissionDeniedError):
            editing.open_draft(engine, chain.id, by=user)
    assert count(engine, RoutineDraft) == 0


def test_a_draft_holds_a_copy_of_every_file_of_its_version(engine, chain, owner):
    draft = editing.open_draft(engine, chain.id, by=owner)
    assert (draft.key, draft.base_version_id, draft.main_file) == ("stodkedja", chain.id, "stodkedja.bpmn")
    assert draft.files == chain.files and draft.forms == chain.forms
    assert editing.check(engine, draft.id, by=owner).runnable


def test_publish_adds_a_version_running_cases_stay_new_cases_take_it(engine, people, chain, owner):
    old_case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    draft = edited(engine, chain, owner, with_follow_up)
    assert editing.check(engine, draft.id, by=owner).runnable
    version = editing.publish(engine, draft.id, by=owner, note="Uppföljning efter beslut")
    assert (version.version, version.note, version.deployed_by) == (2, "Uppföljning efter beslut", owner)
    assert count(engine, RoutineDraft) == 0
    new_case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert get_case(engine, new_case.id).process_version_id == version.id
    assert get_case(engine, old_case.id).process_version_id == chain.id
    # the old case finishes on the old version: no follow-up step after the decision
    for case_id in (old_case.id, new_case.id):
        complete_task(engine, ready(engine, case_id)[0].id, REPORT, by=people.teacher)
        complete_task(engine, ready(engine, case_id)[0].id, {"behov": "ja"}, by=people.specialpedagog)
        sign(engine, ready(engine, case_id)[0].id, {"beslut": "atgardsprogram"}, by=people.rektor)
    assert get_case(engine, old_case.id).status == "completed"
    [follow_up] = ready(engine, new_case.id)
    assert (follow_up.bpmn_id, follow_up.role) == ("Task_uppfoljning", "rektor")
    assert verify_audit(engine).ok


def test_a_sandbox_escape_cannot_be_published_and_the_error_names_the_flow(engine, chain, owner):
    draft = edited(engine, chain, owner, with_escape)
    found = editing.check(engine, draft.id, by=owner)
    assert not found.runnable
    assert [p.element_id for p in found.problems] == ["Flow_ja"]
    assert "condition refused" in found.problems[0].message
    with pytest.raises(DefinitionError) as info:
        editing.publish(engine, draft.id, by=owner, note="försök")
    assert info.value.problems[0].element_id == "Flow_ja"
    assert count(engine, ProcessVersion) == 1 and count(engine, RoutineDraft) == 1


def test_bad_input_is_refused_and_changes_nothing(engine, chain, owner):
    draft = editing.open_draft(engine, chain.id, by=owner)
    for bpmn in ("<bpmn:definitions", '<!DOCTYPE x [<!ENTITY a "b">]><x/>', "<html/>"):
        with pytest.raises(DefinitionError):
            editing.save(engine, draft.id, by=owner, seen=0, bpmn=bpmn)
    for form in ({"type": "string"}, {"type": "object", "properties": {"a": {"type": "nonsense"}}}):
        with pytest.raises(DefinitionError):
            editing.save(engine, draft.id, by=owner, seen=0, forms={"ny.json": form})
    with pytest.raises(DefinitionError):
        editing.save(engine, draft.id, by=owner, seen=0, forms={"../x.json": {"type": "object"}})
    with pytest.raises(ValueError):
        editing.publish(engine, draft.id, by=owner, note="  ")
    again = editing.get(engine, draft.id, by=owner)
    assert (again.row_version, again.files, again.forms) == (0, chain.files, chain.forms)


def test_a_save_over_someone_elses_save_is_refused(engine, chain, owner):
    draft = editing.open_draft(engine, chain.id, by=owner)
    xml = draft.files[draft.main_file]
    editing.save(engine, draft.id, by=owner, seen=0, bpmn=with_follow_up(xml))
    with pytest.raises(ConflictError):
        editing.save(engine, draft.id, by=owner, seen=0, bpmn=xml)
    assert "Task_uppfoljning" in editing.get(engine, draft.id, by=owner).files[draft.main_file]


def test_publishing_an_unchanged_or_outdated_draft_is_refused(engine, chain, owner):
    unchanged = editing.open_draft(engine, chain.id, by=owner)
    with pytest.raises(ConflictError, match="identical"):
        editing.publish(engine, unchanged.id, by=owner, note="ingen ändring")
    late = edited(engine, chain, owner, with_follow_up)
    editing.publish(engine, edited(engine, chain, owner, lambda x: with_report_due_in(x, "P2W")).id, by=owner,
                    note="två veckor")
    with pytest.raises(ConflictError, match="published after this draft"):
        editing.publish(engine, late.id, by=owner, note="för sent")
    assert count(engine, ProcessVersion) == 2


def test_forms_are_edited_in_the_draft_and_published_with_it(engine, chain, owner):
    draft = editing.open_draft(engine, chain.id, by=owner)
    schema = {"type": "object", "properties": {"behov": {"type": "string", "title": "Behov?",
                                                         "enum": ["ja", "nej"]}}, "required": ["behov"]}
    saved = editing.save(engine, draft.id, by=owner, seen=0, forms={"utredning.json": schema})
    version = editing.publish(engine, saved.id, by=owner, note="Tydligare fråga")
    assert version.forms["utredning.json"] == schema
    diff = versiondiff.compare(engine, chain.id, version.id)
    assert diff.forms_changed == ["utredning.json"] and not diff.added and not diff.changed


def test_import_and_export(engine, chain, owner):
    name, xml = editing.export_version(engine, chain.id)
    assert name == "stodkedja.bpmn" and xml == (FIXTURES / "stodkedja" / "stodkedja.bpmn").read_text()
    draft = editing.import_file(engine, "min-stodkedja.bpmn", with_follow_up(xml).encode(), by=owner)
    assert (draft.key, draft.base_version_id) == ("stodkedja", chain.id)
    assert draft.main_file == "min-stodkedja.bpmn"
    assert "stodkedja.bpmn" not in draft.files and draft.forms == chain.forms
    assert editing.publish(engine, draft.id, by=owner, note="importerad").version == 2
    for bad_name, content in [("x.txt", xml), ("x.bpmn", b"\xff\xfe not xml"), ("x.bpmn", "<a/>")]:
        with pytest.raises(DefinitionError):
            editing.import_file(engine, bad_name, content, by=owner)
    assert count(engine, RoutineDraft) == 0


def test_the_diff_names_added_removed_and_changed_elements(engine, chain, owner):
    version = editing.publish(engine, edited(engine, chain, owner, lambda x: with_report_due_in(
        with_follow_up(x), "P2W")).id, by=owner, note="ändrat")
    diff = versiondiff.compare(engine, chain.id, version.id)
    assert {c.id for c in diff.added} == {"Task_uppfoljning", "Flow_6"}
    assert diff.removed == []
    changed = {c.id: c.what for c in diff.changed}
    assert changed["Flow_4"] == ["targetRef"]
    assert changed["Task_anmalan"] == ["extensionElements"]
    assert set(changed) == {"Flow_4", "Task_anmalan", "Lane_rektor"}
    back = versiondiff.compare(engine, version.id, chain.id)
    assert {c.id for c in back.removed} == {"Task_uppfoljning", "Flow_6"}


def test_an_older_version_can_be_edited_and_published_again(engine, chain, owner):
    second = editing.publish(engine, edited(engine, chain, owner, with_follow_up).id, by=owner,
                             note="uppföljning")
    back = editing.open_draft(engine, chain.id, by=owner)
    with pytest.raises(ConflictError, match="identical to version 1"):
        editing.publish(engine, back.id, by=owner, note="tillbaka")
    xml = back.files[back.main_file]
    editing.save(engine, back.id, by=owner, seen=0, bpmn=with_report_due_in(xml, "P2W"))
    third = editing.publish(engine, back.id, by=owner, note="tillbaka, med två veckor")
    assert (third.version, second.version) == (3, 2)
    assert "Task_uppfoljning" not in editing.export_version(engine, third.id)[1]


def test_a_shared_process_is_edited_as_the_routines_own_copy(engine, owner):
    processes = Path(__file__).resolve().parent.parent / "processes"
    [first] = deploy_path(engine, processes / "sarskilt_stod", shared_dir=processes / "shared")
    draft = editing.open_draft(engine, first.id, by=owner)
    assert {"delgivning.bpmn", "overklagande.bpmn"} <= set(draft.files)
    appeal = draft.files["overklagande.bpmn"]
    with pytest.raises(DefinitionError):
        editing.save(engine, draft.id, by=owner, seen=0, bpmn=appeal, file_name="annan.bpmn")
    longer = appeal.replace('value="P1W"', 'value="P2W"')
    assert longer != appeal
    editing.save(engine, draft.id, by=owner, seen=0, bpmn=longer, file_name="overklagande.bpmn")
    second = editing.publish(engine, draft.id, by=owner, note="Längre frist för yttrandet (test)")
    assert 'value="P2W"' in second.files["overklagande.bpmn"]
    assert 'value="P1W"' in first.files["overklagande.bpmn"]
    assert second.files["sarskilt_stod.bpmn"] == first.files["sarskilt_stod.bpmn"]
