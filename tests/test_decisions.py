"""The decisions of the särskilt stöd routine say what the law asks of a decision about a pupil.

Scenario tests through the engine API on a controlled clock, with a person in every lane:

- every decision about a pupil (programme, no programme, särskild undervisningsgrupp, enskild
  undervisning, anpassad studiegång, distansundervisning, ending a programme) records how the pupil's view
  was obtained, what it is, and the best-interest assessment, and the signed document prints them
  (1 kap. 10 § skollagen; artikel 3 och 12 barnkonventionen);
- a decision not to draw up a programme although the investigation found a need for special support is
  refused without reasons for departing from the assessment; with them, the document says both.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import routine_scenarios as rs
import time_machine
from routine_walks import VIEW, do, document_text, drive
from sqlalchemy import select
from test_routines import START, build_school, form_data, ready_tasks

from elevflow.engine import FormValidationError, decision_document, get_task, sign_decision
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage.models import DecisionRecord

#: decision task -> the answers that lead to it
PUPIL_DECISIONS = {
    "Task_beslut_atgardsprogram": rs.SS,
    **{f"Task_beslut_{form}": {**rs.SS,
                               "Task_utarbeta_atgardsprogram": {**rs.PROGRAMME, "sarskild_form": form}}
       for form in ("sarskild_undervisningsgrupp", "enskild_undervisning", "anpassad_studiegang",
                    "distansundervisning")},
    "Task_beslut_ej_atgardsprogram": {**rs.SS,
                                      "Task_pedagogisk_bedomning": {"bedomning_sarskilt_stod": "ej_behov"},
                                      "Task_prova_utredning": {"beslut_val": "ej_atgardsprogram"}},
    "Task_beslut_avsluta": rs.SS,
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def signed_text(engine, school, task_id) -> str:
    with engine.db.read() as s:
        record_id = s.scalar(select(DecisionRecord.id).where(DecisionRecord.task_id == task_id))
    return document_text(decision_document(engine, school.users["rektor"], record_id)[1])


@pytest.mark.parametrize("decision", PUPIL_DECISIONS)
def test_every_decision_about_a_pupil_records_and_prints_the_pupils_view_and_best_interest(engine, decision):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, PUPIL_DECISIONS[decision], decision)
        form = task_info(engine, task)["form"]
        assert {"elevens_asikt_hur", "elevens_asikt", "barnets_basta"} <= set(form["required"])
        data = form_data(form, VIEW, school)
        rektor = school.users["rektor"]
        for without in VIEW:
            with pytest.raises(FormValidationError) as refused:
                sign_decision(engine, task.id, {k: v for k, v in data.items() if k != without}, by=rektor,
                              reauthenticated_at=now())
            assert refused.value.errors == {without: ["required"]}
        for blank in ("elevens_asikt", "barnets_basta"):
            with pytest.raises(FormValidationError) as refused:
                sign_decision(engine, task.id, {**data, blank: " \n\t "}, by=rektor, reauthenticated_at=now())
            assert list(refused.value.errors) == [blank]
        assert get_task(engine, task.id).state == "ready"  # refused: nothing changed

        sign_decision(engine, task.id, data, by=rektor, reauthenticated_at=now())
    assert get_task(engine, task.id).state == "completed"
    text = signed_text(engine, school, task.id)
    assert "Elevens åsikt och barnets bästa" in text
    assert "Hur elevens åsikt inhämtades Samtal med eleven" in text
    assert f"Elevens åsikt {VIEW['elevens_asikt']}" in text
    assert " ".join(VIEW["barnets_basta"].split()) in text
    assert "1 kap. 10 § skollagen" in text


def test_no_programme_despite_an_assessed_need_needs_reasons_and_the_document_gives_them(engine):
    school = build_school(engine, ["sarskilt_stod"])
    answers = {**rs.SS, "Task_pedagogisk_bedomning": {"bedomning_sarskilt_stod": "behov"},
               "Task_prova_utredning": {"beslut_val": "ej_atgardsprogram"}}
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, answers, "Task_beslut_ej_atgardsprogram")
        form = task_info(engine, task)["form"]
        data = {k: v for k, v in form_data(form, VIEW, school).items() if k != "beslut_ej_avvikelse_skal"}
        rektor = school.users["rektor"]
        with pytest.raises(FormValidationError) as refused:
            sign_decision(engine, task.id, data, by=rektor, reauthenticated_at=now())
        assert refused.value.errors == {"beslut_ej_avvikelse_skal": ["required"]}
        with pytest.raises(FormValidationError):
            sign_decision(engine, task.id, {**data, "beslut_ej_avvikelse_skal": "   "}, by=rektor,
                          reauthenticated_at=now())
        assert get_task(engine, task.id).state == "ready"
        reasons = "Sedan bedömningen har eleven bytt klass och når nu målen med extra anpassningar."
        sign_decision(engine, task.id, {**data, "beslut_ej_avvikelse_skal": reasons}, by=rektor,
                      reauthenticated_at=now())
    text = signed_text(engine, school, task.id)
    assert "Pedagogisk bedömning Eleven är i behov av särskilt stöd" in text
    assert "Något åtgärdsprogram ska inte utarbetas för eleven." in text
    assert f"Skäl att avvika från den pedagogiska bedömningen {reasons}" in text


def test_no_programme_when_no_need_was_assessed_asks_no_such_reasons(engine):
    school = build_school(engine, ["sarskilt_stod"])
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, PUPIL_DECISIONS["Task_beslut_ej_atgardsprogram"],
                     "Task_beslut_ej_atgardsprogram")
        form = task_info(engine, task)["form"]
        data = {k: v for k, v in form_data(form, VIEW, school).items() if k != "beslut_ej_avvikelse_skal"}
        sign_decision(engine, task.id, data, by=school.users["rektor"], reauthenticated_at=now())
    text = signed_text(engine, school, task.id)
    assert "Eleven är inte i behov av särskilt stöd" in text and "Skäl att avvika" not in text


def test_the_rektor_can_send_an_investigation_that_found_a_need_back_instead(engine):
    """The route back: with no reasons to depart from the assessment, the investigation is completed."""
    school = build_school(engine, ["sarskilt_stod"])
    answers = {**rs.SS, "Task_pedagogisk_bedomning": {"bedomning_sarskilt_stod": "behov"},
               "Task_prova_utredning": [{"beslut_val": "komplettera_utredning",
                                         "beslut_val_kommentar": "Stämmer behovet efter klassbytet?"}]}
    with time_machine.travel(START, tick=False) as clock:
        task = drive(engine, school, clock, answers, "Task_prova_utredning")
        do(engine, school, task, answers["Task_prova_utredning"][0])
    assert [t.bpmn_id for t in ready_tasks(engine, task.case_id)] == ["Task_pedagogisk_kartlaggning"]
