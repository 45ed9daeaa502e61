"""Need-to-know (domain brief §4): who may see a pupil's case, and a log row for every look.

The rules (docs/privacy.md says why). A user sees a case only while they are active and hold a role at
the case's school unit, and then only through one of these:

1. they hold a role that sees every case of the routine at the unit: by default the rektor and the
   student health team (an EHT role: `access.EHT_ROLES`); a routine may name fewer (`visibleTo` on its
   process, kept per version in `version_readers`: an orosanmälan names only the rektor);
2. they started the case;
3. a task of the case is, or was, assigned to them, or they completed one;
4. an open task of the case that nobody has taken waits in a lane their role serves (it is in their inbox);
5. they hold the huvudman role at the unit and the routine involves the huvudman: a task of the case is
   in the Huvudman lane, or an overdue task was escalated to the huvudman.

A unit-level case (no pupil: the årshjul, an avvikelse; its routine says `caseSubject` unit) is not
the student health team's by rule 1 — only the rektor's — and is seen through rules 2–5, and also by
6. anyone holding a role that serves a lane in which the case has, or had, a task (the routine's own lanes
   as far as the case has come: who works on it sees it, nobody else at the unit).

Nobody sees another unit's cases. Every function here that hands out case content (`open_case`,
`task_data_for`, and `signing.decision_document` through it) first writes one `access_log` row, allowed
or refused, in one short transaction with the check: one insert per page. A refused or missing case
raises `NotVisibleError` with one message either way, so the answer never tells whether it exists.

The medical zone (OSL 25 kap. 1 §, 23 kap. 2 §): what a school nurse or doctor recorded — a task in a medical
lane, or any task completed by someone who held skolsköterska or skolläkare at the unit (`medical_author`,
set when it was completed: e.g. the nurse's entry in the EHT samråd) — is shown only to the medical roles
at the unit (and its author) until one of them releases it with its ground (`release_medical`).
A pupil with a protected identity is named only to the unit's rektor, the case's starter and those who
hold or did one of its tasks; everyone else, and every list, shows "Skyddad identitet".
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import bindparam, or_, select, text

from .. import codes
from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..org import access
from ..org.roles import MEDICAL_ROLES
from ..storage import audit
from ..storage.dbapi import Sql, Tx, within
from ..storage.models import AccessLogEntry as Log
from ..storage.models import (
    Case,
    DecisionRecord,
    MedicalRelease,
    ProcessVersion,
    Pupil,
    RoleAssignment,
    SchoolUnit,
    TaskRow,
    User,
)

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

PROTECTED_NAME = "Skyddad identitet"
WITHHELD = ("Uppgifterna förs av elevhälsans medicinska del och visas bara för skolsköterska och skolläkare, "
            "om de inte har lämnats ut.")


class NotVisibleError(NotFoundError, PermissionDeniedError):
    """The case does not exist or the user may not see it: one answer for both, so nothing is revealed."""


def _in(values: frozenset[str]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))  # role keys are fixed [a-z_] names, never input


_SERVES = " OR ".join([f"(t.role = r.role AND r.role NOT IN ({_in(access.NO_LANE)}))"]
                      + [f"(t.role = '{lane}' AND r.role IN ({_in(roles)}))"
                         for lane, roles in sorted(access.LANE_SERVED_BY.items())])
_MINE = "t.assignee_id = :uid OR t.completed_by = :uid"
# The rules above as one SQL condition on the table `cases` (parameters :uid, and :yes = True).
VISIBLE_SQL = f"""EXISTS (SELECT 1 FROM role_assignments r JOIN users u ON u.id = r.user_id
    WHERE r.user_id = :uid AND r.unit_id = cases.unit_id AND u.active = :yes AND (
    EXISTS (SELECT 1 FROM version_readers vr WHERE vr.version_id = cases.process_version_id
            AND vr.role = r.role) OR cases.started_by = :uid
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.id AND ({_MINE}))
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.id AND t.state = 'ready'
               AND t.assignee_id IS NULL AND ({_SERVES}))
    OR (cases.pupil_id IS NULL AND EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.id AND ({_SERVES})))
    OR (r.role = 'huvudman' AND EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.id
               AND (t.role = 'huvudman' OR t.notice_level >= 3)))))"""
# Who may see a protected pupil's name in a case they can see.
NAMED_SQL = f"""EXISTS (SELECT 1 FROM role_assignments r JOIN users u ON u.id = r.user_id
    WHERE r.user_id = :uid AND r.unit_id = cases.unit_id AND u.active = :yes AND (
    r.role = 'rektor' OR cases.started_by = :uid
    OR EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.id AND ({_MINE}))))"""
_CHECK = f"""SELECT cases.pupil_id, cases.unit_id, p.protected_identity,
    CASE WHEN {VISIBLE_SQL} THEN 1 ELSE 0 END, CASE WHEN {NAMED_SQL} THEN 1 ELSE 0 END
    FROM cases LEFT JOIN pupils p ON p.id = cases.pupil_id WHERE cases.id = :case_id"""
CHECK = Sql(_CHECK)
LOG = Sql("""INSERT INTO access_log (at, user_id, case_id, pupil_id, unit_id, action, allowed, detail)
    VALUES (:at, :user_id, :case_id, :pupil_id, :unit_id, :action, :allowed, :detail)""")


@dataclass(frozen=True)
class Seen:
    """The outcome of one access check (and its log row). `pupil_id` None: a unit-level case."""

    case_id: int
    pupil_id: int | None
    unit_id: int
    protected: bool
    named: bool


def check(tx: Tx, user_id: int, case_id: int) -> tuple[Seen | None, bool]:
    """Inside a caller's transaction: the case's pupil and unit, and whether the user may see it."""
    row = tx.first(CHECK, {"uid": user_id, "yes": True, "case_id": case_id})
    if row is None:
        return None, False
    pupil_id, unit_id, protected, visible, named = row
    return Seen(case_id, pupil_id, unit_id, bool(protected), bool(named)), bool(visible)


def log_access(engine: Engine, user_id: int, case_id: int | None, action: str, detail: str = "", *,
               need_name: bool = False) -> Seen:
    """Check the user's right to a case and write its access-log row, in one short transaction.

    1. Read the case with the two rule conditions evaluated by the database (no case data is loaded).
    2. Insert the log row — allowed or not — and commit, so a refusal is on record too.
    3. Raise NotVisibleError if refused (`need_name`: also when the pupil's identity is protected and
       the user may not see the name, e.g. for a document that prints it).
    """
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        seen, allowed = check(tx, user_id, case_id) if case_id is not None else (None, False)
        if seen is not None and need_name and seen.protected and not seen.named:
            allowed, detail = False, (detail + " (skyddad identitet)").strip()
        tx.execute(LOG, {"at": tx.time(now), "user_id": user_id, "case_id": case_id,
                         "pupil_id": seen and seen.pupil_id, "unit_id": seen and seen.unit_id,
                         "action": action[:50], "allowed": allowed, "detail": detail[:300]})
    if seen is None or not allowed:
        raise NotVisibleError(f"case {case_id} does not exist, or you may not see it")
    return seen


def can_view_case(engine: Engine, user_id: int, case_id: int) -> bool:
    """Whether the user may see the case (no log row: use it to decide what to show, not to show it)."""
    with engine.db.read() as session:
        row = session.execute(text(_CHECK), {"uid": user_id, "yes": True, "case_id": case_id}).first()
    return row is not None and bool(row[3])


# --- the case page ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskEntry:
    """One task of a case as its viewer may see it: `data` is None while `withheld` (medical zone)."""

    id: UUID
    bpmn_id: str
    name: str
    role: str | None
    state: str
    assignee_id: int | None
    assignee_name: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: int | None
    completed_by_name: str | None
    medical: bool
    released: bool
    withheld: bool
    data: dict[str, Any] | None

    @property
    def late(self) -> bool:
        """Completed after its due time (a due time its own form re-counted from the date the law counts,
        such as when staff learned of a kränkning, included)."""
        return self.due_at is not None and self.completed_at is not None and self.completed_at > self.due_at


@dataclass(frozen=True)
class DecisionEntry:
    """A signed decision of the case (its document is fetched with signing.decision_document)."""

    id: int
    task_id: UUID
    decision: str
    signer_id: int
    signer_name: str | None
    delegation_id: int | None
    signed_at: datetime
    document_sha256: str


@dataclass(frozen=True)
class CaseView:
    """A case as one user may see it (built only after `open_case` logged the look)."""

    id: int
    process_key: str
    routine_name: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    started_by: int | None
    row_version: int
    unit_id: int
    unit_name: str
    pupil_id: int | None  # None: a unit-level case (its pupil_name and pupil_class are None too)
    pupil_name: str | None
    pupil_class: str | None
    protected_identity: bool
    tasks: list[TaskEntry]
    decisions: list[DecisionEntry]
    process_version_id: int = 0
    error: str | None = None  # why the case's last step failed (engine.runtime.failures), until one succeeds
    error_code: codes.Coded | None = None  # the same, coded (engine.codes), when the error had a code
    diary_number: str | None = None  # the diarienummer (engine/org/diary.py)


def open_case(engine: Engine, user_id: int, case_id: int, *, action: str = "view_case",
              detail: str = "") -> CaseView:
    """Check, log (always: allowed or refused) and return the case as the user may see it."""
    seen = log_access(engine, user_id, case_id, action, detail)
    with engine.db.read() as session:
        head = session.execute(
            select(Case.process_key, ProcessVersion.name, Case.status, Case.started_at, Case.ended_at,
                   Case.started_by, Case.row_version, SchoolUnit.name, Pupil.given_name, Pupil.family_name,
                   Pupil.class_name, Case.process_version_id, Case.error, Case.error_code,
                   Case.diary_number)
            .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
            .join(SchoolUnit, SchoolUnit.id == Case.unit_id).outerjoin(Pupil, Pupil.id == Case.pupil_id)
            .where(Case.id == case_id)).one()
        medical_ok = bool(_roles_at(session, user_id, seen.unit_id) & MEDICAL_ROLES)
        rows = session.execute(select(TaskRow, MedicalRelease.task_id)
                               .outerjoin(MedicalRelease, MedicalRelease.task_id == TaskRow.id)
                               .where(TaskRow.case_id == case_id)
                               .order_by(TaskRow.created_at, TaskRow.id)).all()
        signed = session.execute(select(DecisionRecord.id, DecisionRecord.task_id, DecisionRecord.decision,
                                        DecisionRecord.signer_id, DecisionRecord.delegation_id,
                                        DecisionRecord.signed_at, DecisionRecord.document_sha256)
                                 .where(DecisionRecord.case_id == case_id).order_by(DecisionRecord.id)).all()
        names = _names(session, {i for t, _ in rows for i in (t.assignee_id, t.completed_by)}
                       | {d.signer_id for d in signed})
    hidden = seen.protected and not seen.named
    return CaseView(
        case_id, head[0], head[1], head[2], head[3], head[4], head[5], head[6], seen.unit_id, head[7],
        seen.pupil_id, _name(seen.pupil_id, hidden, head[8], head[9]), None if hidden else head[10],
        seen.protected, [_entry(t, released is not None, medical_ok, user_id, names) for t, released in rows],
        [DecisionEntry(d.id, d.task_id, d.decision, d.signer_id, names.get(d.signer_id), d.delegation_id,
                       d.signed_at, d.document_sha256) for d in signed], process_version_id=head[11],
        error=head[12], error_code=codes.from_json(head[13]), diary_number=head[14])


def _name(pupil_id: int | None, hidden: bool, given: str | None, family: str | None) -> str | None:
    """How a case names its pupil: None for a unit-level case, never a protected name when `hidden`."""
    if pupil_id is None:
        return None
    return PROTECTED_NAME if hidden else f"{given} {family}"


def _roles_at(session: Any, user_id: int, unit_id: int) -> set[str]:
    """access.roles_at_unit, inside an ORM session's transaction."""
    return access.roles_at_unit(within(session, session.get_bind().dialect.name), user_id, unit_id)


