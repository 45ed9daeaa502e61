"""The task page over HTTP: a teacher starts a case and completes its first step through the form."""
from __future__ import annotations

import json
import re
import uuid

import bpmn_builder
from sqlalchemy import select

from elevflow.engine import deploy_path, start_case
from elevflow.engine.runtime import tasks
from elevflow.engine.storage.models import Case, TaskRow
from elevflow.engine.views import drafts

from .conftest import csrf, login, post, text

ROW_VERSION = re.compile(r'name="_row_version" value="(\d+)"')
OPENED = re.compile(r'name="_opened_at" value="([^"]+)"')


def _open_form(client, task_id):
    page = client.get(f"/uppgifter/{task_id}")
    assert page.status_code == 200, page.status_code
    html = text(page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return html, ROW_VERSION.search(html).group(1), token


def test_a_teacher_starts_a_case_and_completes_the_first_task_through_the_form(client, engine, people):
    login(client, "teacher")
    search = client.get("/elever?q=Andersson")
    assert "Alva" in text(search)
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(search)).group(1)
    started = client.post(f"/elever/{people.pupil}/starta", data={"csrf_token": token, "rutin": "stodkedja"})
    assert started.status_code == 302 and started.headers["Location"].startswith("/uppgifter/")
    task_path = started.headers["Location"]
    html, version, token = _open_form(client, task_path.rsplit("/", 1)[1])
    assert "Anmäl till rektor" in html and "Beskriv svårigheterna." in html  # the step and its instructions
    assert 'type="date"' in html and "<textarea" in html and 'for="f-anmalan_datum"' in html
    done = client.post(task_path, data={"csrf_token": token, "_row_version": version,
                                        "f.anmalan_datum": "2025-03-14",
                                        "f.beskrivning": "Svårt att komma igång med skrivuppgifter."})
    assert done.status_code == 302 and done.headers["Location"] == "/uppgifter"
    assert "är klar" in text(client.get("/uppgifter"))
    with engine.db.read() as s:
        first = s.scalars(select(TaskRow).where(TaskRow.bpmn_id == "Task_anmalan")).one()
        nxt = s.scalars(select(TaskRow).where(TaskRow.bpmn_id == "Task_utredning")).one()
    assert first.state == "completed" and first.completed_by == people.teacher
    assert first.data == {"anmalan_datum": "2025-03-14",
                          "beskrivning": "Svårt att komma igång med skrivuppgifter."}
    assert nxt.state == "ready" and nxt.role == "specialpedagog"


def test_wrong_data_is_shown_again_with_swedish_messages_and_nothing_changes(client, engine, open_task):
    login(client, "teacher")
    html, version, token = _open_form(client, open_task.id)
    response = client.post(f"/uppgifter/{open_task.id}", data={
        "csrf_token": token, "_row_version": version, "f.anmalan_datum": "14/3", "f.beskrivning": "kort"})
    assert response.status_code == 422
    page = text(response)
    assert "Formuläret behöver rättas" in page
    assert "Skriv datumet som ÅÅÅÅ-MM-DD" in page and "Skriv minst 10 tecken." in page
    assert 'value="14/3"' in page and ">kort</textarea>" in page  # what was typed is kept
    assert 'aria-invalid="true"' in page and 'aria-describedby="f-anmalan_datum-error"' in page
    missing = client.post(f"/uppgifter/{open_task.id}", data={"csrf_token": token, "_row_version": version})
    assert text(missing).count("Fältet är obligatoriskt.") == 4  # in the summary, and beside each field
    row = tasks.get_task(engine, open_task.id)
    assert row.state == "ready" and row.data is None


def test_a_case_changed_since_the_page_was_opened_is_a_clear_conflict(client, engine, open_task):
    login(client, "teacher")
    html, version, token = _open_form(client, open_task.id)
    with engine.db.write() as s:  # someone else's step moved the case on meanwhile
        case = s.get(Case, open_task.case_id)
        case.row_version += 1
    response = client.post(f"/uppgifter/{open_task.id}", data={
        "csrf_token": token, "_row_version": version, "f.anmalan_datum": "2025-03-14",
        "f.beskrivning": "Svårt att komma igång med skrivuppgifter."})
    assert response.status_code == 409
    assert "Någon annan har ändrat ärendet" in text(response) and "skrivuppgifter" in text(response)
    assert tasks.get_task(engine, open_task.id).state == "ready"


