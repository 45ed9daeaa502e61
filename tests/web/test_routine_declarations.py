"""A routine's declared quality figures and document sections through the browser editor: a process
owner who declares one publishes it, renaming the step it reads is refused at publish naming the step
and the figure or section, and a figure reaches the follow-up page under the routine's own label."""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from elevflow.engine import complete_task, deploy_path, list_tasks, start_case
from elevflow.engine.storage.models import ProcessVersion

from .conftest import login, post, publish, text

FIGURE = ('<bpmn:extensionElements><spiffworkflow:properties>'
          '<spiffworkflow:property name="count:anmalningar_test" value="Task_anmalan"/>'
          '<spiffworkflow:property name="label:anmalningar_test" value="Anmälningar i stödkedjan"/>'
          '</spiffworkflow:properties></bpmn:extensionElements>')
PROCESS = '<bpmn:process id="stodkedja" name="Stödkedja (test)" isExecutable="true">'


def with_figure(xml: str) -> str:
    return xml.replace(PROCESS, PROCESS + FIGURE)


def renamed(xml: str, old: str = "Task_anmalan", new: str = "Task_anmal") -> str:
    """A step renamed as the modeler renames it: its id and every reference to it."""
    for a, b in [(f'id="{old}"', f'id="{new}"'), (f'Ref="{old}"', f'Ref="{new}"'), (f">{old}<", f">{new}<"),
                 (f'bpmnElement="{old}"', f'bpmnElement="{new}"')]:
        xml = xml.replace(a, b)
    return xml


def versions(engine) -> list[ProcessVersion]:
    with engine.db.read() as s:
        return list(s.scalars(select(ProcessVersion).where(ProcessVersion.key == "stodkedja")
                              .order_by(ProcessVersion.version)))


def test_renaming_a_step_a_figure_counts_is_refused_at_publish(browser, engine, chain):
    assert "publicerades inte" not in publish(browser, chain, with_figure, note="Räkna anmälningarna")
    declared = versions(engine)[-1]
    assert declared.version == 2

    page = publish(browser, declared, renamed, note="Kortare id")
    assert "publicerades inte" in page and "count:anmalningar_test" in page and "Task_anmalan" in page
    assert "som inte är en användaruppgift i rutinen" in page  # said in Swedish, the user's language
    assert [v.version for v in versions(engine)] == [1, 2]

    both = publish(browser, declared,
                   lambda xml: renamed(xml).replace('value="Task_anmalan"', 'value="Task_anmal"'),
                   note="Kortare id, och figuren räknar det nya steget")
    assert "publicerades inte" not in both
    assert [v.version for v in versions(engine)] == [1, 2, 3]


def test_a_routines_own_figure_reaches_the_follow_up_page(app, browser, engine, chain, people):
    publish(browser, chain, with_figure, note="Räkna anmälningarna")
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    [task] = list_tasks(engine, case_id=case.id, state="ready")
    report = {"anmalan_datum": "2025-09-01", "beskrivning": "Svårt att komma igång med läsningen"}
    complete_task(engine, task.id, report, by=people.teacher)
    rektor = app.test_client()
    login(rektor, "rektor")
    page = text(rektor.get("/kvalitet?rutin=stodkedja"))
    assert "Anmälningar i stödkedjan" in page


SECTION = ('<bpmn:extensionElements><spiffworkflow:properties>'
           '<spiffworkflow:property name="section:atgardsprogram:1" value="Motivering i korthet: '
           'Task_beslut.motivering"/></spiffworkflow:properties></bpmn:extensionElements>')


def test_renaming_a_step_a_document_section_reads_is_refused_at_publish(browser, engine, chain):
    with_section = lambda xml: xml.replace(PROCESS, PROCESS + SECTION)  # noqa: E731
    assert "publicerades inte" not in publish(browser, chain, with_section, note="Ett eget avsnitt")
    declared = versions(engine)[-1]
    page = publish(browser, declared, lambda xml: renamed(xml, "Task_beslut", "Task_besluta"), note="Nytt id")
    assert "publicerades inte" in page and "section:atgardsprogram:1" in page and "Task_beslut" in page
    assert [v.version for v in versions(engine)] == [1, 2]


def test_renaming_a_field_a_decision_document_prints_is_refused_at_publish_in_swedish(browser, engine):
    """The process owner renames, in the form editor, a field the decision not to draw up a programme
    prints: publishing is refused, in Swedish, naming the decision step and the field."""
    processes = Path(__file__).resolve().parents[2] / "processes"
    [version] = deploy_path(engine, processes / "sarskilt_stod", shared_dir=processes / "shared")
    opened = post(browser, f"/rutiner/version/{version.id}/redigera", token_from="/rutiner")
    draft_id = int(re.search(r"/rutiner/utkast/(\d+)$", opened.headers["Location"]).group(1))
    schema = json.dumps(version.forms["beslut_ej_atgardsprogram.json"], ensure_ascii=False)
    renamed = schema.replace('"beslut_ej_behov_tillgodoses"', '"hur_behoven_mots"')
    saved = post(browser, f"/rutiner/utkast/{draft_id}/formular",
                 {"namn": "beslut_ej_atgardsprogram.json", "schema": renamed}, token_from="/rutiner")
    assert saved.status_code == 302
    page = text(post(browser, f"/rutiner/utkast/{draft_id}/publicera", {"note": "Kortare namn",
                     "row_version": 1}, token_from="/rutiner", follow_redirects=True))
    assert "publicerades inte" in page and "Task_beslut_ej_atgardsprogram" in page
    assert "beslut_ej_behov_tillgodoses" in page and "samlade in förut men inte längre" in page
    with engine.db.read() as s:
        stored = s.scalars(select(ProcessVersion.version).where(ProcessVersion.key == "sarskilt_stod"))
        assert stored.all() == [1]