def _names(session: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).all())


def is_medical(role: str | None, medical_author: bool) -> bool:
    """Whether a task's data is the medical part's: by its lane, or by who wrote it."""
    return role in MEDICAL_ROLES or bool(medical_author)


def _entry(t: TaskRow, released: bool, medical_ok: bool, user_id: int, names: dict[int, str]) -> TaskEntry:
    medical = is_medical(t.role, t.medical_author)
    withheld = medical and not (released or medical_ok or t.completed_by == user_id) and t.data is not None
    return TaskEntry(t.id, t.bpmn_id, t.name, t.role, t.state, t.assignee_id, names.get(t.assignee_id or 0),
                     t.created_at, t.due_at, t.completed_at, t.completed_by, names.get(t.completed_by or 0),
                     medical, released, withheld, None if withheld else t.data)


@dataclass(frozen=True)
class TaskData:
    """A task's submitted data for one viewer, or the medical zone's placeholder in `message`."""

    task_id: UUID
    data: dict[str, Any] | None
    withheld: bool
    message: str = ""


def task_data_for(engine: Engine, user_id: int, task_id: UUID | str) -> TaskData:
    """The data submitted in a task, logged as "view_task"; held back by the medical zone if so ruled."""
    try:
        task_uuid = UUID(str(task_id))
    except ValueError:
        log_access(engine, user_id, None, "view_task", f"task {task_id}"[:300])  # logs, then refuses
        raise  # (log_access refuses a look at no case; never reached)
    with engine.db.read() as session:
        case_id = session.scalar(select(TaskRow.case_id).where(TaskRow.id == task_uuid))
    seen = log_access(engine, user_id, case_id, "view_task", f"task {task_uuid}")
    with engine.db.read() as session:
        row, released = session.execute(select(TaskRow, MedicalRelease.task_id).outerjoin(
            MedicalRelease, MedicalRelease.task_id == TaskRow.id).where(TaskRow.id == task_uuid)).one()
        medical_ok = bool(_roles_at(session, user_id, seen.unit_id) & MEDICAL_ROLES)
    entry = _entry(row, released is not None, medical_ok, user_id, {})
    return TaskData(task_uuid, entry.data, entry.withheld, WITHHELD if entry.withheld else "")


