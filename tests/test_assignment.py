"""Who gets a task: lane roles resolved at the pupil's unit, claim, release, reassign, delegations."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import REPORT
from sqlalchemy import select

from elevflow.engine import (
    ConflictError,
    PermissionDeniedError,
    complete_task,
    inbox,
    list_tasks,
    settings,
    start_case,
)
from elevflow.engine.org import records as org
from elevflow.engine.org.access import roles_serving
from elevflow.engine.org.roles import ROLES, role_for_lane
from elevflow.engine.routines.bpmnxml import NS, parse
from elevflow.engine.storage.models import AuditEvent, User
from elevflow.engine.work.assignment import (
    candidates,
    claim,
    delegations,
    grant_delegation,
    reassign,
    release,
    revoke_delegation,
)


def events(engine, kind):
    with engine.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)))


@pytest.fixture
def task(engine, people, chain):
    """An open task in the Lärare lane at the pupil's unit."""
    case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    return list_tasks(engine, case_id=case.id, state="ready")[0]


def shipped_lane_roles() -> set[str]:
    root = Path(settings.load().processes_dir)
    found = set()
    for path in root.rglob("*.bpmn"):
        tree, problems = parse(path.read_text(encoding="utf-8"), path.name)
        assert tree is not None, problems
        found |= {role_for_lane(lane.get("name")) for lane in tree.xpath("//bpmn:lane", namespaces=NS)}
    return found


def test_every_shipped_lane_role_resolves_to_the_right_people_at_the_pupils_unit(engine, people):
    lane_roles = shipped_lane_roles()
    assert None not in lane_roles and lane_roles <= set(ROLES)
    with engine.db.write() as s:
        holders = {}
        for role in ROLES:  # one person per role at the unit, and one at the other unit
            here = org.add_user(s, f"{role}.here", f"{role} här")
            org.assign_role(s, here.id, people.unit, role)
            there = org.add_user(s, f"{role}.there", f"{role} där")
            org.assign_role(s, there.id, people.other_unit, role)
            holders[role] = here.id
        gone = org.add_user(s, "slutat", "Har slutat")
        org.assign_role(s, gone.id, people.unit, "kurator")
        gone.active = False
    for lane in sorted(lane_roles):
        found = {u.id for u in candidates(engine, people.unit, lane)}
        expected = {holders[r] for r in roles_serving(lane)} | {
            getattr(people, name) for name, role in [
                ("teacher", "larare"), ("mentor", "mentor"), ("specialpedagog", "specialpedagog"),
                ("rektor", "rektor")] if role in roles_serving(lane)}
        assert found == expected, lane
    assert {u.username for u in candidates(engine, people.unit, "elevhalsopersonal")} >= {
        "kurator.here", "skolskoterska.here", "skolpsykolog.here", "specialpedagog"}


def test_claiming_takes_a_task_out_of_the_others_inboxes(engine, people, task):
    claim(engine, task.id, by=people.mentor)
    assert [t.id for t in inbox(engine, people.mentor)] == [task.id]
    assert inbox(engine, people.teacher) == []
    with pytest.raises(ConflictError, match="already taken"):
        claim(engine, task.id, by=people.teacher)
    with pytest.raises(PermissionDeniedError, match="assigned to someone else"):
        complete_task(engine, task.id, REPORT, by=people.teacher)
    [event] = events(engine, "task_assigned")
    assert (event.actor_id, event.data["reason"]) == (people.mentor, "claimed")


def test_only_someone_the_lane_serves_may_claim(engine, people, task):
    with pytest.raises(PermissionDeniedError):
        claim(engine, task.id, by=people.specialpedagog)
    with pytest.raises(PermissionDeniedError):
        claim(engine, task.id, by=people.outsider)
    assert events(engine, "task_assigned") == []


def test_release_gives_the_task_back_to_the_lane(engine, people, task):
    claim(engine, task.id, by=people.teacher)
    with pytest.raises(PermissionDeniedError):
        release(engine, task.id, by=people.mentor)
    release(engine, task.id, by=people.teacher)
    assert [t.id for t in inbox(engine, people.mentor)] == [task.id]
    [event] = events(engine, "task_released")
    assert event.data["previous_assignee_id"] == people.teacher


