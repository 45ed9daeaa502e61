"""A data set for quality follow-up, built through the engine API on a controlled clock.

Two school units of one organiser: Ekskolan ("a") and Björkskolan ("b"), each with a rektor, a
specialpedagog, a teacher, a mentor, a kurator and a skolpsykolog; one huvudman user holds `huvudman` at
both. Every case below is walked through the shipped routines step by step, each step done at the time
written beside it (08:00 UTC on that day), by the person its lane or its assignee names. tests/
test_quality.py states the figures expected from these plans, worked out by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import time_machine
from routine_scenarios import UNIT_LEVEL
from test_routines import PROCESSES, SHARED, sample

from elevflow.engine import Engine, complete_task, deploy_path, list_tasks, sign_decision, start_case
from elevflow.engine.org import records as org
from elevflow.engine.runtime.tasks import task_info

ROUTINES = ("sarskilt_stod", "krankande_behandling", "franvaro", "avvikelse", "arshjul")
STAFF = {"rektor": "rektor", "specialpedagog": "specialpedagog", "teacher": "larare", "mentor": "mentor",
         "kurator": "kurator", "skolpsykolog": "skolpsykolog"}
LANE_USER = {"larare": "teacher", "mentor": "mentor", "rektor": "rektor", "specialpedagog": "specialpedagog",
             "elevhalsopersonal": "kurator"}


def d(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, 8, 0, tzinfo=timezone.utc)


@dataclass
class QualityOrg:
    units: dict[str, int]  # "a", "b" -> unit id
    users: dict[str, int]  # "rektor_a", ..., "huvudman", "outsider" -> user id
    pupils: dict[str, int]
    cases: dict[str, int]


def build_org(engine: Engine) -> QualityOrg:
    with engine.db.write() as s:
        kommun = org.add_organiser(s, "Exempelby kommun")
        units = {"a": org.add_unit(s, "30000001", "Ekskolan", kommun.id).id,
                 "b": org.add_unit(s, "30000002", "Björkskolan", kommun.id).id}
        users: dict[str, int] = {}
        for letter, unit in units.items():
            for name, role in STAFF.items():
                user = org.add_user(s, f"{name}_{letter}", f"{name.title()} {letter.upper()}")
                org.assign_role(s, user.id, unit, role)
                users[f"{name}_{letter}"] = user.id
        huvudman = org.add_user(s, "huvudman", "Huvudman")
        for unit in units.values():
            org.assign_role(s, huvudman.id, unit, "huvudman")
        users["huvudman"] = huvudman.id
        pupils = {}
        for letter, unit in units.items():
            for i in range(1, 9):
                pupils[f"{letter}{i}"] = org.add_pupil(s, unit, f"Elev{i}", letter.upper(), "7A").id
    for routine in ROUTINES:
        deploy_path(engine, PROCESSES / routine, shared_dir=SHARED)
    return QualityOrg(units, users, pupils, {})


def _data(form: dict[str, Any], answer: dict[str, Any], letter: str, users: dict[str, int],
          today: datetime) -> dict[str, Any]:
    data = {k: sample(v, today.date()) for k, v in form["properties"].items() if k not in answer}
    for key, value in answer.items():
        named = isinstance(value, str) and value.startswith("@")
        data[key] = users[f"{value[1:]}_{letter}"] if named else value
    return data


def walk(engine: Engine, q: QualityOrg, name: str, routine: str, pupil: str, starter: str, started: datetime,
         plan: list[tuple[str, dict[str, Any], datetime]]) -> int:
    """Start a case at `started` and do each planned step at its time; the case stays where the plan
    ends. `pupil` names the pupil ("a1"), or for a unit-level routine (the årshjul) only the unit ("a")."""
    letter = pupil[0]
    subject = {"unit_id": q.units[letter]} if routine in UNIT_LEVEL else {"pupil_id": q.pupils[pupil]}
    with time_machine.travel(started, tick=False) as clock:
        case = start_case(engine, routine, **subject, by=q.users[f"{starter}_{letter}"])
        for bpmn_id, answer, at in plan:
            clock.move_to(at)
            [task] = [t for t in list_tasks(engine, case_id=case.id, state="ready") if t.bpmn_id == bpmn_id]
            if task.assignee_id is not None:
                user = task.assignee_id
            elif task.role == "huvudman":
                user = q.users["huvudman"]
            else:
                user = q.users[f"{LANE_USER[task.role]}_{letter}"]
            info = task_info(engine, task)
            data = _data(info["form"], answer, letter, q.users, at)
            if info["decision"]:  # a decision is completed only by signing it
                sign_decision(engine, task.id, data, by=user, reauthenticated_at=at)
            else:
                complete_task(engine, task.id, data, by=user)
    q.cases[name] = case.id
    return case.id


DIRECT = {"anmalan_direkt": True, "anmalan_direkt_skal": "Akut skolsituation"}
NO_EHT = {"samrad_eht": "uppenbart_obehovligt", "samrad_obehovligt_skal": "EHT deltar redan"}
PROGRAMME = {"sarskild_form": "ingen", "uppfoljning_ansvarig": "@specialpedagog"}


def investigation(extra: datetime, report: datetime, appoint: datetime) -> list[tuple[str, dict, datetime]]:
    return [("Task_extra_anpassningar", DIRECT, extra), ("Task_anmalan_rektor", {}, report),
            ("Task_utse_utredare", {"utredare": "@specialpedagog"}, appoint)]


def assessed(survey: datetime, assessment: datetime) -> list[tuple[str, dict, datetime]]:
    return [("Task_pedagogisk_kartlaggning", NO_EHT, survey), ("Task_pedagogisk_bedomning", {}, assessment)]


def build(engine: Engine) -> QualityOrg:
    """The whole data set (see the module docstring and tests/test_quality.py)."""
    q = build_org(engine)
    # Särskilt stöd at Ekskolan, hösttermin 2025
    walk(engine, q, "c1", "sarskilt_stod", "a1", "teacher", d(8, 28), [
        *investigation(d(8, 29), d(9, 1), d(9, 3)), *assessed(d(9, 10), d(9, 17)),
        ("Task_prova_utredning", {"beslut_val": "atgardsprogram"}, d(9, 24)),
        ("Task_utarbeta_atgardsprogram", PROGRAMME, d(9, 26)),
        ("Task_beslut_atgardsprogram", {"beslut_ap_beslutsfattare": "rektor"}, d(9, 29)),
        ("Task_delge_beslut", {}, d(9, 30))])
    walk(engine, q, "c2", "sarskilt_stod", "a2", "teacher", d(9, 4), [
        *investigation(d(9, 5), d(9, 8), d(9, 18)), *assessed(d(9, 25), d(10, 1)),
        ("Task_prova_utredning", {"beslut_val": "ej_atgardsprogram"}, d(10, 6)),
        ("Task_beslut_ej_atgardsprogram", {"beslut_ej_beslutsfattare": "rektor"}, d(10, 8)),
        ("Task_delge_beslut", {}, d(10, 9)),
        ("Task_registrera_overklagande", {"overklagande_klagande": "bada_vardnadshavare"}, d(10, 20)),
        ("Task_prova_rattidighet", {"overklagande_rattidighet": "for_sent"}, d(10, 21))])
    walk(engine, q, "c3", "sarskilt_stod", "a3", "teacher", d(9, 26), [
        *investigation(d(9, 29), d(10, 1), d(10, 2)), *assessed(d(10, 9), d(10, 15)),
        ("Task_prova_utredning", {"beslut_val": "atgardsprogram"}, d(10, 20)),
        ("Task_utarbeta_atgardsprogram", {**PROGRAMME, "sarskild_form": "sarskild_undervisningsgrupp"},
         d(10, 22)),
        ("Task_beslut_sarskild_undervisningsgrupp", {}, d(10, 23))])
    walk(engine, q, "c4", "sarskilt_stod", "a4", "teacher", d(10, 30),
         investigation(d(10, 31), d(11, 3), d(11, 4)))
    # ... and one in vårterminen 2025
    walk(engine, q, "c5", "sarskilt_stod", "a5", "teacher", d(2, 27), investigation(d(2, 28), d(3, 3), d(3,
                                                                                                         5)))
    # Särskilt stöd at Björkskolan
    walk(engine, q, "c6", "sarskilt_stod", "b1", "teacher", d(9, 9), investigation(d(9, 10), d(9, 15), d(9,
                                                                                                         16)))
    walk(engine, q, "c7", "sarskilt_stod", "b2", "teacher", d(10, 9),
         investigation(d(10, 10), d(10, 13), d(10, 20)))
    # Kränkande behandling at Ekskolan
    walk(engine, q, "k1", "krankande_behandling", "a6", "teacher", d(9, 1), [
        ("Task_kb_anmalan_rektor", {"kb_inblandade": "elev_elev", "kb_form": ["verbal", "digital"]}, d(9, 2)),
        ("Task_kb_rektor", {"kb_utredare": "@kurator"}, d(9, 3)),
        ("Task_kb_huvudman_registrera", {}, d(9, 5)),
        ("Task_kb_utredning", {"kb_bedomning": "krankande_behandling"}, d(9, 10)),
        ("Task_kb_atgarder", {}, d(9, 12)),
        ("Task_kb_uppfoljning", {"kb_krankningar_upphort": True}, d(9, 26)),
        ("Task_kb_avsluta", {}, d(9, 29)), ("Task_kb_huvudman_avslut", {}, d(9, 30))])
    walk(engine, q, "k2", "krankande_behandling", "a7", "teacher", d(10, 6), [
        ("Task_kb_anmalan_rektor", {"kb_inblandade": "elev_elev", "kb_form": ["fysisk"]}, d(10, 6)),
        ("Task_kb_rektor", {"kb_utredare": "@kurator"}, d(10, 8)),
        ("Task_kb_huvudman_registrera", {}, d(10, 9)),
        ("Task_kb_utredning", {"kb_bedomning": "ej_konstaterat"}, d(10, 13)),
        ("Task_kb_avsluta", {}, d(10, 16)), ("Task_kb_huvudman_avslut", {}, d(10, 17))])
    walk(engine, q, "k3", "krankande_behandling", "a8", "teacher", d(11, 10), [
        ("Task_kb_anmalan_rektor", {"kb_inblandade": "personal_elev", "kb_form": ["verbal"]}, d(11, 10)),
        ("Task_kb_rektor", {"kb_utredare": "@kurator"}, d(11, 11))])
    # Frånvaro at Ekskolan: the investigation starts a linked support-need case
    walk(engine, q, "f1", "franvaro", "a6", "mentor", d(8, 29), [
        ("Task_fr_signal", {}, d(9, 1)), ("Task_fr_kontakt_vh", {}, d(9, 2)),
        ("Task_fr_starta_utredning", {"fr_utreds": "utreds", "fr_utredare": "@skolpsykolog"}, d(9, 4)),
        ("Task_fr_huvudman", {"fr_annan_hemkommun": False}, d(9, 5)),
        ("Task_fr_utredning", {"fr_utred_sarskilt_stod": True}, d(9, 15)),
        ("Task_fr_atgarder", {}, d(9, 18)),
        ("Task_fr_uppfoljning", {"fr_uppfoljning_resultat": "upphort"}, d(10, 20)),
        ("Task_fr_avsluta", {}, d(10, 22))])
    # Årshjul at Ekskolan, to its first check-in
    walk(engine, q, "y1", "arshjul", "a", "rektor", d(8, 11), [
        ("Task_ar_planera", {"lasar": "2025/26", "antal_avstamningar": 2}, d(8, 12)),
        ("Task_ar_dataanalys", {}, d(8, 19)), ("Task_ar_mal", {}, d(8, 26)),
        ("Task_ar_insatser", {}, d(9, 2)),
        ("Task_ar_avstamning", {}, d(11, 20))])
    return q


AS_OF = d(12, 1)
BEFORE = d(11, 10)
ONE_DAY = timedelta(days=1)