MEDICAL_WRITES = Sql("""SELECT t.role, t.medical_author, t.data, r.task_id FROM tasks t
    LEFT JOIN medical_releases r ON r.task_id = t.id
    WHERE t.case_id = :case_id AND t.state = 'completed' ORDER BY t.completed_at, t.id""")


def unreleased_medical_keys(tx: Tx, case_id: int) -> set[str]:
    """The case-data keys whose value the medical part wrote and has not released (a later write by
    someone else replaces it): what a decision document, a public record, must not print."""
    keys: set[str] = set()
    for role, medical_author, data, released in tx.all(MEDICAL_WRITES, {"case_id": case_id}):
        written = set(tx.read_json(data) or {}) if data is not None else set()
        if is_medical(role, medical_author) and released is None:
            keys |= written
        else:
            keys -= written
    return keys


RELEASE_TASK = Sql("""SELECT case_id, pupil_id, unit_id, role, state, bpmn_id, name, medical_author
    FROM tasks WHERE id = :id""")
RELEASED = Sql("SELECT 1 FROM medical_releases WHERE task_id = :id")
INSERT_RELEASE = Sql("""INSERT INTO medical_releases (task_id, released_by, released_at, reason)
    VALUES (:id, :by, :now, :reason)""")


def release_medical(engine: Engine, task_id: UUID | str, by: int, reason: str) -> bool:
    """A school nurse or doctor at the unit releases what the medical part recorded in a task (its lane
    is medical, or a nurse or doctor completed it) to everyone who sees the case, with consent or a legal
    exception named in `reason`. Audited; the reason itself stays in `medical_releases`, the audit event
    holds its digest. Returns False if it was already released."""
    if not reason.strip():
        raise ValueError("a release needs its reason (the consent or the legal ground)")
    task_id = UUID(str(task_id))
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        row = tx.first(RELEASE_TASK, {"id": tx.uuid(task_id)})
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        case_id, pupil_id, unit_id, role, state, bpmn_id, name, medical_author = row
        if not is_medical(role, medical_author):
            raise ValueError(f"{name!r} is not a task of the medical part; there is nothing to release")
        if not access.roles_at_unit(tx, by, unit_id) & MEDICAL_ROLES:
            raise PermissionDeniedError("only the school nurse or school doctor at the unit may release "
                                        "what the medical part recorded")
        if state != "completed":
            raise ConflictError("conflict.nothing_recorded", name=name, state=codes.state(state))
        if tx.first(RELEASED, {"id": tx.uuid(task_id)}) is not None:
            return False
        tx.execute(INSERT_RELEASE, {"id": tx.uuid(task_id), "by": by, "now": tx.time(now), "reason": reason})
        audit.append(tx, [audit.Event("medical_released", by, case_id, pupil_id, unit_id, {
            "task_id": str(task_id), "bpmn_id": bpmn_id, "name": name,
            "reason_sha256": hashlib.sha256(reason.encode()).hexdigest()})], now)
    return True


