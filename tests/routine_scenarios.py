"""Scenario data for tests/test_routines.py: which form answers drive which path of each shipped routine.

A scenario is one case of a routine, walked from its start to its end. `answers` maps a user task's BPMN id
to what is typed into its form each time it comes up:

- a dict: the fields to set; every other field of the form gets a valid sample value (a date field gets the
  day the task is done), so only what steers the path or names a person is written down;
- `WAIT`: leave the task open and let the clock run until the boundary timer on it fires;
- `(WAIT, answer)`: let the clock run until the (non-interrupting) timer on the task fires, then answer it;
- a list of those: one per time the task comes up (the last one repeats).

A value written "@username" stands for that person's user id (see `PEOPLE`). `path` is the expected order of
the completed user tasks, with "timer:<id>" where a timer fired; `ends` are the end events reached, in the
routine and in the processes it calls. The paths follow docs/processes.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WAIT = "WAIT"

#: The staff of the test school: username -> the role they hold at the pupil's unit.
PEOPLE = {
    "teacher": "larare", "mentor": "mentor", "rektor": "rektor", "specialpedagog": "specialpedagog",
    "kurator": "kurator", "skolpsykolog": "skolpsykolog", "huvudman": "huvudman",
    "fritidspedagog": "personal",  # SS 12000 "Fritidspedagog": staff with no lane of their own
}

#: Who completes an open (unassigned) task of each lane, and a colleague at the same unit who may not.
#: Lärare is also served by Mentor and Elevhälsopersonal by every EHT role (engine/org/access.py), so the
#: kurator does the team's tasks; the Mentor and Specialpedagog lanes are served by their own role only.
LANE_USER = {"larare": "teacher", "mentor": "mentor", "rektor": "rektor", "specialpedagog": "specialpedagog",
             "elevhalsopersonal": "kurator", "huvudman": "huvudman"}
LANE_REFUSED = {"larare": "kurator", "mentor": "teacher", "rektor": "specialpedagog",
                "specialpedagog": "kurator", "elevhalsopersonal": "teacher", "huvudman": "rektor"}

#: The lane role of every user task of the shipped routines: what its task row must say.
ROLE_OF = {
    # sarskilt_stod
    "Task_extra_anpassningar": "larare", "Task_utvardera_anpassningar": "larare",
    "Task_anmalan_rektor": "larare", "Task_utse_utredare": "rektor",
    "Task_pedagogisk_kartlaggning": "specialpedagog", "Task_samrad_elevhalsa": "elevhalsopersonal",
    "Task_pedagogisk_bedomning": "specialpedagog", "Task_prova_utredning": "rektor",
    "Task_utarbeta_atgardsprogram": "specialpedagog", "Task_beslut_atgardsprogram": "rektor",
    "Task_beslut_sarskild_undervisningsgrupp": "rektor", "Task_beslut_enskild_undervisning": "rektor",
    "Task_beslut_anpassad_studiegang": "rektor", "Task_beslut_distansundervisning": "rektor",
    "Task_beslut_ej_atgardsprogram": "rektor", "Task_uppfoljning": "specialpedagog",
    "Task_uppdaterad_bedomning": "specialpedagog", "Task_beslut_avsluta": "rektor",
    # shared/delgivning, shared/overklagande
    "Task_delge_beslut": "rektor", "Task_registrera_overklagande": "rektor",
    "Task_prova_rattidighet": "rektor", "Task_besluta_avvisning": "rektor", "Task_omprova_beslut": "rektor",
    "Task_yttrande_overlamna": "rektor", "Task_registrera_avgorande": "rektor",
    # krankande_behandling
    "Task_kb_anmalan_rektor": "personal", "Task_kb_rektor_direkt": "rektor", "Task_kb_rektor": "rektor",
    "Task_kb_huvudman_registrera": "huvudman",
    "Task_kb_utredning": "elevhalsopersonal", "Task_kb_atgarder": "rektor",
    "Task_kb_uppfoljning": "elevhalsopersonal", "Task_kb_avsluta": "rektor",
    "Task_kb_huvudman_avslut": "huvudman",
    # franvaro
    "Task_fr_signal": "mentor", "Task_fr_kontakt_vh": "mentor", "Task_fr_starta_utredning": "rektor",
    "Task_fr_huvudman": "huvudman", "Task_fr_utredning": "elevhalsopersonal", "Task_fr_atgarder": "rektor",
    "Task_fr_uppfoljning": "mentor", "Task_fr_avsluta": "rektor",
    # orosanmalan
    "Task_oro_anmalan": "personal", "Task_oro_aterkoppling": "rektor",
    # avvikelse
    "Task_avv_beskriv": "elevhalsopersonal", "Task_avv_bedom": "rektor", "Task_avv_rapportera": "rektor",
    "Task_avv_uppfoljning": "rektor",
    # arshjul
    "Task_ar_planera": "rektor", "Task_ar_dataanalys": "elevhalsopersonal", "Task_ar_mal": "rektor",
    "Task_ar_insatser": "elevhalsopersonal", "Task_ar_avstamning": "rektor", "Task_ar_utvardering": "rektor",
    "Task_ar_huvudman": "huvudman",
}

#: Tasks that go to the person who started the case (assigneeFrom `startad_av`), whoever that is.
STARTER_OWNS = "(starter)"

#: Tasks that go to the person named in case data (assigneeFrom), and who that is in every scenario.
ASSIGNED = {
    "Task_oro_anmalan": STARTER_OWNS, "Task_kb_anmalan_rektor": STARTER_OWNS,
    "Task_kb_rektor_direkt": STARTER_OWNS,
    "Task_pedagogisk_kartlaggning": "specialpedagog", "Task_pedagogisk_bedomning": "specialpedagog",
    "Task_utarbeta_atgardsprogram": "specialpedagog", "Task_uppdaterad_bedomning": "specialpedagog",
    "Task_uppfoljning": "specialpedagog",  # uppfoljning_ansvarig: a specialpedagog, as its lane says (#13)
    "Task_kb_utredning": "kurator", "Task_kb_uppfoljning": "kurator",
    "Task_fr_utredning": "skolpsykolog",
}

#: The routines whose cases belong to the school unit and have no pupil (their diagrams say `caseSubject`
#: unit): the årshjul is the unit's own quality work, an avvikelse must be de-identified.
UNIT_LEVEL = frozenset({"arshjul", "avvikelse"})

#: Who starts a case of each routine (unless the scenario names someone else).
STARTER = {"sarskilt_stod": "teacher", "krankande_behandling": "teacher", "franvaro": "mentor",
           "orosanmalan": "teacher", "avvikelse": "kurator", "arshjul": "rektor"}


def assignee(bpmn_id: str, starter: str) -> str | None:
    """Who a task goes to by name: the person case data names, the case's starter, or None (its lane)."""
    named = ASSIGNED.get(bpmn_id)
    return starter if named == STARTER_OWNS else named