def test_a_task_completed_by_someone_else_meanwhile_sends_you_to_the_inbox(client, make_app, engine,
                                                                           open_task):
    login(client, "teacher")
    html, version, token = _open_form(client, open_task.id)
    other = make_app().test_client()
    login(other, "mentor")
    _, other_version, other_token = _open_form(other, open_task.id)
    data = {"f.anmalan_datum": "2025-03-14", "f.beskrivning": "Svårt att komma igång med skrivuppgifter."}
    first = other.post(f"/uppgifter/{open_task.id}",
                       data={"csrf_token": other_token, "_row_version": other_version, **data})
    assert first.status_code == 302
    late = client.post(f"/uppgifter/{open_task.id}",
                       data={"csrf_token": token, "_row_version": version, **data})
    assert late.headers["Location"] == "/uppgifter"
    assert "hann slutföras av någon annan" in text(client.get("/uppgifter"))
    closed = client.get(f"/uppgifter/{open_task.id}")
    assert closed.status_code == 200 and "inte längre öppen" in text(closed) and "Mentor" in text(closed)


def test_another_units_task_cannot_be_opened_and_reads_like_a_missing_one(make_app, engine, people,
                                                                          open_task):
    outsider = make_app().test_client()
    login(outsider, "outsider")
    refused = outsider.get(f"/uppgifter/{open_task.id}")
    missing = outsider.get(f"/uppgifter/{uuid.uuid4()}")
    assert refused.status_code == missing.status_code == 404  # the look is refused by need-to-know (logged)
    assert "Sidan finns inte" in text(refused) and "Sidan finns inte" in text(missing)
    assert "Alva" not in text(refused) and "Anmäl till rektor" not in text(refused)
    assert outsider.post(f"/uppgifter/{open_task.id}", data={"csrf_token": csrf(outsider, "/uppgifter"),
                                                            "f.beskrivning": "x"}).status_code == 403
    assert post(outsider, f"/uppgifter/{open_task.id}/ta").status_code == 403
    assert tasks.get_task(engine, open_task.id).state == "ready"


def test_a_role_the_lane_does_not_serve_cannot_open_the_task(make_app, open_task):
    for username in ("specialpedagog", "rektor"):
        client = make_app().test_client()
        login(client, username)
        assert client.get(f"/uppgifter/{open_task.id}").status_code == 403, username


def test_adding_and_removing_rows_shows_the_form_again_without_sending_it(client, engine, people, open_task):
    from elevflow.engine import complete_task
    complete_task(engine, open_task.id, {"anmalan_datum": "2025-03-14",
                                         "beskrivning": "Lång nog beskrivning."},
                  by=people.teacher)
    utredning = tasks.list_tasks(engine, case_id=open_task.case_id, state="ready")[0]
    login(client, "specialpedagog")
    html, version, token = _open_form(client, utredning.id)
    assert 'name="f.behov"' in html and 'type="radio"' in html  # an enum of two: radio buttons
    response = client.post(f"/uppgifter/{utredning.id}", data={
        "csrf_token": token, "_row_version": version, "f.behov": "ja", "_action": "add:nothing"})
    assert response.status_code == 200 and tasks.get_task(engine, utredning.id).state == "ready"
    assert 'value="ja" checked' in text(response)


