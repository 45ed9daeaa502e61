"""The quality figures a routine declares in its diagram (engine/routines/quality_measures.py): checked at
deploy
like every other check, and read by the follow-up, so an organiser's own routine gets its own figures."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from bpmn_builder import one_task
from test_routines import PROCESSES, SHARED

from elevflow.engine import DefinitionError, complete_task, deploy, deploy_path, list_tasks, start_case
from elevflow.engine.expressions.terms import Term
from elevflow.engine.oversight import quality
from elevflow.engine.oversight.quality import Selection
from elevflow.engine.routines.definitions import library, read_folder

ANSWER_FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"svar": {"type": "string", "enum": ["ja", "nej"]}}}


def rename_step(xml: str, old: str, new: str) -> str:
    """A step's id changed the way the editor changes it: the element and every reference to it, not
    the text of other properties."""
    return re.sub(rf'(\bid|Ref|bpmnElement)="{old}"', rf'\1="{new}"',
                  xml.replace(f">{old}<", f">{new}<"))


def deploy_renamed(engine, routine: str, old: str, new: str) -> DefinitionError:
    files, forms = read_folder(PROCESSES / routine)
    shared_files, shared_forms = library(SHARED)
    files = {name: rename_step(text, old, new) for name, text in files.items()}
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, files, {**shared_forms, **forms}, library_files=shared_files)
    return refused.value


def test_renaming_a_step_a_figure_counts_is_refused_naming_the_step_and_the_figure(engine):
    refused = deploy_renamed(engine, "sarskilt_stod", "Task_utse_utredare", "Task_utse_utredaren")
    found = {(p.element_id, p.message.split(": ")[0]) for p in refused.problems}  # the process, the figure
    assert ("sarskilt_stod", "count:utredningar") in found
    assert ("sarskilt_stod", "leadTime:anmalan_till_utredning") in found
    [problem] = [p for p in refused.problems if p.message.startswith("count:utredningar")]
    assert "'Task_utse_utredare'" in problem.message and "not a user task of the routine" in problem.message
    assert problem.file == "sarskilt_stod.bpmn" and problem.line
    assert quality.routines(engine) == {}  # nothing was stored


def test_a_step_in_a_called_process_is_checked_too(engine):
    """The appeal outcomes are read from the shared appeal process that särskilt stöd calls."""
    files, forms = read_folder(PROCESSES / "sarskilt_stod")
    shared_files, shared_forms = library(SHARED)
    shared_files = {n: rename_step(t, "Task_omprova_beslut", "Task_omprova") for n, t in shared_files.items()}
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, files, {**shared_forms, **forms}, library_files=shared_files)
    naming = [p for p in refused.value.problems if "Task_omprova_beslut" in p.message]
    [problem] = [p for p in naming if p.code == "decl.problem"]  # (a later step's context names it too)
    assert problem.message.startswith("breakdown:overklagande_utfall: ")


@pytest.mark.parametrize("properties, message", [
    ({"count:samtal": "Task_2"}, "count 'samtal' counts step 'Task_2', which is not a user task"),
    ({"count:samtal": "decision=atgardsprogram"}, "which no decision task of the routine records"),
    ({"breakdown:svar": "answers Task_1.annat: ja nej"},
     "reads field 'annat' of step 'Task_1', which its form svar.json does not have"),
    ({"breakdown:svar": "answers Task_1.svar: ja=annat.ja"}, "names a part for field 'annat'"),
    ({"breakdown:grund": "cancelled: flyttat"}, "on ground 'flyttat', which is no known ground"),
    ({"breakdown:svar": "answers Task_1.svar"}, "a breakdown is answers STEP.FIELD ...: PART ..."),
    ({"leadTime:tid": "Task_1"}, "a lead time is FROM -> TO"),
    ({"count:Samtal": "Task_1"}, "a figure's key is lower-case letters"),
    ({"count:samtal": "Task_1", "perUnit": "samtal andra"}, "perUnit names 'andra', which is no count"),
    ({"measure:samtal": "Task_1"}, "unknown routine property 'measure:samtal'"),
])
def test_a_declaration_naming_what_the_routine_lacks_is_refused(engine, properties, message):
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, {"egen.bpmn": one_task(key="egen", properties=properties)}, {"svar.json": ANSWER_FORM})
    [problem] = refused.value.problems
    assert message in problem.message and problem.element_id == "egen"


def test_an_organisers_own_routine_declares_its_own_figures(engine, people):
    declared = {"count:samtal": "Task_1", "label:samtal": "Genomförda samtal", "perUnit": "samtal",
                "breakdown:svar": "answers Task_1.svar: ja nej", "label:svar": "Svar i samtalen",
                "leadTime:till_samtal": "Task_1 -> Task_1"}
    deploy(engine, {"egen.bpmn": one_task(key="egen", properties=declared)}, {"svar.json": ANSWER_FORM})
    deploy_path(engine, PROCESSES / "franvaro", shared_dir=SHARED)  # another routine's figures stay its own
    for answer in ("ja", "ja", "nej"):
        case = start_case(engine, "egen", pupil_id=people.pupil, by=people.teacher)
        [task] = list_tasks(engine, case_id=case.id, state="ready")
        complete_task(engine, task.id, {"svar": answer}, by=people.teacher)
    scope = quality.scope_for(engine, people.rektor)
    now = datetime.now(timezone.utc)
    term = Term.of(now)
    dash = quality.dashboard(engine, scope, Selection(term, tuple(scope.units), routine="egen"))
    assert [(s.key, s.routine, s.label, s.by_term[term.key].value) for s in dash.counts] == [
        ("samtal", "egen", "Genomförda samtal", 3)]
    assert [(b.key, b.label, {p: c.value for p, c in b.parts.items()}) for b in dash.breakdowns] == [
        ("svar", "Svar i samtalen", {"ja": 2, "nej": 1})]
    assert [(t.key, t.median.value, t.n.value) for t in dash.lead_times] == [("till_samtal", 0.0, 3)]
    every = quality.dashboard(engine, scope, Selection(term, tuple(scope.units)))
    assert [s.key for s in every.counts] == ["franvaroutredningar", "franvaro_avslutade", "samtal"]
    assert list(every.units[0].counts) == ["franvaroutredningar", "samtal"]