@dataclass(frozen=True)
class Scenario:
    id: str  # the test id: the path, in English
    routine: str
    answers: dict[str, Any]
    path: tuple[str, ...]
    ends: frozenset[str]
    linked: tuple[str, ...] = ()  # the routines of the cases this case starts
    by: dict[str, str] = field(default_factory=dict)  # bpmn id -> username, instead of the lane's default
    defer: tuple[str, ...] = ()  # tasks done only when nothing else is open (order of parallel branches)
    data: dict[str, Any] = field(default_factory=dict)  # case data expected at the end
    starter: str = ""  # who starts the case, if not the routine's usual starter (STARTER)

    @property
    def started_by(self) -> str:
        return self.starter or STARTER[self.routine]


SCENARIOS: list[Scenario] = []


def scenario(id: str, routine: str, base: dict[str, Any], path: list[str], ends: set[str],
             answers: dict[str, Any] | None = None, **kw: Any) -> None:
    SCENARIOS.append(Scenario(id, routine, {**base, **(answers or {})}, tuple(path), frozenset(ends), **kw))


# ------------------------------------------------------------------------------------------- särskilt stöd
PROGRAMME = {"sarskild_form": "ingen", "uppfoljning_ansvarig": "@specialpedagog"}
#: The appeal registration stays open after the window; the rektor closes the watch once it has run out.
CLOSE = {"overklagande_inkommet": "bevakning_avslutas"}
WAIT_THEN_CLOSE = (WAIT, CLOSE)
IN_TIME = {"overklagande_inkommet": "ja"}  # an appeal that comes in while the window is open
LATE = (WAIT, {"overklagande_inkommet": "ja", "overklagande_klagande": "bada_vardnadshavare"})
SS = {
    "Task_extra_anpassningar": {"anmalan_direkt": False},
    "Task_utvardera_anpassningar": {"anpassningar_slutsats": "anmal"},
    "Task_utse_utredare": {"utredare": "@specialpedagog"},
    "Task_pedagogisk_kartlaggning": {"samrad_eht": "behovs"},
    "Task_prova_utredning": {"beslut_val": "atgardsprogram"},
    "Task_utarbeta_atgardsprogram": PROGRAMME,
    "Task_beslut_atgardsprogram": {"beslut_ap_beslutsfattare": "rektor"},
    "Task_beslut_ej_atgardsprogram": {"beslut_ej_beslutsfattare": "rektor"},
    "Task_beslut_avsluta": {"beslut_avslut_beslutsfattare": "rektor"},
    "Task_registrera_overklagande": WAIT_THEN_CLOSE,
    "Task_prova_rattidighet": {"overklagande_rattidighet": "i_tid"},
    "Task_omprova_beslut": {"overklagande_omprovning": "andras_ej"},
    "Task_uppfoljning": {"utvardering_slutsats": "avsluta"},
}
# Stretches of path that recur, to keep the expected paths readable.
ADAPT = ["Task_extra_anpassningar", "Task_utvardera_anpassningar"]
INVESTIGATE = ["Task_anmalan_rektor", "Task_utse_utredare", "Task_pedagogisk_kartlaggning",
               "Task_samrad_elevhalsa", "Task_pedagogisk_bedomning", "Task_prova_utredning"]
