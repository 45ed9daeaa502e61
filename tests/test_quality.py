"""Quality follow-up: every figure against values worked out by hand from tests/quality_data.py, and the
rule that hides small counts from those who may not see the cases behind them.

The hand computations, for Ekskolan in ht 2025 (days between the steps' completion times):

- reports C1 1 Sep, C2 8 Sep, C3 1 Oct, C4 3 Nov; investigators appointed 2, 10, 1 and 1 days later.
  Sorted [1, 1, 2, 10]: median 1.5; 90th percentile at rank 0.9 × 3 = 2.7: 2 + 0.7 × (10 − 2) = 7.6.
  Björkskolan adds 1 and 7: [1, 1, 1, 2, 7, 10]: median 1.5, rank 4.5: 7 + 0.5 × 3 = 8.5.
- investigation → decision: C1 3 Sep → 29 Sep = 26, C2 18 Sep → 8 Oct = 20, C3 2 Oct → 23 Oct = 21:
  median 21, rank 1.8: 21 + 0.8 × 5 = 25. Report → decision: 28, 30, 22: median 28, 28 + 0.8 × 2 = 29.6.
- the appointment was due a week after the report's date: C2 (10 days) was late: 3 of 4 on time.
- kränkande behandling: K1 2 Sep → closed 29 Sep = 27, K2 6 Oct → 16 Oct = 10: median 18.5,
  rank 0.9: 10 + 0.9 × 17 = 25.3; reported on to the huvudman after 1, 2 and 1 days: median 1, 1.8.
- frånvaro F1: signal 1 Sep → investigation 4 Sep = 3; investigation → closed 22 Oct = 48.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import quality_data as qd

from elevflow.engine import PermissionDeniedError
from elevflow.engine.expressions.terms import Term, window
from elevflow.engine.oversight import quality
from elevflow.engine.oversight.quality import Cell, Selection
from elevflow.engine.storage.models import User

HT25, VT25 = Term(2025, 1), Term(2025, 0)


def figures(engine, q, who: str, *, units: list[str] | None = None, **kw):
    scope = quality.scope_for(engine, q.users[who])
    chosen = tuple(q.units[u] for u in units) if units else tuple(scope.units)
    selection = Selection(kw.pop("term", HT25), chosen, as_of=kw.pop("as_of", qd.AS_OF), **kw)
    return quality.dashboard(engine, scope, selection)


def counts(dash, term: str = "ht2025") -> dict[str, float | None]:
    return {s.key: s.by_term[term].value for s in dash.counts}


def step(dash, bpmn_id: str):
    [found] = [s for s in dash.steps if s.bpmn_id == bpmn_id]
    return found


def lead(dash) -> dict[str, tuple]:
    return {t.key: (t.median.value, t.p90.value, t.n.value) for t in dash.lead_times}


HIDDEN = Cell(None, 0, True)


# ------------------------------------------------------------------------------------------------- terms
@pytest.mark.parametrize("local, key", [
    ("2025-06-30T23:59:59+02:00", "vt2025"), ("2025-07-01T00:00:00+02:00", "ht2025"),
    ("2025-12-31T23:59:59+01:00", "ht2025"), ("2026-01-01T00:00:00+01:00", "vt2026"),
    ("2025-08-15T12:00:00+02:00", "ht2025")])
def test_a_moment_belongs_to_the_term_of_its_swedish_local_date(local, key):
    moment = datetime.fromisoformat(local).astimezone(timezone.utc)
    assert Term.of(moment).key == key
    assert Term.parse(key).contains(moment)


def test_terms_follow_each_other_without_gaps():
    assert Term.parse("HT2025") == HT25 and HT25.label == "ht 2025"
    assert HT25.start == datetime(2025, 6, 30, 22, tzinfo=timezone.utc)
    assert HT25.end == Term(2026, 0).start == datetime(2025, 12, 31, 23, tzinfo=timezone.utc)
    assert [t.key for t in window(Term(2026, 0), 4)] == ["ht2024", "vt2025", "ht2025", "vt2026"]
    for bad in ("2025", "ht25", "st2025", ""):
        with pytest.raises(ValueError):
            Term.parse(bad)


# ---------------------------------------------------------------------------------------- the figures
def test_every_figure_of_the_rektors_unit_matches_the_hand_computed_value(engine):
    q = qd.build(engine)
    dash = figures(engine, q, "rektor_a")
    assert dash.exact and [u.name for u in dash.units] == ["Ekskolan"]
    assert counts(dash) == {"anmalningar": 4, "utredningar": 4, "atgardsprogram": 2, "sarskild_form": 1,
                            "ej_atgardsprogram": 1, "avslut_atgardsprogram": 0, "overklaganden": 1,
                            "avbrutna_efter_anmalan": 0, "kb_anmalningar": 3, "kb_avslutade": 2,
                            "franvaroutredningar": 1, "franvaro_avslutade": 1, "avvikelser": 0,
                            "avvikelser_rapporterade": 0, "arshjul_avstamningar": 1}
    assert counts(dash, "vt2025") == {**{k: 0 for k in counts(dash)}, "anmalningar": 1, "utredningar": 1}
    assert [t.key for t in dash.terms] == ["vt2023", "ht2023", "vt2024", "ht2024", "vt2025", "ht2025"]

    parts = {b.key: {k: c.value for k, c in b.parts.items() if c.value} for b in dash.breakdowns}
    assert parts == {"sarskild_form": {"sarskild_undervisningsgrupp": 1},
                     "overklagande_utfall": {"avvisat_for_sent": 1},
                     "kb_bedomning": {"krankande_behandling": 1, "ej_konstaterat": 1},
                     "kb_inblandade": {"elev_elev": 2, "personal_elev": 1},
                     "kb_form": {"verbal": 2, "digital": 1, "fysisk": 1},
                     "franvaro_sarskilt_stod": {"true": 1}, "avbrytande_grund": {}}

    assert lead(dash) == {
        "anmalan_till_utredning": (1.5, 7.6, 4), "utredning_till_beslut": (21.0, 25.0, 3),
        "anmalan_till_beslut": (28.0, 29.6, 3), "beslut_till_uppfoljning": (None, None, None),
        "kb_till_huvudman": (1.0, 1.8, 3), "kb_till_avslut": (18.5, 25.3, 2),
        "franvaro_till_utredning": (3.0, 3.0, 1), "franvaro_till_avslut": (48.0, 48.0, 1)}

    appoint = step(dash, "Task_utse_utredare")
    assert (appoint.passed.value, appoint.on_time.value, appoint.median.value, appoint.p90.value) == \
        (4, 0.75, 1.5, 7.6)
    survey = step(dash, "Task_pedagogisk_kartlaggning")  # C4's and C5's surveys wait, both past due
    assert (survey.passed.value, survey.open_now.value, survey.overdue_now.value) == (3, 2, 2)
    assert (survey.median.value, survey.on_time.value) == (7.0, 1.0)
    tell = step(dash, "Task_delge_beslut")  # C3's decision is not yet delivered (3 business days)
    assert (tell.passed.value, tell.open_now.value, tell.overdue_now.value) == (2, 1, 1)
    # Overdue on 1 December: C1's follow-up (it runs beside the appeal window, whose registration is a
    # standing door and never overdue), C2's dismissal, C3's delivery, C4's and C5's surveys, K3's
    # investigation and the huvudman's registration, the linked case's report and the årshjul's
    # second check-in.
    overdue = {s.bpmn_id: s.overdue_now.value for s in dash.steps if s.overdue_now.value}
    assert overdue == {"Task_uppfoljning": 1, "Task_besluta_avvisning": 1, "Task_delge_beslut": 1,
                       "Task_pedagogisk_kartlaggning": 2, "Task_kb_utredning": 1,
                       "Task_kb_huvudman_registrera": 1, "Task_anmalan_rektor": 1,
                       "Task_ar_avstamning": 1}
    [unit] = dash.units
    assert {k: c.value for k, c in unit.counts.items()} == {
        "anmalningar": 4, "utredningar": 4, "atgardsprogram": 2, "ej_atgardsprogram": 1, "sarskild_form": 1,
        "overklaganden": 1, "kb_anmalningar": 3, "franvaroutredningar": 1}
    [unit] = figures(engine, q, "rektor_a", routine="sarskilt_stod").units
    assert {k: c.value for k, c in unit.counts.items()} == {  # C1–C5 and the linked case wait past due
        "anmalningar": 4, "utredningar": 4, "atgardsprogram": 2, "ej_atgardsprogram": 1, "sarskild_form": 1,
        "overklaganden": 1, "forsenade": 6}


def test_figures_as_they_stood_and_for_one_routine(engine):
    """A report for an earlier moment counts only what had happened by then; a routine narrows it."""
    q = qd.build(engine)
    earlier = figures(engine, q, "rektor_a", as_of=datetime(2025, 11, 9, tzinfo=timezone.utc))
    assert counts(earlier)["kb_anmalningar"] == 2  # K3 was reported on 10 November
    survey = step(earlier, "Task_pedagogisk_kartlaggning")
    assert (survey.open_now.value, survey.overdue_now.value) == (2, 1)  # C4's was due 24 November
    assert counts(figures(engine, q, "rektor_a", term=VT25), "vt2025")["anmalningar"] == 1
    kb = figures(engine, q, "rektor_a", routine="krankande_behandling")
    assert set(counts(kb)) == {"kb_anmalningar", "kb_avslutade"}
    assert {s.routine for s in kb.steps} == {"krankande_behandling"}
    assert {t.key for t in kb.lead_times} == {"kb_till_huvudman", "kb_till_avslut"}
    assert {b.key for b in kb.breakdowns} == {"kb_bedomning", "kb_inblandade", "kb_form"}
    assert {k: c.value for k, c in kb.units[0].counts.items()} == {"kb_anmalningar": 3, "forsenade": 2}


# ------------------------------------------------------------------------------------------ who sees what
def test_the_follow_up_is_for_rektor_student_health_and_huvudman_only(engine):
    q = qd.build_org(engine)
    assert quality.scope_for(engine, q.users["rektor_a"]) == quality.Scope({q.units["a"]: "Ekskolan"},
                                                                       frozenset({q.units["a"]}))
    assert quality.scope_for(engine, q.users["specialpedagog_b"]).exact == frozenset({q.units["b"]})
    huvudman = quality.scope_for(engine, q.users["huvudman"])
    assert list(huvudman.units.values()) == ["Björkskolan", "Ekskolan"] and huvudman.exact == frozenset()
    for nobody in ("teacher_a", "mentor_b"):
        assert not quality.scope_for(engine, q.users[nobody])
    with engine.db.write() as s:
        s.get(User, q.users["rektor_a"]).active = False
    assert not quality.scope_for(engine, q.users["rektor_a"])


def test_small_counts_are_hidden_from_the_huvudman_but_not_from_the_rektor(engine):
    q = qd.build(engine)
    dash = figures(engine, q, "huvudman")
    assert not dash.exact
    reports = {s.key: s for s in dash.counts}["anmalningar"]
    assert reports.by_term["ht2025"] == Cell(6, 6)  # four at Ekskolan, two at Björkskolan
    assert reports.by_term["vt2025"] == HIDDEN and reports.by_term["vt2024"] == Cell(0, 0)
    assert {s.key: s.by_term["ht2025"] for s in dash.counts}["kb_anmalningar"] == HIDDEN  # 3
    times = {t.key: t for t in dash.lead_times}
    first = times["anmalan_till_utredning"]
    assert (first.median.value, first.p90.value) == (1.5, 8.5)
    assert times["utredning_till_beslut"].median == HIDDEN  # rests on 3 cases
    assert all(c == HIDDEN or c.value == 0 for b in dash.breakdowns for c in b.parts.values())
    survey = step(dash, "Task_pedagogisk_kartlaggning")  # 3 done at Ekskolan, 2 open there and 2 at Björk
    assert (survey.passed, survey.open_now, survey.median) == (HIDDEN, HIDDEN, HIDDEN)
    appoint = step(dash, "Task_utse_utredare")  # Björkskolan's C7 came 7 days and 8 hours after the date
    assert (appoint.passed.value, appoint.median.value) == (6, 1.5)
    # C7 is on time: its deadline, a date, ran to the end of its seventh day in Swedish time
    assert appoint.on_time.value == pytest.approx(5 / 6)
    rows = {u.name: u.counts for u in dash.units}
    assert rows["Ekskolan"]["anmalningar"] == HIDDEN and rows["Björkskolan"]["anmalningar"] == HIDDEN
    assert "forsenade" not in rows["Ekskolan"]  # only per routine: see engine.oversight.quality._unit_rows
    late = {u.name: u.counts["forsenade"] for u in figures(engine, q, "huvudman",
                                                           routine="sarskilt_stod").units}
    # Björkskolan's 2 overdue steps are hidden; Ekskolan's 6 would give them away from the total of 8.
    assert late == {"Björkskolan": HIDDEN, "Ekskolan": HIDDEN}
    assert rows["Ekskolan"]["atgardsprogram"] == HIDDEN
    assert rows["Björkskolan"]["atgardsprogram"] == Cell(0, 0)

    with pytest.raises(PermissionDeniedError):  # the whole minus the part would give hidden counts away
        figures(engine, q, "huvudman", units=["b"])
    only_b = figures(engine, q, "rektor_b")
    assert only_b.exact and counts(only_b)["anmalningar"] == 2
    assert lead(only_b)["anmalan_till_utredning"] == (4.0, 6.4, 2)  # 1 and 7 days


def test_a_total_cannot_give_away_a_single_hidden_part():
    parts = {"a": Cell(None, 0, True), "b": Cell(7, 7), "c": Cell(12, 12), "d": Cell(0, 0)}
    assert quality.protect(parts) == {**parts, "b": Cell(None, 0, True)}
    two_hidden = {"a": Cell(None, 0, True), "b": Cell(None, 0, True), "c": Cell(12, 12)}
    assert quality.protect(two_hidden) == two_hidden
    assert quality.percentile([1, 1, 2, 10], 0.9) == pytest.approx(7.6)
    assert quality.percentile([], 0.5) is None


def test_decision_kinds_come_from_the_deployed_routines_and_check_ins_are_listed(engine):
    q = qd.build(engine)
    kinds = quality.decision_steps(engine)
    group = "sarskild_undervisningsgrupp"
    assert kinds[("sarskilt_stod", "Task_beslut_" + group)] == group
    assert kinds[("sarskilt_stod", "Task_besluta_avvisning")] == "avvisning_overklagande"
    assert kinds[("sarskilt_stod", "Task_beslut_ej_atgardsprogram")] == "ej_atgardsprogram"
    found = quality.check_ins(engine, [q.units["a"]])
    assert [(c[1], c[3], c[4]) for c in found] == [(q.cases["y1"], "Ekskolan", "ready"),
                                                  (q.cases["y1"], "Ekskolan", "completed")]
    assert quality.check_ins(engine, [q.units["b"]]) == []
    assert "Task_anmalan_rektor" in quality.routine_diagram(engine, "sarskilt_stod")
    assert quality.routine_diagram(engine, "finns_inte") is None