# --- lists, the access history, the timeline -------------------------------------------------------------

@dataclass(frozen=True)
class CaseSummary:
    """A line of a case list: never a protected pupil's name or class, and nothing from the case's data."""

    id: int
    process_key: str
    routine_name: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    unit_id: int
    unit_name: str
    pupil_id: int | None  # None: a unit-level case, with no pupil name or class either
    pupil_name: str | None
    pupil_class: str | None


def visible_cases(engine: Engine, user_id: int, *, status: str | None = None, process_key: str | None = None,
                  unit_id: int | None = None, before_id: int | None = None, pupil_id: int | None = None,
                  term: str = "", limit: int = 100) -> list[CaseSummary]:
    """The cases the user may see, newest first: one query, scanning only the cases of the units where
    the user holds a role (index on cases.unit_id, status). `before_id` pages on; `pupil_id` keeps one
    pupil's; `term` those whose pupil's name or class holds it. Not logged: a list
    shows who and which routine, never the case's content."""
    query = (select(Case.id, Case.process_key, ProcessVersion.name, Case.status, Case.started_at,
                    Case.ended_at, Case.unit_id, SchoolUnit.name.label("unit_name"), Case.pupil_id,
                    Pupil.given_name, Pupil.family_name, Pupil.class_name, Pupil.protected_identity)
             .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
             .join(SchoolUnit, SchoolUnit.id == Case.unit_id).outerjoin(Pupil, Pupil.id == Case.pupil_id)
             .where(Case.unit_id.in_(select(RoleAssignment.unit_id)
                                     .where(RoleAssignment.user_id == bindparam("uid"))), text(VISIBLE_SQL))
             .order_by(Case.id.desc()).limit(limit))
    for column, value in ((Case.status, status), (Case.process_key, process_key), (Case.unit_id, unit_id),
                          (Case.pupil_id, pupil_id)):
        if value is not None:
            query = query.where(column == value)
    term = " ".join(term.split())
    if term and "\x00" not in term:  # a pupil's name or class; never a protected pupil's
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        patterns = {f"%{v}%" for v in (escaped, escaped.lower(), escaped.capitalize(), escaped.upper())}
        full_name = Pupil.given_name + " " + Pupil.family_name
        query = query.where(Pupil.protected_identity.is_(False), or_(*[
            column.ilike(p, escape="\\") for p in patterns
            for column in (Pupil.given_name, Pupil.family_name, full_name, Pupil.class_name)]))
    if before_id is not None:
        query = query.where(Case.id < before_id)
    with engine.db.read() as session:
        rows = session.execute(query, {"uid": user_id, "yes": True}).all()
    return [CaseSummary(*r[:9], _name(r[8], bool(r[12]), r[9], r[10]), None if r[12] else r[11])
            for r in rows]