PROGRAMME_DECIDED = ["Task_utarbeta_atgardsprogram", "Task_beslut_atgardsprogram"]
WINDOW_CLOSES = ["timer:Timer_overklagandetid", "Task_registrera_overklagande"]  # then the watch is closed
END_DECIDED = ["Task_uppfoljning", "Task_uppdaterad_bedomning", "Task_beslut_avsluta", "Task_delge_beslut"]
END_PROGRAMME = [*END_DECIDED, *WINDOW_CLOSES]
PROGRAMME_RUNS = ["Task_delge_beslut", *WINDOW_CLOSES, *END_PROGRAMME]
APPEAL = ["Task_registrera_overklagande", "Task_prova_rattidighet"]
LATE_APPEAL = ["timer:Timer_overklagandetid", *APPEAL]
TO_BOARD = ["Task_omprova_beslut", "Task_yttrande_overlamna", "Task_registrera_avgorande"]
WATCH_ENDED = {"End_beslut_delgivet", "End_laga_kraft", "End_bevakning_avslutad"}
PROGRAMME_ENDED = {*WATCH_ENDED, "End_programbeslut_overklagande_klart", "End_program_avslutas",
                   "End_atgardsprogram_avslutat"}

scenario(
    "sarskilt_stod_adaptations_adjusted_then_enough", "sarskilt_stod", SS,
    answers={"Task_utvardera_anpassningar": [{"anpassningar_slutsats": "justera"},
                                             {"anpassningar_slutsats": "racker"}]},
    by={"Task_utvardera_anpassningar": "mentor"},  # the mentor may do the teacher's tasks
    path=[*ADAPT, *ADAPT], ends={"End_anpassningar_racker"})
scenario(
    "sarskilt_stod_direct_report_without_consultation_no_programme_window_closes", "sarskilt_stod", SS,
    answers={"Task_extra_anpassningar": {"anmalan_direkt": True, "anmalan_direkt_skal": "Akut skolsituation"},
             "Task_pedagogisk_kartlaggning": {"samrad_eht": "uppenbart_obehovligt",
                                              "samrad_obehovligt_skal": "EHT deltar redan"},
             "Task_prova_utredning": {"beslut_val": "ej_atgardsprogram"}},
    path=["Task_extra_anpassningar", "Task_anmalan_rektor", "Task_utse_utredare",
          "Task_pedagogisk_kartlaggning", "Task_pedagogisk_bedomning", "Task_prova_utredning",
          "Task_beslut_ej_atgardsprogram", "Task_delge_beslut", *WINDOW_CLOSES],
    ends={*WATCH_ENDED, "End_inget_atgardsprogram"})
