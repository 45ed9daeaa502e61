"""The whole särskilt stöd chain in a real browser, across roles, on the shipped routine:

the teacher documents extra adaptations and starts the case → reports to the rektor → the rektor names the
investigator (picked from the unit's staff) → the specialpedagog maps the needs, the kurator consults,
the specialpedagog assesses → the rektor chooses a decision → the specialpedagog writes the åtgärdsprogram
→ the rektor decides and signs it with the password again → the decision is served → after the appeal
window has run out an appeal comes in all the same: the rektor registers it, finds it late (the form
proposes so from the receipt dates), signs the decision to dismiss it and serves that → the specialpedagog
named as responsible follows the programme up, which ran on beside the appeal.

Every form is filled in the page's own controls (rows added with the form's own button) from the same
data the engine's scenario walk sends (tests/routine_scenarios.py), and sent with the page's buttons.
Screenshots of each role's step are saved (tests/artifacts/screenshots/kedja-*.png).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import routine_scenarios as rs
import time_machine
from sqlalchemy import select
from test_routines import build_school, form_data, next_step, timers_of, utc

from elevflow.engine import get_case, list_tasks
from elevflow.engine.org import passwords
from elevflow.engine.runtime import timers
from elevflow.engine.runtime.tasks import task_info
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import DecisionRecord
from elevflow.webui import forms

from .conftest import PASSWORD, log_in, screenshot, serve

FULL = "sarskilt_stod_programme_with_enskild_undervisning_decided_by_the_rektor_personally"
#: The decision reached the guardian a month ago (the web server runs on the real clock), so its appeal
#: window has run out when an appeal comes in today: late, and dismissed.
RECEIVED = (date.today() - timedelta(days=30)).isoformat()
_full = next(s for s in rs.SCENARIOS if s.id == FULL)
SCENARIO = replace(_full, answers={
    **_full.answers,
    "Task_delge_beslut": {"delgivning_mottagare": [{"mottagare_namn": "Anna Andersson",
                                                    "mottagare_roll": "vardnadshavare",
                                                    "delgivningssatt": "brev", "mottaget_datum": RECEIVED}],
                          "delgivning_overklagandehanvisning": True},
    "Task_registrera_overklagande": rs.LATE,
    "Task_prova_rattidighet": {"overklagande_rattidighet": "for_sent"}})
UNTIL = "Task_uppfoljning"  # the chain ends with the first follow-up of the programme
PATH = ["Task_extra_anpassningar", "Task_utvardera_anpassningar", "Task_anmalan_rektor", "Task_utse_utredare",
        "Task_pedagogisk_kartlaggning", "Task_samrad_elevhalsa", "Task_pedagogisk_bedomning",
        "Task_prova_utredning", "Task_utarbeta_atgardsprogram", "Task_beslut_enskild_undervisning",
        "Task_delge_beslut", "timer:Timer_overklagandetid", "Task_registrera_overklagande",
        "Task_prova_rattidighet", "Task_besluta_avvisning", "Task_delge_beslut", UNTIL]


def fill(page: Any, schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Put `data` into the page's form through its controls, as a person would."""
    raw = forms.to_raw(schema, data)
    for key, wanted in raw.items():
        if not key.startswith("_rows."):
            continue
        counter = page.locator(f'input[name="{key}"]')
        while int(counter.input_value()) < int(wanted):  # "Lägg till en rad" posts the form and redraws it
            page.locator(f'button[name="_action"][value="add:{key[len("_rows."):]}"]').click()
            page.wait_for_load_state()
    for name, value in raw.items(multi=True):
        if name.startswith("_rows."):
            continue
        controls = page.locator(f'[name="{name}"]')
        kind = controls.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind in ("input:radio", "input:checkbox") and controls.count() > 1 or kind == "input:radio":
            page.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind == "input:checkbox":
            controls.check()
        elif kind.startswith("select"):
            controls.select_option(value)
        else:
            controls.fill(value)