def test_the_rektor_may_release_and_reassign_with_a_reason(engine, people, task):
    claim(engine, task.id, by=people.teacher)
    with pytest.raises(ValueError, match="reason"):
        reassign(engine, task.id, to=people.mentor, by=people.rektor, reason=" ")
    with pytest.raises(PermissionDeniedError, match="no role"):
        reassign(engine, task.id, to=people.outsider, by=people.rektor, reason="Sjukskrivning")
    reassign(engine, task.id, to=people.mentor, by=people.rektor, reason="Sjukskrivning")
    assert [t.id for t in inbox(engine, people.mentor)] == [task.id] and inbox(engine, people.teacher) == []
    event = events(engine, "task_assigned")[-1]
    assert event.data == {"task_id": str(task.id), "assignee_id": people.mentor,
                          "previous_assignee_id": people.teacher, "reason": "Sjukskrivning"}
    complete_task(engine, task.id, REPORT, by=people.mentor)


def test_a_colleague_may_not_reassign_someone_elses_task(engine, people, task):
    claim(engine, task.id, by=people.teacher)
    with pytest.raises(PermissionDeniedError):
        reassign(engine, task.id, to=people.mentor, by=people.mentor, reason="tar över")


def test_a_completed_task_cannot_be_claimed(engine, people, task):
    complete_task(engine, task.id, REPORT, by=people.teacher)
    with pytest.raises(ConflictError, match="already completed"):
        claim(engine, task.id, by=people.teacher)


def test_delegations_are_recorded_limited_in_time_and_revocable(engine, people):
    with pytest.raises(PermissionDeniedError, match="only the unit's rektor"):
        grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                         decision="atgardsprogram", document="Delegationsordning §4", by=people.teacher)
    with pytest.raises(ValueError, match="written delegation order"):
        grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                         decision="atgardsprogram", document="", by=people.rektor)
    for kind in ("sarskild_undervisningsgrupp", "enskild_undervisning", "distansundervisning",
                 "anpassad_studiegang"):
        with pytest.raises(PermissionDeniedError, match="3:9"):
            grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog, decision=kind,
                             document="Delegationsordning §4", by=people.rektor)
    until = datetime.now(timezone.utc) + timedelta(days=365)
    delegation = grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                                  decision="atgardsprogram", document="Delegationsordning §4",
                                  by=people.rektor, valid_until=until)
    [row] = delegations(engine, people.unit)
    assert (row.id, row.decision, row.revoked_at) == (delegation, "atgardsprogram", None)
    revoke_delegation(engine, delegation, by=people.rektor)
    assert delegations(engine, people.unit)[0].revoked_at is not None
    assert [e.kind for e in events(engine, "delegation_granted") + events(engine, "delegation_revoked")] == \
        ["delegation_granted", "delegation_revoked"]


def test_a_task_is_handed_only_to_someone_who_could_take_it_through_its_lane(engine, people, task):
    """Reassigning follows the rule a routine's `assigneeFrom` follows (#13): a delegation for one kind of
    decision opens no other task, a process owner takes none, nor does a deactivated colleague."""
    from editing_helpers import add_process_owner
    owner = add_process_owner(engine, people.unit)
    grant_delegation(engine, unit_id=people.unit, delegate_id=people.specialpedagog,
                     decision="atgardsprogram",
                     document="Delegationsordning §4", by=people.rektor)
    for who in (people.specialpedagog, owner):
        with pytest.raises(PermissionDeniedError, match="no role"):
            reassign(engine, task.id, to=who, by=people.rektor, reason="Sjukskrivning")
    with pytest.raises(PermissionDeniedError, match="works on no cases"):
        grant_delegation(engine, unit_id=people.unit, delegate_id=owner, decision="atgardsprogram",
                         document="Delegationsordning §4", by=people.rektor)
    with pytest.raises(PermissionDeniedError):
        claim(engine, task.id, by=owner)
    with engine.db.write() as s:
        s.get(User, people.mentor).active = False
    with pytest.raises(PermissionDeniedError, match="no role"):
        reassign(engine, task.id, to=people.mentor, by=people.rektor, reason="Sjukskrivning")
    assert events(engine, "task_assigned") == [] and inbox(engine, owner) == []
    reassign(engine, task.id, to=people.teacher, by=people.rektor, reason="Läraren tar den")