@dataclass(frozen=True)
class AccessEntry:
    """One row of a pupil's access history: who opened (or was refused) what, and when."""

    at: datetime
    user_id: int | None
    user_name: str | None
    case_id: int | None
    action: str
    allowed: bool
    detail: str


PUPIL_UNIT = Sql("SELECT unit_id FROM pupils WHERE id = :id")
REKTOR_UNITS = Sql("""SELECT r.unit_id FROM role_assignments r JOIN users u ON u.id = r.user_id
    WHERE r.user_id = :uid AND r.role = 'rektor' AND u.active = :yes""")


def access_history(engine: Engine, pupil_id: int, *, asked_by: int, limit: int = 1000) -> list[AccessEntry]:
    """Who opened this pupil's cases and when, newest first — for the rektor of the pupil's unit only
    (domain brief §4), and only the looks at cases of units where they are rektor. Asking is logged too."""
    now = datetime.now(timezone.utc)
    with engine.db.transaction() as tx:
        unit_id = tx.scalar(PUPIL_UNIT, {"id": pupil_id})
        units = [u for (u,) in tx.all(REKTOR_UNITS, {"uid": asked_by, "yes": True})]
        allowed = unit_id is not None and unit_id in units
        tx.execute(LOG, {"at": tx.time(now), "user_id": asked_by, "case_id": None,
                         "pupil_id": pupil_id if unit_id is not None else None, "unit_id": unit_id,
                         "action": "view_access_history", "allowed": allowed, "detail": ""})
    if not allowed:
        raise PermissionDeniedError("only the rektor of the pupil's school unit may see who opened the "
                                    "pupil's cases")
    with engine.db.read() as session:
        rows = session.execute(
            select(Log.at, Log.user_id, User.name, Log.case_id, Log.action, Log.allowed, Log.detail)
            .outerjoin(User, User.id == Log.user_id)
            .where(Log.pupil_id == pupil_id, Log.unit_id.in_(units))
            .order_by(Log.at.desc(), Log.id.desc()).limit(limit)).all()
    return [AccessEntry(*r) for r in rows]