PARALLEL = bpmn_builder.HEAD + """  <bpmn:process id="parallellt" name="Två spår" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="Lärare">
      <bpmn:flowNodeRef>Task_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_2</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"/>
    <bpmn:sequenceFlow id="Flow_s" sourceRef="StartEvent_1" targetRef="Split"/>
    <bpmn:parallelGateway id="Split"/>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Split" targetRef="Task_1"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Split" targetRef="Task_2"/>
    """ + bpmn_builder.user_task("Task_1") + bpmn_builder.user_task("Task_2") + """
    <bpmn:sequenceFlow id="Flow_1j" sourceRef="Task_1" targetRef="Join"/>
    <bpmn:sequenceFlow id="Flow_2j" sourceRef="Task_2" targetRef="Join"/>
    <bpmn:parallelGateway id="Join"/>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Join" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_form_refused_because_another_branch_moved_on_can_be_sent_again(client, engine, people, tmp_path):
    folder = tmp_path / "parallellt"
    (folder / "forms").mkdir(parents=True)
    (folder / "parallellt.bpmn").write_text(PARALLEL, encoding="utf-8")
    (folder / "forms" / "svar.json").write_text(json.dumps(bpmn_builder.FORM), encoding="utf-8")
    deploy_path(engine, folder)
    case = start_case(engine, "parallellt", pupil_id=people.pupil, by=people.teacher)
    mine, other = sorted(tasks.list_tasks(engine, case_id=case.id, state="ready"), key=lambda t: t.bpmn_id)
    login(client, "teacher")
    html, version, token = _open_form(client, mine.id)
    tasks.complete_task(engine, other.id, {"svar": "Det andra spåret"}, by=people.mentor)  # meanwhile
    refused = client.post(f"/uppgifter/{mine.id}", data={"csrf_token": token, "_row_version": version,
                                                          "_opened_at": OPENED.search(html).group(1),
                                                          "f.svar": "Mitt svar"})
    assert refused.status_code == 409
    page = text(refused)
    assert "Någon annan har ändrat ärendet" in page
    assert "”Uppgift Task_2” slutfördes (Mentor)" in page  # what changed, and who did it
    assert ">Mitt svar<" in page and tasks.get_task(engine, mine.id).state == "ready"
    again = client.post(f"/uppgifter/{mine.id}", data={"csrf_token": token,
                                                        "_row_version": ROW_VERSION.search(page).group(1),
                                                        "_opened_at": OPENED.search(page).group(1),
                                                        "f.svar": "Mitt svar"})
    assert again.status_code == 302  # sent as it was kept: it goes through now
    assert tasks.get_task(engine, mine.id).data == {"svar": "Mitt svar"}


def test_a_nul_character_or_a_huge_number_in_a_field_is_refused_beside_it(client, engine, open_task):
    login(client, "teacher")
    html, version, token = _open_form(client, open_task.id)
    for action in ("", "utkast"):
        response = client.post(f"/uppgifter/{open_task.id}", data={
            "csrf_token": token, "_row_version": version, "_action": action, "f.anmalan_datum": "2025-03-14",
            "f.beskrivning": "Svårt att komma igång\x00 med skrivuppgifter."})
        assert response.status_code == 422
        assert "osynligt styrtecken" in text(response)
    assert tasks.get_task(engine, open_task.id).state == "ready"
    assert drafts.load_draft(engine, open_task.id, open_task.assignee_id or 0) is None


NAMING = bpmn_builder.process("""<bpmn:userTask id="Task_1" name="Utse utredare">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="svar.json"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Task_1" targetRef="Task_2"/>
    <bpmn:userTask id="Task_2" name="Utred">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="assigneeFrom" value="utredare"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_2" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>""", lane="Rektor", lane_nodes=("Task_1", "Task_2"), key="utse")


def test_naming_someone_who_is_not_staff_at_the_unit_is_refused_beside_the_field(client, engine, people,
                                                                                 tmp_path):
    folder = tmp_path / "utse"
    (folder / "forms").mkdir(parents=True)
    (folder / "utse.bpmn").write_text(NAMING, encoding="utf-8")
    form = {**bpmn_builder.FORM, "properties": {"utredare": {"type": "integer", "title": "Utredare"}}}
    (folder / "forms" / "svar.json").write_text(json.dumps(form), encoding="utf-8")
    deploy_path(engine, folder)
    case = start_case(engine, "utse", pupil_id=people.pupil, by=people.rektor)
    [task] = tasks.list_tasks(engine, case_id=case.id, state="ready")
    login(client, "rektor")
    html, version, token = _open_form(client, task.id)
    for named in (people.outsider, 424242, 10**30):  # another unit's teacher; nobody; no id at all
        response = client.post(f"/uppgifter/{task.id}", data={"csrf_token": token, "_row_version": version,
                                                               "_opened_at": OPENED.search(html).group(1),
                                                               "f.utredare": str(named)})
        assert response.status_code == 422, named
        assert "Personen kan inte få uppgiften" in text(response) or named == 10**30
    assert tasks.get_task(engine, task.id).state == "ready"
