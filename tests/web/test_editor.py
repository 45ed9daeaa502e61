"""The process owners' pages over HTTP: routines and history, drafts saved and checked, publishing, the
diff, import and export, the form editor's preview, and moving cases."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

from editing_helpers import ESCAPE, with_escape, with_follow_up

from elevflow.engine import deploy_path, get_case, start_case
from elevflow.engine.routines import editing

from .conftest import csrf, login, post, text


def open_draft(browser, chain) -> int:
    response = post(browser, f"/rutiner/version/{chain.id}/redigera", token_from="/rutiner")
    assert response.status_code == 302
    return int(re.search(r"/rutiner/utkast/(\d+)$", response.headers["Location"]).group(1))


def save(browser, draft_id: int, xml: str, seen: int):
    return browser.post(f"/rutiner/utkast/{draft_id}/spara", json={"bpmn": xml, "seen": seen},
                        headers={"X-CSRFToken": csrf(browser, "/rutiner")})


def check(browser, draft_id: int):
    return browser.post(f"/rutiner/utkast/{draft_id}/kontrollera",
                        headers={"X-CSRFToken": csrf(browser, "/rutiner")})


def preview(browser, draft_id: int, schema: str) -> str:
    return text(post(browser, f"/rutiner/utkast/{draft_id}/formular/forhandsvisning", {"schema": schema},
                     token_from="/rutiner"))


def test_the_routines_page_lists_routines_and_the_header_links_it_for_owners_only(app, browser, chain):
    page = text(browser.get("/rutiner"))
    assert "Stödkedja (test)" in page and 'href="/rutiner"' in page
    teacher = app.test_client()
    login(teacher, "teacher")
    assert 'href="/rutiner"' not in text(teacher.get("/uppgifter"))
    assert teacher.get("/rutiner").status_code == 404


def test_edit_check_publish_and_compare(browser, chain, engine, people):
    old_case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    draft_id = open_draft(browser, chain)
    page = text(browser.get(f"/rutiner/utkast/{draft_id}"))
    config = json.loads(re.search(r'data-config="([^"]+)"', page).group(1).replace("&#34;", '"'))
    assert "Rektor" in config["roles"] and "anmalan.json" in config["forms"]
    xml = text(browser.get(f"/rutiner/utkast/{draft_id}/diagram.bpmn"))

    saved = save(browser, draft_id, with_escape(xml), 0)
    assert saved.status_code == 200 and saved.json["row_version"] == 1
    checked = check(browser, draft_id)
    assert checked.json["runnable"] is False
    assert [p["element_id"] for p in checked.json["problems"]] == ["Flow_ja"]
    refused = post(browser, f"/rutiner/utkast/{draft_id}/publicera", {"note": "försök", "row_version": 1},
                   token_from="/rutiner", follow_redirects=True)
    assert "publicerades inte" in text(refused) and "Flow_ja" in text(refused)
    assert ESCAPE not in text(browser.get("/rutiner/version/1.bpmn"))

    assert save(browser, draft_id, with_follow_up(xml), 0).status_code == 409  # saved since: refused
    assert save(browser, draft_id, "<nope", 1).status_code == 400
    assert save(browser, draft_id, with_follow_up(xml), 1).status_code == 200
    checked = check(browser, draft_id)
    assert checked.json == {"runnable": True, "heading": "Rutinen kan köras.", "problems": []}
    published = post(browser, f"/rutiner/utkast/{draft_id}/publicera",
                     {"note": "Uppföljning", "row_version": 2}, token_from="/rutiner", follow_redirects=True)
    history = text(published)
    assert "Version 2 av ”Stödkedja (test)” är publicerad" in history and "Uppföljning" in history
    assert "Petra Processägare" in history
    diff = text(browser.get("/rutiner/stodkedja/jamfor?fran=1&till=2"))
    assert 'data-added="' in diff and "Task_uppfoljning" in diff and "Följ upp programmet" in diff
    assert get_case(engine, old_case.id).process_version_id == chain.id

    plan = text(browser.get("/rutiner/stodkedja/flytta"))
    assert f"#{old_case.id}" in plan and "Kan flyttas" in plan
    moved = post(browser, "/rutiner/stodkedja/flytta", {"version": 2}, token_from="/rutiner")
    assert "1 ärende flyttades till version 2." in text(moved) and "Flyttat" in text(moved)
    assert get_case(engine, old_case.id).process_version_id != chain.id


def test_import_and_export(browser, chain):
    exported = browser.get(f"/rutiner/version/{chain.id}.bpmn")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="stodkedja-v1.bpmn"'
    upload = {"fil": (io.BytesIO(with_follow_up(text(exported)).encode()), "stodkedja.bpmn"),
              "csrf_token": csrf(browser, "/rutiner")}
    response = browser.post("/rutiner/importera", data=upload, content_type="multipart/form-data")
    assert re.search(r"/rutiner/utkast/\d+$", response.headers["Location"])
    bad = {"fil": (io.BytesIO(b"<!DOCTYPE x><x/>"), "x.bpmn"), "csrf_token": csrf(browser, "/rutiner")}
    page = text(browser.post("/rutiner/importera", data=bad, content_type="multipart/form-data",
                             follow_redirects=True))
    assert "kunde inte importeras" in page and "DOCTYPE" in page


def test_the_form_editor_previews_checks_and_saves(browser, chain, engine, owner):
    draft_id = open_draft(browser, chain)
    page = text(browser.get(f"/rutiner/utkast/{draft_id}/formular?namn=anmalan.json"))
    assert "Beskrivning av svårigheterna" in page and 'name="f.beskrivning"' in page  # the live preview
    assert 'hx-post="/rutiner/utkast/%d/formular/forhandsvisning"' % draft_id in page
    schema = {"type": "object", "properties": {"orsak": {"type": "string", "title": "Orsak"}},
              "required": ["orsak"]}
    shown = preview(browser, draft_id, json.dumps(schema))
    assert "Orsak" in shown and 'name="f.orsak"' in shown
    broken = preview(browser, draft_id, '{"type": "object", "properties": {"a": {"type": 5}}}')
    assert "Schemat är inte giltigt" in broken
    assert "Inte giltig JSON" in preview(browser, draft_id, "{")
    # said in Swedish with line and column, the faulty line shown with a mark under the place
    trailing = '  "properties": {"a": {"type": "string"},}'
    comma = preview(browser, draft_id, '{\n  "type": "object",\n' + trailing + '\n}')
    assert "Inte giltig JSON på rad 3, tecken 42: här väntades ett namn inom dubbla citattecken" in comma
    assert trailing.replace('"', "&#34;") + "\n" + " " * 41 + "^" in comma
    assert "Expecting" not in comma
    post(browser, "/sprak", {"lang": "en"}, token_from="/rutiner")
    assert "Not valid JSON on line 1, character 11: a comma is missing here" in preview(
        browser, draft_id, '{"a": "b" "c": 1}')
    post(browser, "/sprak", {"lang": "sv"}, token_from="/rutiner")
    url = f"/rutiner/utkast/{draft_id}/formular"
    refused = post(browser, url, {"namn": "../x.json", "schema": json.dumps(schema)}, token_from="/rutiner")
    assert refused.status_code == 400
    saved = post(browser, url, {"namn": "orsak.json", "schema": json.dumps(schema)}, token_from="/rutiner")
    assert saved.status_code == 302
    assert editing.get(engine, draft_id, by=owner).forms["orsak.json"] == schema


def test_a_shared_process_of_the_draft_opens_in_the_editor(browser, engine, owner):
    processes = Path(__file__).resolve().parents[2] / "processes"
    [version] = deploy_path(engine, processes / "sarskilt_stod", shared_dir=processes / "shared")
    draft_id = open_draft(browser, version)
    page = text(browser.get(f"/rutiner/utkast/{draft_id}?fil=overklagande.bpmn"))
    assert 'data-file="overklagande.bpmn"' in page and "delgivning.bpmn" in page
    xml = text(browser.get(f"/rutiner/utkast/{draft_id}/diagram.bpmn?fil=overklagande.bpmn"))
    assert 'id="overklagande"' in xml
    assert browser.get(f"/rutiner/utkast/{draft_id}?fil=annan.bpmn").status_code == 404
    longer = {"bpmn": xml.replace('value="P1W"', 'value="P2W"'), "seen": 0, "file": "overklagande.bpmn"}
    saved = browser.post(f"/rutiner/utkast/{draft_id}/spara", json=longer,
                         headers={"X-CSRFToken": csrf(browser, "/rutiner")})
    assert saved.status_code == 200
    assert 'value="P2W"' in editing.get(engine, draft_id, by=owner).files["overklagande.bpmn"]


def test_deeply_nested_json_is_refused_clearly_by_the_form_editor_and_the_draft_save(browser, chain, engine,
                                                                                     owner):
    draft_id = open_draft(browser, chain)
    before = editing.get(engine, draft_id, by=owner)
    for depth in (40, 100_000):  # deeper than any form; deeper than the JSON parser goes
        schema = '{"type": "object", "x": ' + "[" * depth + "]" * depth + "}"
        assert "nästlat i fler än 32 nivåer" in preview(browser, draft_id, schema)
        refused = post(browser, f"/rutiner/utkast/{draft_id}/formular",
                       {"namn": "djup.json", "schema": schema}, token_from="/rutiner")
        assert refused.status_code == 400 and "nästlat i fler än 32 nivåer" in text(refused)
    body = '{"bpmn": "<x/>", "seen": 0, "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    saved = browser.post(f"/rutiner/utkast/{draft_id}/spara", data=body, content_type="application/json",
                         headers={"X-CSRFToken": csrf(browser, "/rutiner")})
    assert saved.status_code == 400 and saved.get_json()["error"] == "Ogiltig begäran."
    after = editing.get(engine, draft_id, by=owner)
    assert (after.forms, after.files, after.row_version) == (before.forms, before.files, before.row_version)


def test_discarding_a_draft_is_confirmed_first(browser, chain):
    """The page asks before it deletes (a folded confirmation with its own button); a post without the
    confirmation keeps the draft."""
    draft_id = open_draft(browser, chain)
    page = text(browser.get(f"/rutiner/utkast/{draft_id}"))
    assert "<summary>Kasta utkastet …</summary>" in page and 'name="bekrafta" value="ja"' in page
    assert "Det går inte att ångra" in page
    kept = post(browser, f"/rutiner/utkast/{draft_id}/kasta", token_from="/rutiner")
    assert kept.headers["Location"] == f"/rutiner/utkast/{draft_id}"
    assert "bekräfta att du vill kasta det" in text(browser.get(f"/rutiner/utkast/{draft_id}"))
    gone = post(browser, f"/rutiner/utkast/{draft_id}/kasta", {"bekrafta": "ja"}, token_from="/rutiner")
    assert gone.headers["Location"] == "/rutiner"
    assert browser.get(f"/rutiner/utkast/{draft_id}").status_code == 404


def test_the_modeler_is_told_the_language_and_the_routine_properties(browser, chain):
    draft_id = open_draft(browser, chain)
    page = text(browser.get(f"/rutiner/utkast/{draft_id}"))
    assert "&#34;language&#34;: &#34;sv&#34;" in page and "Ärendet gäller" in page
    assert "Får avbrytas härifrån bara för att: Eleven har flyttat från skolenheten" in page
    post(browser, "/sprak", {"lang": "en"}, token_from="/rutiner")
    page = text(browser.get(f"/rutiner/utkast/{draft_id}"))
    assert "&#34;language&#34;: &#34;en&#34;" in page and "The case is about" in page


def _with_problems(xml: str) -> str:
    """Three problems at once: a refused condition, a lane that is no role, a form that does not exist."""
    return with_escape(xml).replace('name="Specialpedagog"', 'name="Vaktmästare"').replace(
        'value="beslut.json"', 'value="saknas.json"')


SWEDISH_PROBLEMS = ["villkoret godtogs inte: ", "simbanan ”Vaktmästare” är inte en känd roll",
                    "formuläret ”saknas.json” finns inte i rutinens mapp forms/"]
ENGLISH_PROBLEMS = ["condition refused: ", "lane 'Vaktmästare' is not a known role",
                    "form 'saknas.json' does not exist in the routine's forms/ folder"]


def _check_and_publish(browser, chain, saying: list[str], refused: str) -> None:
    draft_id = open_draft(browser, chain)
    xml = text(browser.get(f"/rutiner/utkast/{draft_id}/diagram.bpmn"))
    assert save(browser, draft_id, _with_problems(xml), 0).status_code == 200
    found = check(browser, draft_id).json
    assert found["runnable"] is False
    messages = " | ".join(p["message"] for p in found["problems"])
    assert all(said in messages for said in saying), messages
    assert {"expression.refused", "lane.unknown_role", "task.form_missing"} <= {
        p["code"] for p in found["problems"]}
    page = text(post(browser, f"/rutiner/utkast/{draft_id}/publicera", {"note": "försök", "row_version": 1},
                     token_from="/rutiner", follow_redirects=True))
    assert refused in page and all(said.replace("'", "&#39;") in page for said in saying), page


def test_the_check_and_publish_verdicts_speak_swedish_to_a_swedish_user(browser, chain):
    _check_and_publish(browser, chain, SWEDISH_PROBLEMS, "Utkastet publicerades inte.")


def test_the_check_and_publish_verdicts_speak_english_to_an_english_user(browser, chain):
    post(browser, "/sprak", {"lang": "en", "next": "/rutiner"}, token_from="/rutiner")
    _check_and_publish(browser, chain, ENGLISH_PROBLEMS, "The draft was not published.")


def test_discarding_a_draft_someone_saved_since_is_a_409_page_in_the_users_language(app, browser, chain):
    draft_id = open_draft(browser, chain)
    other = app.test_client()  # the same process owner in a second window
    assert login(other, "processagare").status_code == 302
    shown = text(browser.get(f"/rutiner/utkast/{draft_id}"))
    seen = re.search(r'id="discard-row-version" value="(\d+)"', shown).group(1)
    xml = text(other.get(f"/rutiner/utkast/{draft_id}/diagram.bpmn"))
    assert save(other, draft_id, with_follow_up(xml), 0).status_code == 200  # saved meanwhile

    stale = post(browser, f"/rutiner/utkast/{draft_id}/kasta", {"row_version": seen, "bekrafta": "ja"},
                 token_from="/rutiner")
    assert stale.status_code == 409
    assert "Någon annan hann före" in text(stale)
    assert f"Utkast {draft_id} sparades av någon annan under tiden" in text(stale)
    assert browser.get(f"/rutiner/utkast/{draft_id}").status_code == 200  # their work is kept

    post(browser, "/sprak", {"lang": "en", "next": "/rutiner"}, token_from="/rutiner")
    stale = post(browser, f"/rutiner/utkast/{draft_id}/kasta", {"row_version": seen, "bekrafta": "ja"},
                 token_from="/rutiner")
    assert stale.status_code == 409 and "Someone else was first" in text(stale)
    assert f"Draft {draft_id} was saved by someone else meanwhile" in text(stale)

    fresh = post(browser, f"/rutiner/utkast/{draft_id}/kasta", {"row_version": 1, "bekrafta": "ja"},
                 token_from="/rutiner")
    assert fresh.status_code == 302 and browser.get(f"/rutiner/utkast/{draft_id}").status_code == 404