scenario(
    "sarskilt_stod_investigation_completed_programme_continued_revised_to_special_group_then_ended",
    "sarskilt_stod", SS,
    answers={"Task_prova_utredning": [{"beslut_val": "komplettera_utredning",
                                       "beslut_val_kommentar": "Mer om läsning"},
                                      {"beslut_val": "atgardsprogram"}],
             "Task_utarbeta_atgardsprogram": [PROGRAMME,
                                              {**PROGRAMME, "sarskild_form": "sarskild_undervisningsgrupp"}],
             "Task_beslut_atgardsprogram": {"beslut_ap_beslutsfattare": "delegat",
                                            "beslut_ap_delegation": "Delegationsordning 2025-08-01 p. 4"},
             "Task_uppfoljning": [{"utvardering_slutsats": "fortsatt",
                                   "utvardering_inget_nytt_beslut_skal": "Åtgärderna står sig"},
                                  {"utvardering_slutsats": "revidera"}, {"utvardering_slutsats": "avsluta"}]},
    path=[*ADAPT, *INVESTIGATE, "Task_pedagogisk_kartlaggning", "Task_samrad_elevhalsa",
          "Task_pedagogisk_bedomning", "Task_prova_utredning", *PROGRAMME_DECIDED, "Task_delge_beslut",
          *WINDOW_CLOSES, "Task_uppfoljning", "Task_uppfoljning", "Task_utarbeta_atgardsprogram",
          "Task_beslut_sarskild_undervisningsgrupp", *PROGRAMME_RUNS],
    ends={*PROGRAMME_ENDED, "End_program_revideras"})
for form in ("enskild_undervisning", "anpassad_studiegang", "distansundervisning"):
    scenario(
        f"sarskilt_stod_programme_with_{form}_decided_by_the_rektor_personally", "sarskilt_stod", SS,
        answers={"Task_utarbeta_atgardsprogram": {**PROGRAMME, "sarskild_form": form}},
        path=[*ADAPT, *INVESTIGATE, "Task_utarbeta_atgardsprogram", f"Task_beslut_{form}", *PROGRAMME_RUNS],
        ends=PROGRAMME_ENDED)
scenario(
    "sarskilt_stod_programme_appeal_registered_after_the_window_is_dismissed_by_a_signed_decision",
    "sarskilt_stod", SS,
    answers={"Task_registrera_overklagande": [LATE, WAIT_THEN_CLOSE],
             "Task_prova_rattidighet": {"overklagande_rattidighet": "for_sent"}},
    defer=("Task_uppfoljning",),
    path=[*ADAPT, *INVESTIGATE, *PROGRAMME_DECIDED, "Task_delge_beslut", *LATE_APPEAL,
          "Task_besluta_avvisning", "Task_delge_beslut", *END_PROGRAMME],
    ends={"End_avvisat", *PROGRAMME_ENDED})
scenario(
    "sarskilt_stod_no_programme_appealed_and_changed_by_the_rektor_on_reconsideration", "sarskilt_stod", SS,
    answers={"Task_prova_utredning": [{"beslut_val": "ej_atgardsprogram"}, {"beslut_val": "atgardsprogram"}],
             "Task_registrera_overklagande": [{**IN_TIME, "overklagande_klagande": "bada_vardnadshavare"},
                                              WAIT_THEN_CLOSE],
             "Task_omprova_beslut": {"overklagande_omprovning": "andras"}},
    path=[*ADAPT, *INVESTIGATE, "Task_beslut_ej_atgardsprogram", "Task_delge_beslut", *APPEAL,
          "Task_omprova_beslut", "Task_prova_utredning", *PROGRAMME_DECIDED, *PROGRAMME_RUNS],
    ends={"End_andrat_av_rektor", *PROGRAMME_ENDED})
