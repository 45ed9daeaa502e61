"""A case's documents: its diarienummer (engine/org/diary.py), and the letterhead, class, birth date and
diarienummer on its decisions — masked for a pupil with a protected identity."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import routine_scenarios as rs
import time_machine
from conftest import concurrently, ready
from routine_walks import document_text, drive
from sqlalchemy import select, update
from test_document_sections import FORM, routine
from test_routines import START, build_school
from test_signing import DECISION, REPORT

from elevflow.engine import DefinitionError, complete_task, deploy, open_case, sign_decision, start_case
from elevflow.engine.documents import case_documents, signing
from elevflow.engine.errors import NotFoundError
from elevflow.engine.org import diary
from elevflow.engine.org import records as org
from elevflow.engine.oversight.visibility import NotVisibleError
from elevflow.engine.storage.models import AccessLogEntry, AuditEvent, Case, DiaryCounter, Pupil


def _year() -> int:
    return datetime.now(ZoneInfo("Europe/Stockholm")).year


def test_every_case_gets_the_organisers_next_number_of_the_year_when_it_starts(engine, people, chain):
    first = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    second = start_case(engine, "stodkedja", pupil_id=people.other_pupil, by=people.outsider)
    year = _year()
    with engine.db.read() as s:
        numbers = dict(s.execute(select(Case.id, Case.diary_number)).all())
        started = s.scalars(select(AuditEvent.data).where(AuditEvent.kind == "case_started")
                            .order_by(AuditEvent.seq)).all()
    # both units belong to one organiser: one series
    assert numbers == {first.id: f"{year}/0001", second.id: f"{year}/0002"}
    assert [e["diary_number"] for e in started] == [f"{year}/0001", f"{year}/0002"]
    assert open_case(engine, people.rektor, first.id).diary_number == f"{year}/0001"
    with engine.db.write() as s:  # another organiser has its own series
        other = org.add_organiser(s, "Grannby kommun")
        unit = org.add_unit(s, "20000001", "Grannskolan", other.id)
        org.assign_role(s, people.teacher, unit.id, "larare")
        pupil = org.add_pupil(s, unit.id, "Cai", "Ceder", "9C").id
    third = start_case(engine, "stodkedja", pupil_id=pupil, by=people.teacher)
    assert open_case(engine, people.teacher, third.id).diary_number == f"{year}/0001"


def test_cases_started_at_once_get_different_numbers(db_url, engine, people, chain):
    def start(database):
        return start_case(database, "stodkedja", pupil_id=people.pupil, by=people.teacher).id

    made = concurrently(db_url, start, count=4)
    assert all(isinstance(m, int) for m in made), made
    with engine.db.read() as s:
        numbers = s.scalars(select(Case.diary_number)).all()
        [counter] = s.scalars(select(DiaryCounter)).all()
    assert sorted(numbers) == [f"{_year()}/{n:04d}" for n in range(1, 5)] and counter.last == 4


def test_a_number_past_9999_is_written_whole(engine, people, chain):
    """The number has at least four digits (2026/0042) and never loses one (2026/10000), whichever
    database counts it (PostgreSQL writes it in the statement that inserts the case)."""
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    with engine.db.write() as s:
        s.execute(update(DiaryCounter).values(last=9998))
    ninth = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    tenth = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    year = _year()
    assert open_case(engine, people.teacher, ninth.id).diary_number == f"{year}/9999"
    assert open_case(engine, people.teacher, tenth.id).diary_number == f"{year}/10000"


def test_a_unit_without_an_organiser_has_the_series_of_no_organiser(engine, people, chain):
    with engine.db.write() as s:
        unit = org.add_unit(s, "30000001", "Fristående skolan")
        org.assign_role(s, people.teacher, unit.id, "larare")
        pupil = org.add_pupil(s, unit.id, "Dan", "Dal", "8D").id
        counters = s.scalars(select(DiaryCounter.organiser)).all()
    case = start_case(engine, "stodkedja", pupil_id=pupil, by=people.teacher)
    assert open_case(engine, people.teacher, case.id).diary_number == f"{_year()}/0001"
    with engine.db.read() as s:
        assert set(s.scalars(select(DiaryCounter.organiser)).all()) - set(counters) == {diary.NO_ORGANISER}


def _signed_text(engine, people) -> str:
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "ja", "bedomning": "Behov finns."},
                  by=people.specialpedagog)
    signed = sign_decision(engine, ready(engine, case.id)[0].id, DECISION, by=people.rektor,
                           reauthenticated_at=datetime.now(timezone.utc))
    _name, pdf = signing.decision_document(engine, people.rektor, signed.decision_id)
    return document_text(pdf)


def test_a_decision_names_the_organiser_the_address_the_diary_number_class_and_birth_date(engine, people,
                                                                                          chain):
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(birth_date=date(2013, 4, 9)))
    text = _signed_text(engine, people)
    assert text.startswith("Exempelby kommun Ekskolan Box 12, 123 45 Exempelby Beslut om åtgärdsprogram")
    assert f"Diarienummer {_year()}/0001" in text
    assert "Elev Alva Andersson Klass 7B Födelsedatum 2013-04-09 Skolenhet Ekskolan" in text


def test_a_protected_pupils_class_and_birth_date_are_not_printed(engine, people, chain):
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil)
                  .values(birth_date=date(2013, 4, 9), protected_identity=True))
    text = _signed_text(engine, people)
    assert "Klass Skyddad identitet – uppgiften lämnas inte ut" in text
    assert "Födelsedatum Skyddad identitet – uppgiften lämnas inte ut" in text
    assert "7B" not in text and "2013-04-09" not in text


def test_the_utredning_and_the_programme_have_documents_of_their_own_checked_and_logged(engine):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        delivery = drive(engine, school, clock, rs.SS, "Task_delge_beslut")
    case_id, rektor = delivery.case_id, school.users["rektor"]
    view = open_case(engine, rektor, case_id)
    assert case_documents.available(engine, view) == ["utredning", "atgardsprogram"]

    name, pdf = case_documents.case_document(engine, rektor, case_id, "utredning")
    text = document_text(pdf)
    assert name == f"utredning-arende-{case_id}.pdf"
    assert text.startswith("Exempelby kommun Ekskolan Utredning av elevens behov av särskilt stöd "
                           "3 kap. 7 och 8 §§ skollagen")
    assert f"Diarienummer {view.diary_number}" in text and "Elev Alva Andersson Klass 7B" in text
    for step in ("Pedagogisk kartläggning", "Samråd med elevhälsan", "Pedagogisk bedömning"):
        assert step in text
    # a colleague named by id is printed by name; nothing says the investigation is still going on
    assert "Utredningsansvarig Specialpedagog" in text and "Utredningen pågår" not in text

    name, pdf = case_documents.case_document(engine, rektor, case_id, "atgardsprogram")
    text = document_text(pdf)
    assert name == f"atgardsprogram-arende-{case_id}.pdf"
    assert "Åtgärdsprogram 3 kap. 9 § skollagen" in text and "Åtgärder" in text
    assert "Hur man överklagar" not in text  # the programme itself is no decision to appeal

    with engine.db.write() as s:  # someone at the unit with no part in the case
        stranger = org.add_user(s, "fritids", "Fritids", "fritids@example.se").id
        org.assign_role(s, stranger, school.unit, "personal")
    for kind in ("utredning", "atgardsprogram"):
        with pytest.raises(NotVisibleError):
            case_documents.case_document(engine, stranger, case_id, kind)
    with pytest.raises(NotFoundError):
        case_documents.case_document(engine, rektor, case_id, "betyg")
    with engine.db.read() as s:
        logged = s.execute(select(AccessLogEntry.user_id, AccessLogEntry.allowed)
                           .where(AccessLogEntry.action == "download_document")).all()
    assert sorted(logged) == sorted([(rektor, True)] * 2 + [(stranger, False)] * 2)


def test_a_case_without_an_investigation_has_no_documents(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert case_documents.available(engine, open_case(engine, people.rektor, case.id)) == []
    with pytest.raises(NotFoundError):
        case_documents.case_document(engine, people.rektor, case.id, "utredning")


@pytest.mark.parametrize(("value", "message"), [
    ("Utredning | 1 kap. | Task_1 Task_saknas", "the utredning document reads step 'Task_saknas', which is "
                                                "not a user task of the routine"),
    ("Utredning utan steg", "a case document is caseDocument:KIND = Title | legal ground | STEP ..."),
])
def test_a_routines_case_document_naming_what_it_lacks_is_refused_at_deploy(engine, value, message):
    with pytest.raises(DefinitionError) as refused:
        deploy(engine, {"samtal.bpmn": routine({"caseDocument:utredning": value})}, {"beslut.json": FORM})
    [problem] = refused.value.problems
    assert message in problem.message and problem.element_id == "samtal"
    deploy(engine, {"samtal.bpmn": routine({"caseDocument:utredning": "Utredning | 1 kap. | Task_1"})},
           {"beslut.json": FORM})
