"""The audit chain: any edit, insertion or deletion of an event is found and named."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import REPORT
from sqlalchemy import delete, select, update

from elevflow.cli import main
from elevflow.engine import complete_task, list_tasks, start_case, verify_audit
from elevflow.engine.storage.audit import Head
from elevflow.engine.storage.models import AuditEvent, AuditHead


@pytest.fixture
def logged(engine, people, chain):
    """A few cases' worth of events."""
    for _ in range(3):
        case = start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
        complete_task(engine, list_tasks(engine, case_id=case.id, state="ready")[0].id, REPORT,
                      by=people.teacher)
    with engine.db.read() as s:
        return s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))


def verify_cli(db_url):
    return CliRunner().invoke(main, ["--database", db_url, "audit", "verify"])


def test_an_untouched_chain_verifies(engine, db_url, logged):
    verdict = verify_audit(engine)
    assert verdict.ok and verdict.checked == logged
    result = verify_cli(db_url)
    assert result.exit_code == 0 and f"{logged} events verified" in result.output


def test_editing_an_event_is_detected_at_that_event(engine, db_url, logged):
    with engine.db.write() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor_id=999))
    verdict = verify_audit(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, 5) and "edited" in verdict.reason
    result = verify_cli(db_url)
    assert result.exit_code == 1 and "BROKEN at event 5" in result.output


def test_editing_event_data_is_detected(engine, logged):
    with engine.db.write() as s:
        event = s.get(AuditEvent, 4)
        event.data = {**event.data, "name": "något annat"}
    assert verify_audit(engine).broken_seq == 4


def test_deleting_an_event_in_the_middle_is_detected(engine, logged):
    with engine.db.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
    verdict = verify_audit(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, 7) and "missing" in verdict.reason


def test_deleting_the_newest_events_is_detected(engine, logged):
    with engine.db.write() as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq > logged - 2))
    verdict = verify_audit(engine)
    assert not verdict.ok and verdict.broken_seq == logged - 1 and "deleted from the end" in verdict.reason


def test_inserting_a_forged_event_is_detected(engine, logged):
    table = AuditEvent.__table__
    with engine.db.write() as s:
        original = s.execute(select(table).where(table.c.seq == 6)).one()
        s.execute(update(table).where(table.c.seq >= 6).values(seq=table.c.seq + 1000))
        s.execute(table.insert().values({**original._mapping, "kind": "task_completed", "hash": bytes(32)}))
    verdict = verify_audit(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, 6)


def test_appending_a_correctly_hashed_event_without_the_head_is_detected(engine, logged):
    from elevflow.engine.storage.audit import Event, _digest
    table = AuditEvent.__table__
    with engine.db.write() as s:
        last = s.execute(select(table).where(table.c.seq == logged)).one()
        forged = Event("case_cancelled", 1, 1, 1, 1, {"reason": "forged"})
        digest = _digest(last.hash, logged + 1, last.at, forged)
        s.execute(table.insert().values(seq=logged + 1, at=last.at, kind=forged.kind, actor_id=1, case_id=1,
                                        pupil_id=1, unit_id=1, data=forged.data, prev_hash=last.hash,
                                        hash=digest))
    verdict = verify_audit(engine)
    assert not verdict.ok and "head" in verdict.reason


def test_rehashing_a_forged_event_still_breaks_the_next_link(engine, logged):
    from elevflow.engine.storage.audit import _digest
    with engine.db.write() as s:
        event = s.get(AuditEvent, 3)
        event.actor_id = 999
        event.hash = _digest(event.prev_hash, event.seq, event.at, event)
    verdict = verify_audit(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, 4) and "link" in verdict.reason


def head_cli(db_url) -> str:
    result = CliRunner().invoke(main, ["--database", db_url, "audit", "head"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def cut_back_to(engine, seq) -> None:
    """What restoring a backup taken at event `seq` leaves: the chain and its head, consistent, shorter."""
    with engine.db.write() as s:
        last = s.get(AuditEvent, seq)
        s.execute(delete(AuditEvent).where(AuditEvent.seq > seq))
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=last.hash))


def test_the_head_names_the_newest_event_by_number_and_hash(engine, db_url, logged):
    with engine.db.read() as s:
        newest = s.get(AuditEvent, logged)
    assert head_cli(db_url) == f"{logged}:{newest.hash.hex()}"
    result = CliRunner().invoke(main, ["--database", db_url, "audit", "verify", "--expect-head",
                                       head_cli(db_url)])
    assert result.exit_code == 0 and f"event {logged} is the expected head's" in result.output


def test_an_expected_head_catches_a_chain_cut_short_together_with_its_head(engine, db_url, logged):
    anchor = head_cli(db_url)
    cut_back_to(engine, logged - 3)
    assert verify_cli(db_url).exit_code == 0  # consistent in itself: the chain alone cannot tell
    result = CliRunner().invoke(main, ["--database", db_url, "audit", "verify", "--expect-head", anchor])
    assert result.exit_code == 1
    assert f"BROKEN at event {logged - 2}: the chain ends at event {logged - 3}, but the expected head " \
           f"is event {logged}" in result.output


def test_an_expected_head_catches_a_chain_that_went_on_differently(engine, db_url, people, logged):
    anchor = head_cli(db_url)
    cut_back_to(engine, logged - 3)
    for _ in range(2):  # new work after the cut: the numbers pass the anchor's again, with other events
        start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    assert verify_audit(engine).ok
    verdict = verify_audit(engine, expect=Head.parse(anchor))
    assert (verdict.ok, verdict.broken_seq) == (False, logged) and "not the expected one" in verdict.reason


def test_an_expected_head_that_is_not_one_is_refused(db_url, logged):
    for bad in ("12", "12:abc", "x:" + "0" * 64, "-1:" + "0" * 64):
        result = CliRunner().invoke(main, ["--database", db_url, "audit", "verify", "--expect-head", bad])
        assert result.exit_code == 2 and "is not an audit head" in result.output


def test_setting_and_clearing_a_password_is_audited_without_the_password(engine, people):
    from elevflow.engine.org import passwords
    passwords.set_password(engine, "teacher", "ett tillräckligt långt lösenord", by=people.rektor)
    passwords.clear_password(engine, "teacher")
    with engine.db.read() as s:
        events = s.execute(select(AuditEvent.kind, AuditEvent.actor_id, AuditEvent.data)
                           .where(AuditEvent.kind.like("password%")).order_by(AuditEvent.seq)).all()
    assert [(e.kind, e.actor_id, e.data) for e in events] == [
        ("password_set", people.rektor, {"user_id": people.teacher, "username": "teacher"}),
        ("password_cleared", None, {"user_id": people.teacher, "username": "teacher"})]
    assert verify_audit(engine).ok
    with pytest.raises(ValueError):  # too short: refused before anything is written
        passwords.set_password(engine, "teacher", "kort")
    with engine.db.read() as s:
        assert s.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == 2