scenario(
    "sarskilt_stod_programme_appeal_late_by_wrong_instructions_returned_by_the_board_then_no_programme",
    "sarskilt_stod", SS,
    answers={"Task_prova_utredning": [{"beslut_val": "atgardsprogram"}, {"beslut_val": "ej_atgardsprogram"}],
             "Task_registrera_overklagande": [LATE, WAIT_THEN_CLOSE],
             "Task_prova_rattidighet": {"overklagande_rattidighet": "for_sent_felaktig_hanvisning"},
             "Task_registrera_avgorande": {"overklagande_avgorande": "aterforvisat"}},
    defer=("Task_uppfoljning",),
    path=[*ADAPT, *INVESTIGATE, *PROGRAMME_DECIDED, "Task_delge_beslut", *LATE_APPEAL, *TO_BOARD,
          "Task_prova_utredning", "Task_beslut_ej_atgardsprogram", "Task_delge_beslut", *WINDOW_CLOSES],
    ends={*WATCH_ENDED, "End_aterforvisat", "End_programbeslut_overklagande_klart",
          "End_inget_atgardsprogram"})
scenario(
    "sarskilt_stod_end_decision_appealed_and_returned_then_new_end_decision_appeal_rejected", "sarskilt_stod",
    SS,
    answers={"Task_registrera_overklagande": [WAIT_THEN_CLOSE, IN_TIME, WAIT_THEN_CLOSE, IN_TIME],
             "Task_registrera_avgorande": [{"overklagande_avgorande": "aterforvisat"},
                                           {"overklagande_avgorande": "avslag"}]},
    path=[*ADAPT, *INVESTIGATE, *PROGRAMME_DECIDED, "Task_delge_beslut", *WINDOW_CLOSES,
          *END_DECIDED, *APPEAL, *TO_BOARD, *WINDOW_CLOSES, *END_DECIDED, *APPEAL, *TO_BOARD],
    ends={"End_aterforvisat", "End_avgjort", *PROGRAMME_ENDED})
scenario(
    "sarskilt_stod_no_programme_appealed_and_changed_by_the_board_whose_decision_the_rektor_carries_out",
    "sarskilt_stod", SS,
    answers={"Task_prova_utredning": [{"beslut_val": "ej_atgardsprogram"}, {"beslut_val": "atgardsprogram"}],
             "Task_registrera_overklagande": [IN_TIME, WAIT_THEN_CLOSE],
             "Task_registrera_avgorande": {"overklagande_avgorande": "andrat"}},
    path=[*ADAPT, *INVESTIGATE, "Task_beslut_ej_atgardsprogram", "Task_delge_beslut", *APPEAL, *TO_BOARD,
          "Task_prova_utredning", *PROGRAMME_DECIDED, *PROGRAMME_RUNS],
    ends={"End_andrat_av_namnden", *PROGRAMME_ENDED})
scenario(
    "sarskilt_stod_programme_appealed_and_dismissed_by_the_board", "sarskilt_stod", SS,
    answers={"Task_registrera_overklagande": [IN_TIME, WAIT_THEN_CLOSE],
             "Task_registrera_avgorande": {"overklagande_avgorande": "avvisat"}},
    defer=("Task_uppfoljning",),
    path=[*ADAPT, *INVESTIGATE, *PROGRAMME_DECIDED, "Task_delge_beslut", *APPEAL, *TO_BOARD, *END_PROGRAMME],
    ends={"End_avgjort", *PROGRAMME_ENDED})

# ------------------------------------------------------------------------------------ kränkande behandling
KB = {
    "Task_kb_rektor": {"kb_utredare": "@kurator"},
    "Task_kb_utredning": {"kb_bedomning": "krankande_behandling"},
    "Task_kb_uppfoljning": {"kb_krankningar_upphort": True},
}
KB_START = ["Task_kb_anmalan_rektor", "Task_kb_rektor"]
KB_END = ["Task_kb_avsluta", "Task_kb_huvudman_avslut"]
scenario(
    "krankande_behandling_found_first_measures_fail_second_work_organiser_registers_last",
    "krankande_behandling", KB,
    answers={"Task_kb_uppfoljning": [{"kb_krankningar_upphort": False}, {"kb_krankningar_upphort": True}]},
    defer=("Task_kb_huvudman_registrera",),
    path=[*KB_START, "Task_kb_utredning", "Task_kb_atgarder", "Task_kb_uppfoljning", "Task_kb_atgarder",
          "Task_kb_uppfoljning", "Task_kb_huvudman_registrera", *KB_END],
    ends={"End_kb_avslutat"})
