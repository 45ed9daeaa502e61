"""The engine's services the web app calls instead of reading tables: finding pupils (engine.views.pupils), a
case's diagram (engine.views.casediagram), logins (engine.org.logins), names (engine.views.names). Each keeps
its
need-to-know rule itself, so the command line and a future API get it too: a teacher and the rektor at
the pupil's school, and an outsider (a teacher at another school), on every rule."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from argon2 import PasswordHasher, profiles
from conftest import REPORT, ready
from sqlalchemy import func, select, update

from elevflow.engine import NotVisibleError, PermissionDeniedError, complete_task, start_case
from elevflow.engine.documents.signing import decision_document, sign_decision
from elevflow.engine.org import passwords
from elevflow.engine.org import records as org
from elevflow.engine.org.logins import Limits, federated_user, password_login
from elevflow.engine.oversight.visibility import open_case
from elevflow.engine.storage.models import AccessLogEntry, LoginAttempt, Pupil, User
from elevflow.engine.views import names, pupils
from elevflow.engine.views.casediagram import diagram_xml, passed_elements, waiting_elements

PASSWORD = "correct horse battery staple"
LIMITS = Limits(window_minutes=15, per_user=2, per_address=2)


@pytest.fixture(autouse=True)
def cheap_hashing(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))


# --- pupils -----------------------------------------------------------------------------------------------

def test_a_search_finds_pupils_at_ones_own_units_only(engine, people):
    assert [p.id for p in pupils.search(engine, people.teacher, "alva")] == [people.pupil]
    assert [p.id for p in pupils.search(engine, people.rektor, "7b")] == [people.pupil]
    assert [p.id for p in pupils.search(engine, people.teacher, "Alva Andersson")] == [people.pupil]
    assert pupils.search(engine, people.outsider, "alva") == []  # Alva is at another school
    assert [p.id for p in pupils.search(engine, people.outsider, "berg")] == [people.other_pupil]
    assert pupils.search(engine, people.teacher, "a") == []  # too short to be a search
    assert pupils.search(engine, people.teacher, "%%") == []  # searched for as itself, not as a wildcard
    assert pupils.search(engine, people.teacher, "al\x00va") == []


def test_a_search_never_lists_a_protected_pupil_one_who_left_or_anyone_for_a_process_owner(engine, people):
    with engine.db.write() as s:
        org.add_pupil(s, people.unit, "Alma", "Ahl", "7B").protected_identity = True
        org.add_pupil(s, people.unit, "Alfred", "Alm", "7B").active = False
        owner = org.add_user(s, "agare", "Ägare")
        org.assign_role(s, owner.id, people.unit, "processagare")
    assert [p.given_name for p in pupils.search(engine, people.teacher, "7B")] == ["Alva"]
    assert pupils.search(engine, owner.id, "7B") == []  # the process owner works on routines, not cases


def test_a_routine_is_started_only_for_an_active_pupil_at_ones_own_units(engine, people):
    card = pupils.startable(engine, people.teacher, people.pupil)
    assert card is not None and (card.given_name, card.unit_id) == ("Alva", people.unit)
    assert pupils.startable(engine, people.rektor, people.pupil) is not None
    assert pupils.startable(engine, people.outsider, people.pupil) is None
    assert pupils.startable(engine, people.teacher, 999_999) is None
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(protected_identity=True))
    assert pupils.startable(engine, people.teacher, people.pupil).protected_identity  # the starter knows them
    with engine.db.write() as s:
        s.execute(update(Pupil).where(Pupil.id == people.pupil).values(active=False))
    assert pupils.startable(engine, people.teacher, people.pupil) is None


def test_a_pupils_access_history_is_the_rektors_only_and_every_ask_is_logged(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    open_case(engine, people.teacher, case.id)
    card, rows = pupils.access_history(engine, people.pupil, asked_by=people.rektor)
    assert card.given_name == "Alva"
    assert [r.user_id for r in rows if r.action == "view_case"] == [people.teacher]
    for refused in (people.teacher, people.outsider):
        with pytest.raises(PermissionDeniedError):
            pupils.access_history(engine, people.pupil, asked_by=refused)
    with engine.db.read() as s:
        asked = s.scalars(select(AccessLogEntry.allowed).where(AccessLogEntry.action == "view_access_history")
                          .order_by(AccessLogEntry.id)).all()
    assert asked == [True, False, False]


# --- a case's diagram -------------------------------------------------------------------------------------

def test_the_diagram_and_where_the_case_stands_are_for_those_who_see_the_case(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    for who in (people.teacher, people.rektor):
        xml = diagram_xml(engine, who, case.id)
        assert xml is not None and 'id="stodkedja"' in xml
        assert passed_elements(engine, who, case.id)[0] == "Task_anmalan"
    assert waiting_elements(open_case(engine, people.rektor, case.id)) == [ready(engine, case.id)[0].bpmn_id]
    for refused, case_id in ((people.outsider, case.id), (people.teacher, 999_999)):
        with pytest.raises(NotVisibleError):
            diagram_xml(engine, refused, case_id)
        with pytest.raises(NotVisibleError):
            passed_elements(engine, refused, case_id)


def test_a_decision_is_served_only_under_its_own_case(engine, people, chain):
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    other = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, REPORT, by=people.teacher)
    complete_task(engine, ready(engine, case.id)[0].id, {"behov": "ja", "bedomning": "Behov finns."},
                  by=people.specialpedagog)
    signed = sign_decision(engine, ready(engine, case.id)[0].id, {"beslut": "atgardsprogram",
                                                                  "motivering": "Behov."},
                           by=people.rektor, reauthenticated_at=datetime.now(timezone.utc))
    name, document = decision_document(engine, people.rektor, signed.decision_id, case.id)
    assert name.endswith(".pdf") and document.startswith(b"%PDF")
    with pytest.raises(NotVisibleError):
        decision_document(engine, people.rektor, signed.decision_id, other.id)
    with pytest.raises(NotVisibleError):
        decision_document(engine, people.outsider, signed.decision_id, case.id)


# --- logins -----------------------------------------------------------------------------------------------

def test_a_password_login_names_the_person_and_counts_every_try(engine, people):
    passwords.set_password(engine, "teacher", PASSWORD)
    limits = Limits(window_minutes=15, per_user=5, per_address=20)
    assert password_login(engine, "teacher", "wrong", "10.0.0.1", limits).user is None
    outcome = password_login(engine, " Teacher ", PASSWORD, "10.0.0.1", limits)
    assert outcome.user is None  # the username is matched as written (stripped), not case-folded
    outcome = password_login(engine, "teacher", PASSWORD, "10.0.0.1", limits)
    assert (outcome.user.id, outcome.user.username, outcome.limited) == (people.teacher, "teacher", False)
    with engine.db.read() as s:
        tries = s.scalars(select(LoginAttempt.success).where(LoginAttempt.username == "teacher")
                          .order_by(LoginAttempt.id)).all()
    assert tries == [False, False, True]


def test_too_many_failures_lock_a_username_and_an_address_without_a_look_at_the_password(engine, people):
    passwords.set_password(engine, "teacher", PASSWORD)
    passwords.set_password(engine, "rektor", PASSWORD)
    for _ in range(LIMITS.per_user):  # each try counts itself while its password is checked
        assert not password_login(engine, "teacher", "wrong", "10.0.0.1", LIMITS).limited
    locked = password_login(engine, "teacher", PASSWORD, "10.0.0.2", LIMITS)
    assert locked.user is None and locked.limited  # the right password, refused unchecked
    assert password_login(engine, "rektor", "wrong", "10.0.0.1",
                          LIMITS).limited is True  # 3 from that address
    assert password_login(engine, "rektor", PASSWORD, "10.0.0.3", LIMITS).user.id == people.rektor
    # the terminal counts by username only: every signer's address there is "cli"
    terminal = Limits(window_minutes=15, per_user=2)
    for _ in range(5):
        password_login(engine, "outsider", "wrong", "cli", Limits(15, 100))
    assert password_login(engine, "rektor", "wrong", "cli", terminal).limited is False
    with engine.db.read() as s:
        refused = s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.refused))
    assert refused == 2


def test_the_federated_user_is_found_by_eppn_only_and_only_while_active(engine, people):
    with engine.db.write() as s:
        s.execute(update(User).where(User.id == people.teacher).values(eppn="tea@ekskolan.example"))
        s.execute(update(User).where(User.id == people.mentor).values(eppn="mentor@ekskolan.example",
                                                                        active=False))
    assert federated_user(engine, "tea@ekskolan.example").id == people.teacher
    assert federated_user(engine, "teacher") is None  # never the local username
    assert federated_user(engine, "mentor@ekskolan.example") is None  # made inactive
    assert federated_user(engine, None) is None and federated_user(engine, "x\x00") is None


# --- names --------------------------------------------------------------------------------------------------

def test_names_beside_ids_leave_out_ids_that_name_nothing(engine, people):
    assert names.unit_names(engine, [people.unit, people.other_unit, 999_999]) == {
        people.unit: "Ekskolan", people.other_unit: "Björkskolan"}
    assert names.user_names(engine, [people.rektor, 999_999]) == {people.rektor: "Rektor"}
    assert names.user_names(engine, []) == {}
