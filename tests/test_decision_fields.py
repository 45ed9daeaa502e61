"""The form fields Elevflow's own decision documents print are routine data (engine/routines/
decision_fields.py): the layouts read exactly those, and a new version that no longer collects one its
routine collected before is refused at publish, naming the decision task, the kind and the fields."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from editing_helpers import add_process_owner

from elevflow.engine import DefinitionError, deploy_path
from elevflow.engine.documents.pdf import TITLES, decision_content
from elevflow.engine.routines import decision_fields, definitions, editing

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
SIGNED = datetime(2026, 1, 20, 9, 30, tzinfo=timezone.utc)
# signing.py hands the layouts the follow-up owner's name beside the field that names the person
DERIVED = {"uppfoljning_ansvarig_namn": "uppfoljning_ansvarig"}


class Reading(dict):
    """Case data that records every field a layout asks it for; each answer is `answer(field)`."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.asked: set[str] = set()
        self.answer = answer

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(DERIVED.get(key, key))
        return self.answer(key)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)


@pytest.mark.parametrize("kind", sorted(set(TITLES) - {"program"}))
def test_each_layout_reads_exactly_the_fields_the_table_lists(kind):
    asked: set[str] = set()
    for answer in (lambda key: None, lambda key: "behov"):  # "behov": the branch that prints deviation
        data = Reading(answer)
        decision_content(kind, data, signer_name="Rut", delegation_ref=None, signed_at=SIGNED,
                         unit_name="Ekskolan", pupil_name="Alva")
        asked |= data.asked
    assert asked == set(decision_fields.printed(kind))


def test_the_shipped_routine_collects_every_field_its_decisions_print(engine):
    [version] = deploy_path(engine, PROCESSES / "sarskilt_stod", shared_dir=PROCESSES / "shared")
    parsed = engine.specs.get(version.id)
    collected = decision_fields.collected(parsed.user_tasks(), parsed.forms)
    kinds = {meta.decision for meta in parsed.user_tasks().values() if meta.decision}
    assert kinds >= {"atgardsprogram", "ej_atgardsprogram", "avslut_atgardsprogram", "avvisning_overklagande"}
    for kind in kinds:
        assert set(decision_fields.printed(kind)) <= collected, kind


def _renamed_field(schema: Any, old: str, new: str) -> Any:
    text = json.dumps(schema, ensure_ascii=False) if not isinstance(schema, str) else schema
    return json.loads(text.replace(f'"{old}"', f'"{new}"'))


def test_renaming_a_field_a_decision_document_prints_is_refused_at_publish(engine, people):
    [version] = deploy_path(engine, PROCESSES / "sarskilt_stod", shared_dir=PROCESSES / "shared")
    owner = add_process_owner(engine, people.unit)
    draft = editing.open_draft(engine, version.id, by=owner)
    form = "beslut_ej_atgardsprogram.json"
    renamed = _renamed_field(draft.forms[form], "beslut_ej_behov_tillgodoses", "hur_behoven_mots")
    editing.save(engine, draft.id, by=owner, seen=draft.row_version, forms={form: renamed})

    verdict = editing.check(engine, draft.id, by=owner)
    assert not verdict.runnable
    [problem] = verdict.problems
    assert problem.code == "decision.document_field"
    assert problem.element_id == "Task_beslut_ej_atgardsprogram"
    assert problem.file == "sarskilt_stod.bpmn" and problem.line
    assert problem.params == {"kind": "ej_atgardsprogram", "fields": ["beslut_ej_behov_tillgodoses"]}
    assert ("whose document prints beslut_ej_behov_tillgodoses, which the routine's forms collected before"
            in problem.message)

    with pytest.raises(DefinitionError) as refused:
        editing.publish(engine, draft.id, by=owner, note="Kortare fältnamn")
    assert [p.element_id for p in refused.value.problems] == ["Task_beslut_ej_atgardsprogram"]
    assert [v.version for v in definitions.versions(engine, "sarskilt_stod")] == [1]
    assert editing.get(engine, draft.id, by=owner) is not None  # the draft, and the work in it, stays


def test_a_field_kept_under_its_name_elsewhere_or_a_first_version_is_not_held_to_the_list(engine, people):
    """Moving a printed field to another step's form keeps it collected; a routine's first version may
    record a built-in kind with fewer fields (its document prints "—" for the rest)."""
    [version] = deploy_path(engine, PROCESSES / "sarskilt_stod", shared_dir=PROCESSES / "shared")
    owner = add_process_owner(engine, people.unit)
    draft = editing.open_draft(engine, version.id, by=owner)
    source, target = "beslut_ej_atgardsprogram.json", "extra_anpassningar.json"
    moved = draft.forms[source]["properties"]["beslut_ej_behov_tillgodoses"]
    without = json.loads(json.dumps(draft.forms[source]))
    del without["properties"]["beslut_ej_behov_tillgodoses"]
    without["required"] = [r for r in without.get("required", []) if r != "beslut_ej_behov_tillgodoses"]
    with_it = json.loads(json.dumps(draft.forms[target]))
    with_it["properties"]["beslut_ej_behov_tillgodoses"] = moved
    editing.save(engine, draft.id, by=owner, seen=draft.row_version, forms={source: without, target: with_it})
    assert editing.check(engine, draft.id, by=owner).runnable

    assert decision_fields.check({}, {}, frozenset({"beslut_ej_datum"})) == []  # no decision task: nothing