scenario(
    "krankande_behandling_harassment_found_measures_work", "krankande_behandling", KB,
    answers={"Task_kb_utredning": {"kb_bedomning": "trakasserier", "kb_diskrimineringsgrund": "religion"}},
    path=[*KB_START, "Task_kb_huvudman_registrera", "Task_kb_utredning", "Task_kb_atgarder",
          "Task_kb_uppfoljning", *KB_END],
    ends={"End_kb_avslutat"})
scenario(
    "krankande_behandling_reported_by_a_fritidspedagog_not_established", "krankande_behandling", KB,
    answers={"Task_kb_utredning": {"kb_bedomning": "ej_konstaterat"}}, starter="fritidspedagog",
    path=[*KB_START, "Task_kb_huvudman_registrera", "Task_kb_utredning", *KB_END],
    ends={"End_kb_avslutat"})
scenario(
    "krankande_behandling_the_rektor_learns_of_it_and_reports_straight_to_the_organiser",
    "krankande_behandling", KB,
    answers={"Task_kb_rektor_direkt": {"kb_utredare": "@kurator"}}, starter="rektor",
    path=["Task_kb_rektor_direkt", "Task_kb_huvudman_registrera", "Task_kb_utredning", "Task_kb_atgarder",
          "Task_kb_uppfoljning", *KB_END],
    ends={"End_kb_avslutat"})
scenario(
    "krankande_behandling_not_established_skips_measures", "krankande_behandling", KB,
    answers={"Task_kb_utredning": {"kb_bedomning": "ej_konstaterat"}},
    path=[*KB_START, "Task_kb_huvudman_registrera", "Task_kb_utredning", *KB_END],
    ends={"End_kb_avslutat"})

# ------------------------------------------------------------------------------------------------ frånvaro
FR = {
    "Task_fr_starta_utredning": {"fr_utreds": "utreds", "fr_utredare": "@skolpsykolog"},
    "Task_fr_utredning": {"fr_utred_sarskilt_stod": False},
    "Task_fr_huvudman": {"fr_annan_hemkommun": False},
    "Task_fr_uppfoljning": {"fr_uppfoljning_resultat": "upphort"},
}
FR_START = ["Task_fr_signal", "Task_fr_kontakt_vh", "Task_fr_starta_utredning"]
scenario(
    "franvaro_starts_a_linked_special_support_case_then_absence_stops", "franvaro", FR,
    answers={"Task_fr_utredning": {"fr_utred_sarskilt_stod": True},
             "Task_fr_huvudman": {"fr_annan_hemkommun": True, "fr_hemkommun": "Solna"}},
    path=[*FR_START, "Task_fr_huvudman", "Task_fr_utredning", "Task_fr_atgarder", "Task_fr_uppfoljning",
          "Task_fr_avsluta"],
    ends={"End_fr_avslutat"}, linked=("sarskilt_stod",))
scenario(
    "franvaro_follow_up_continued_then_new_measures_then_absence_stops_organiser_last", "franvaro", FR,
    answers={"Task_fr_uppfoljning": [{"fr_uppfoljning_resultat": "fortsatt_uppfoljning"},
                                     {"fr_uppfoljning_resultat": "nya_atgarder"},
                                     {"fr_uppfoljning_resultat": "upphort"}]},
    defer=("Task_fr_huvudman",),
    path=[*FR_START, "Task_fr_utredning", "Task_fr_atgarder", "Task_fr_uppfoljning", "Task_fr_uppfoljning",
          "Task_fr_atgarder", "Task_fr_uppfoljning", "Task_fr_huvudman", "Task_fr_avsluta"],
    ends={"End_fr_avslutat"})

scenario(
    "franvaro_investigation_unnecessary_ends_with_the_reason", "franvaro", FR,
    answers={"Task_fr_starta_utredning": {"fr_utreds": "obehovligt", "fr_obehovligt_skal": "Känd orsak"}},
    path=FR_START, ends={"End_fr_utredning_obehovlig"})