def test_the_whole_support_chain_across_roles_in_the_browser(browser, engine, db_url):
    school = build_school(engine, ["sarskilt_stod"])
    for username in rs.PEOPLE:
        passwords.set_password(engine, username, PASSWORD)
    tabs: dict[str, Any] = {}
    seen: dict[Any, int] = {}
    visits: Counter[str] = Counter()
    waited: set[Any] = set()
    path: list[str] = []
    with serve(db_url, engine.pool()) as site:

        def tab(username: str) -> Any:
            """Each person in their own browser session, logged in once."""
            if username not in tabs:
                context = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
                tabs[username] = context.new_page()
                log_in(tabs[username], site, username)
            return tabs[username]

        teacher = tab("teacher")
        teacher.goto(f"{site}/elever?q=Alva")
        teacher.get_by_label("Rutin för Alva Andersson").select_option("sarskilt_stod")
        teacher.get_by_role("button", name="Starta").click()
        teacher.wait_for_url("**/uppgifter/*")  # the first step is the teacher's own: straight to it
        [case_id] = {t.case_id for t in list_tasks(engine, state="ready")}
        while UNTIL not in path:
            ready = list_tasks(engine, case_id=case_id, state="ready")
            chosen = next_step(SCENARIO, ready, seen, visits, waited)
            if chosen is None:  # the appeal window has run out, as the scheduler sees it
                for timer in timers_of(engine, case_id):
                    with time_machine.travel(utc(timer.due_at) + timedelta(minutes=1), tick=False):
                        assert timers.fire_due(engine) == 1
                # (a window that was over when the decision was served closed in that very step)
                fired = [e.data["bpmn_id"] for e in audit.events(engine, case_id=case_id)
                         if e.kind == "timer_fired"]
                assert fired == ["Timer_overklagandetid"]
                path.append(f"timer:{fired[0]}")
                waited |= {t.id for t in ready if t.bpmn_id == "Task_registrera_overklagande"}
                continue
            task, answer = chosen
            username = (rs.ASSIGNED.get(task.bpmn_id) or SCENARIO.by.get(task.bpmn_id)
                        or rs.LANE_USER[task.role])
            page = tab(username)
            page.goto(f"{site}/uppgifter")
            page.get_by_role("link", name=task.name, exact=True).first.click()
            page.wait_for_url(f"**/uppgifter/{task.id}")
            schema = task_info(engine, task)["form"]
            if task.bpmn_id == "Task_prova_rattidighet":  # proposed from the dates: late
                assert page.locator('[name="f.overklagande_rattidighet"][value="for_sent"]').is_checked()
            fill(page, schema, form_data(schema, answer, school))
            step = len(path) + 1
            if page.locator('input[name="_password"]').count():  # a decision: signed, password again
                page.get_by_label("Ditt lösenord").fill(PASSWORD)
                screenshot(page, f"kedja-{step:02d}-{username}-{task.bpmn_id}-signera")
                page.get_by_role("button", name="Signera beslutet").last.click()
                page.wait_for_url(f"**/arenden/{case_id}**")
                assert page.get_by_text("Beslutet är signerat och sparat i ärendet.").count() == 1
                screenshot(page, f"kedja-{step:02d}-{username}-arendet-med-beslut")
            else:
                screenshot(page, f"kedja-{step:02d}-{username}-{task.bpmn_id}")
                page.get_by_role("button", name="Slutför uppgiften").last.click()
                page.wait_for_url(f"{site}/uppgifter**")
            assert page.locator(".error-summary").count() == 0, (task.bpmn_id, page.content()[:2000])
            assert list_tasks(engine, case_id=case_id, state="ready") != ready or task.bpmn_id in path
            path.append(task.bpmn_id)

        assert path == PATH
        with engine.db.read() as s:
            signed = s.scalars(select(DecisionRecord.decision).where(DecisionRecord.case_id == case_id)).all()
        assert signed == ["enskild_undervisning", "avvisning_overklagande"]
        assert get_case(engine, case_id).status == "running"  # followed up; the programme goes on
        rektor = tab("rektor")
        rektor.goto(f"{site}/arenden/{case_id}")
        rektor.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000)
        # the follow-up is drawn inside the collapsed "Åtgärdsprogrammet gäller"; the decision is done
        done = '#diagram .elevflow-completed[data-element-id="Task_beslut_enskild_undervisning"]'
        assert rektor.locator(done).count() == 1
        assert "Överklagandetiden går ut vid slutet av" in rektor.locator("#overklagandetid").inner_text()
        screenshot(rektor, "kedja-arendet-efter-uppfoljning")
        for page in tabs.values():
            page.context.close()