@dataclass(frozen=True)
class TimelineEntry:
    """One audit event of a case: its kind and what the web needs to say it (webui/timeline.py words it
    in the reader's language). `params` may hold: task (the task's name), who (the assignee's name),
    name (a gateway's or timer's name, else its BPMN id), bpmn_id, taken (the BPMN ids a gateway led
    to), key (a linked routine), to (who an escalation went to: "rektor" or "huvudman"), field, named
    (the user's name an assignee field gave), named_id, named_value, message, from_version and
    to_version (a migration's)."""

    at: datetime
    kind: str
    actor_id: int | None
    actor_name: str | None  # None: Elevflow itself (a timer, the scheduler)
    params: dict[str, Any]


def _params(data: dict[str, Any], task: str | None, names: dict[int, str]) -> dict[str, Any]:
    said: dict[str, Any] = {"task": task, "name": data.get("name") or data.get("bpmn_id") or "",
                            "bpmn_id": data.get("bpmn_id"), "taken": list(data.get("taken") or []),
                            "key": data.get("key", ""), "to": data.get("to", ""), "field": data.get("field"),
                            "message": data.get("message", ""), "from_version": data.get("from_version"),
                            "to_version": data.get("to_version")}
    if data.get("assignee_id"):
        said["who"] = names.get(data["assignee_id"])
    if "named_id" in data or "named" in data:
        said["named_id"] = data.get("named_id")
        said["named"] = names.get(data["named_id"]) if data.get("named_id") else None
        said["named_value"] = None if data.get("named") in (None, "None") else str(data["named"])
    return said


def case_timeline(engine: Engine, user_id: int, case_id: int) -> list[TimelineEntry]:
    """The case's audit events as readable entries, oldest first. Call it on a page that `open_case`
    already logged: it checks the right again but writes no second log row."""
    if not can_view_case(engine, user_id, case_id):
        raise NotVisibleError(f"case {case_id} does not exist, or you may not see it")
    events = audit.events(engine, case_id=case_id, limit=100_000)
    with engine.db.read() as session:
        tasks = dict(session.execute(select(TaskRow.id, TaskRow.name)
                                     .where(TaskRow.case_id == case_id)).all())
        names = _names(session, {e.actor_id for e in events}
                       | {e.data.get(key) for e in events for key in ("assignee_id", "named_id")})
    entries = []
    for e in events:
        task = None
        if "task_id" in e.data:
            task = e.data.get("name") or tasks.get(UUID(e.data["task_id"]))
        entries.append(TimelineEntry(e.at, e.kind, e.actor_id, names.get(e.actor_id) if e.actor_id else None,
                                     _params(e.data, task, names)))
    return entries