# --------------------------------------------------------------------------------------------- orosanmälan
scenario(
    "orosanmalan_concern_remains_so_a_new_report_is_made", "orosanmalan", {},
    answers={"Task_oro_anmalan": {"oro_akut": True},
             "Task_oro_aterkoppling": [{"oro_aterkoppling": "ingen_utredning", "oro_ny_anmalan": True},
                                       {"oro_aterkoppling": "utredning_inledd", "oro_ny_anmalan": False}]},
    starter="kurator",
    path=["Task_oro_anmalan", "Task_oro_aterkoppling", "Task_oro_anmalan", "Task_oro_aterkoppling"],
    ends={"End_oro_klar"})
scenario(
    "orosanmalan_made_by_a_fritidspedagog", "orosanmalan", {},
    answers={"Task_oro_aterkoppling": {"oro_aterkoppling": "utredning_inledd", "oro_ny_anmalan": False}},
    starter="fritidspedagog", path=["Task_oro_anmalan", "Task_oro_aterkoppling"], ends={"End_oro_klar"})

# ----------------------------------------------------------------------------------------------- avvikelse
scenario(
    "avvikelse_solved_locally", "avvikelse", {},
    answers={"Task_avv_bedom": {"avv_beslut": "los_lokalt"}},
    by={"Task_avv_beskriv": "skolpsykolog"},  # any EHT role serves the Elevhälsopersonal lane
    path=["Task_avv_beskriv", "Task_avv_bedom"], ends={"End_avv_lost_lokalt"})
scenario(
    "avvikelse_reported_and_followed_up_twice", "avvikelse", {},
    answers={"Task_avv_bedom": {"avv_beslut": "rapportera"},
             "Task_avv_uppfoljning": [{"avv_hanterad": False}, {"avv_hanterad": True}]},
    path=["Task_avv_beskriv", "Task_avv_bedom", "Task_avv_rapportera", "Task_avv_uppfoljning",
          "Task_avv_uppfoljning"],
    ends={"End_avv_klar"})

# ------------------------------------------------------------------------------------------------- årshjul
AR_START = ["Task_ar_planera", "Task_ar_dataanalys", "Task_ar_mal", "Task_ar_insatser"]
AR_END = ["Task_ar_utvardering", "Task_ar_huvudman"]
for n in (2, 3, 4):
    scenario(
        f"arshjul_with_{n}_check_ins_counted_by_the_process", "arshjul", {},
        answers={"Task_ar_planera": {"lasar": "2025/26", "antal_avstamningar": n}},
        path=[*AR_START, *["Task_ar_avstamning"] * n, *AR_END],
        ends={"End_ar_klart"}, data={"avstamning_nr": n, "antal_avstamningar": n})

# ---------------------------------------------------------------------------------------- the command line
#: The shortest walk of each routine, done from the command line.
CLI_WALKS = {s.routine: s for s in [
    Scenario("cli_sarskilt_stod", "sarskilt_stod",
             {**SS, "Task_utvardera_anpassningar": {"anpassningar_slutsats": "racker"}},
             tuple(ADAPT), frozenset({"End_anpassningar_racker"})),
    Scenario("cli_krankande_behandling", "krankande_behandling",
             {**KB, "Task_kb_utredning": {"kb_bedomning": "ej_konstaterat"}},
             (*KB_START, "Task_kb_huvudman_registrera", "Task_kb_utredning", *KB_END),
             frozenset({"End_kb_avslutat"})),
    Scenario("cli_franvaro", "franvaro", FR,
             (*FR_START, "Task_fr_huvudman", "Task_fr_utredning", "Task_fr_atgarder", "Task_fr_uppfoljning",
              "Task_fr_avsluta"),
             frozenset({"End_fr_avslutat"})),
    Scenario("cli_orosanmalan", "orosanmalan", {"Task_oro_aterkoppling": {"oro_ny_anmalan": False}},
             ("Task_oro_anmalan", "Task_oro_aterkoppling"), frozenset({"End_oro_klar"})),
    Scenario("cli_avvikelse", "avvikelse", {"Task_avv_bedom": {"avv_beslut": "los_lokalt"}},
             ("Task_avv_beskriv", "Task_avv_bedom"), frozenset({"End_avv_lost_lokalt"})),
    Scenario("cli_arshjul", "arshjul", {"Task_ar_planera": {"lasar": "2025/26", "antal_avstamningar": 2}},
             (*AR_START, "Task_ar_avstamning", "Task_ar_avstamning", *AR_END), frozenset({"End_ar_klart"})),
]}
