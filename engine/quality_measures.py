"""What each quality figure counts: the steps, decisions and answers of the shipped routines behind them.

One place, so an organiser whose routines name their steps differently changes only this file
(docs/quality.md lists every figure). Decisions are found by the kind the deployed diagram gives its
decision task (`decision` property), never by step id.
"""
from __future__ import annotations

# Counts of completed steps: figure key -> (routine, the steps whose completion counts).
STEP_COUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "anmalningar": ("sarskilt_stod", ("Task_anmalan_rektor",)),
    "utredningar": ("sarskilt_stod", ("Task_utse_utredare",)),
    "overklaganden": ("sarskilt_stod", ("Task_registrera_overklagande",)),
    "kb_anmalningar": ("krankande_behandling", ("Task_kb_anmalan_rektor",)),
    "kb_avslutade": ("krankande_behandling", ("Task_kb_avsluta",)),
    "franvaroutredningar": ("franvaro", ("Task_fr_starta_utredning",)),
    "franvaro_avslutade": ("franvaro", ("Task_fr_avsluta",)),
    # unit-level routines (their cases have no pupil, so their figures are never hidden: quality.py)
    "avvikelser": ("avvikelse", ("Task_avv_beskriv",)),
    "avvikelser_rapporterade": ("avvikelse", ("Task_avv_rapportera",)),
    "arshjul_avstamningar": ("arshjul", ("Task_ar_avstamning",)),
}
SPECIAL_FORMS = ("sarskild_undervisningsgrupp", "enskild_undervisning", "distansundervisning",
                 "anpassad_studiegang")  # 3:11, 3:11, 3:11 a, 3:12
PROGRAMME_DECISIONS = ("atgardsprogram", *SPECIAL_FORMS)
# Counts of signed decisions, by the kind the deployed routine gives its decision task.
DECISION_COUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "atgardsprogram": ("sarskilt_stod", PROGRAMME_DECISIONS),
    "ej_atgardsprogram": ("sarskilt_stod", ("ej_atgardsprogram",)),
    "sarskild_form": ("sarskilt_stod", SPECIAL_FORMS),
    "avslut_atgardsprogram": ("sarskilt_stod", ("avslut_atgardsprogram",)),
}
# Reported cases cancelled on a ground their routine allows (engine/cases.py: the pupil moved, a
# duplicate), from `cases.cancel_ground`, counted in the term the case was cancelled; by ground too.
CANCELLED = ("avbrutna_efter_anmalan", "sarskilt_stod")
CANCEL_GROUNDS = ("elev_flyttat", "dubblett")
COUNT_KEYS = ("anmalningar", "utredningar", "atgardsprogram", "sarskild_form", "ej_atgardsprogram",
              "avslut_atgardsprogram", "overklaganden", "avbrutna_efter_anmalan", "kb_anmalningar",
              "kb_avslutade", "franvaroutredningar", "franvaro_avslutade", "avvikelser",
              "avvikelser_rapporterade", "arshjul_avstamningar")
COUNT_ROUTINE = {k: v[0] for k, v in {**STEP_COUNTS, **DECISION_COUNTS}.items()}
COUNT_ROUTINE[CANCELLED[0]] = CANCELLED[1]
UNIT_KEYS = ("anmalningar", "utredningar", "atgardsprogram", "ej_atgardsprogram", "sarskild_form",
             "overklaganden", "kb_anmalningar", "franvaroutredningar")

# Answers in a step's form, counted by value: (step, form key) -> breakdown key. A list answer counts
# each of its values.
ANSWERS: dict[tuple[str, str], str] = {
    ("Task_prova_rattidighet", "overklagande_rattidighet"): "overklagande_utfall",
    ("Task_omprova_beslut", "overklagande_omprovning"): "overklagande_utfall",
    ("Task_registrera_avgorande", "overklagande_avgorande"): "overklagande_utfall",
    ("Task_kb_utredning", "kb_bedomning"): "kb_bedomning",
    ("Task_kb_anmalan_rektor", "kb_inblandade"): "kb_inblandade",
    ("Task_kb_anmalan_rektor", "kb_form"): "kb_form",
    ("Task_fr_utredning", "fr_utred_sarskilt_stod"): "franvaro_sarskilt_stod",
}
# Which answers are appeal outcomes (the others of those steps say the appeal goes on).
OUTCOMES = {("overklagande_rattidighet", "for_sent"): "avvisat_for_sent",
            ("overklagande_omprovning", "andras"): "andrat_vid_omprovning",
            ("overklagande_avgorande", "avslag"): "avslag", ("overklagande_avgorande", "andrat"): "andrat",
            ("overklagande_avgorande", "aterforvisat"): "aterforvisat",
            ("overklagande_avgorande", "avvisat"): "avvisat"}
BREAKDOWN_PARTS = {
    "sarskild_form": SPECIAL_FORMS,
    "overklagande_utfall": ("avvisat_for_sent", "andrat_vid_omprovning", "avslag", "andrat", "aterforvisat",
                            "avvisat"),
    "kb_bedomning": ("krankande_behandling", "trakasserier", "sexuella_trakasserier", "ej_konstaterat"),
    "kb_inblandade": ("elev_elev", "personal_elev", "okand"),
    "kb_form": ("fysisk", "verbal", "psykosocial", "digital"),
    "franvaro_sarskilt_stod": ("true", "false"),
    "avbrytande_grund": CANCEL_GROUNDS,
}

# Lead times between two points of a case: key -> (routine, from, to). A point is a step (its first
# completion in the case), "decision:<kinds>" (the first decision of those kinds) or "start"/"end".
DECISION_POINT = "decision:" + ",".join(("ej_atgardsprogram", *PROGRAMME_DECISIONS))
LEAD_TIMES: dict[str, tuple[str, str, str]] = {
    "anmalan_till_utredning": ("sarskilt_stod", "Task_anmalan_rektor", "Task_utse_utredare"),
    "utredning_till_beslut": ("sarskilt_stod", "Task_utse_utredare", DECISION_POINT),
    "anmalan_till_beslut": ("sarskilt_stod", "Task_anmalan_rektor", DECISION_POINT),
    "beslut_till_uppfoljning": ("sarskilt_stod", "decision:" + ",".join(PROGRAMME_DECISIONS),
                                "Task_uppfoljning"),
    "kb_till_huvudman": ("krankande_behandling", "Task_kb_anmalan_rektor", "Task_kb_rektor"),
    "kb_till_avslut": ("krankande_behandling", "Task_kb_anmalan_rektor", "Task_kb_avsluta"),
    "franvaro_till_utredning": ("franvaro", "Task_fr_signal", "Task_fr_starta_utredning"),
    "franvaro_till_avslut": ("franvaro", "Task_fr_starta_utredning", "Task_fr_avsluta"),
}
