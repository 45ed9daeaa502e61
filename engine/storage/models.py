"""The tables. Organisation, process versions, cases, task rows, timers and the audit chain.

Task rows and timer rows are the engine's queryable mirror of each case: inboxes, reports and the
scheduler read them and never load a case's workflow state.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The largest id a row can have: the id columns are INTEGER, 32 bits on PostgreSQL. A larger number from
# outside (a URL, a form, case data) names no row, and must be answered as such before it reaches SQL.
MAX_ID = 2**31 - 1


def parse_id(value: object) -> int | None:
    """An id from outside (a query, a form, case data): a whole number from 1 to MAX_ID, as an int or as
    ASCII digits; anything else (a bool, "²", a number past the column's range) is None — names no row."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A point in time, always timezone-aware UTC in Python, stored the same way on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the engine stores aware UTC times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


# --- organisation -------------------------------------------------------------------------------------

class Organiser(Base):
    """A huvudman: a municipality or an independent school organiser."""

    __tablename__ = "organisers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)


class SchoolUnit(Base):
    __tablename__ = "school_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"))
    code: Mapped[str] = mapped_column(String(50), unique=True)  # skolenhetskod
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # SS 12000 organisation id
    # where appeals are sent (the appeal instructions on a decision); one line, e.g. "Box 1, 111 11 Ort"
    postal_address: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """A member of staff who can log in."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # SS 12000 person id
    eppn: Mapped[str | None] = mapped_column(String(200), unique=True)  # federated login identity
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    last_digest_on: Mapped[str | None] = mapped_column(String(10))  # ISO date of the last digest sent
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; None: no local login
    language: Mapped[str] = mapped_column(String(5), default="sv", server_default="sv")
    # an account for another system (the integration API's tokens act as it); never logs in itself
    system_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class LoginAttempt(Base):
    """A login try, kept for rate limiting across workers and for the security log."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    success: Mapped[bool | None] = mapped_column(Boolean)  # None: its password check never finished
    # refused by the login limit without its password being looked at (not a failure: see logins.py)
    refused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class RoleAssignment(Base):
    """A user holds a role at a school unit (a person may hold several)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", "role"),
                      Index("ix_role_unit", "unit_id", "role"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"))
    role: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(50), default="manual", server_default="manual")


class Pupil(Base):
    __tablename__ = "pupils"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    class_name: Mapped[str | None] = mapped_column(String(50))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    birth_date: Mapped[date | None] = mapped_column(Date)  # from 16 the pupil receives decisions too
    # Sekretessmarkering or skyddad folkbokföring: shown to as few as possible, never in lists
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Guardian(Base):
    """A vårdnadshavare: notified of decisions, may appeal."""

    __tablename__ = "guardians"
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class PupilGuardian(Base):
    __tablename__ = "pupil_guardians"
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), primary_key=True, index=True)


class Delegation(Base):
    """A rektor's written delegation of a kind of decision to a member of staff (Skollagen 2:10)."""

    __tablename__ = "delegations"
    __table_args__ = (Index("ix_delegations_lookup", "unit_id", "delegate_id", "decision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(100))  # a decision kind, e.g. atgardsprogram
    document: Mapped[str] = mapped_column(Text)  # the written delegation order it rests on
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SchoolBreak(Base):
    """A school break (lov) that deadlines counted in business days skip; for one unit or all."""

    __tablename__ = "school_breaks"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("school_units.id"))
    name: Mapped[str] = mapped_column(String(200))
    first_day: Mapped[str] = mapped_column(String(10))  # ISO date
    last_day: Mapped[str] = mapped_column(String(10))


# --- process definitions -------------------------------------------------------------------------------

class ProcessVersion(Base):
    """One immutable deployment of a routine: its BPMN files and forms, exactly as deployed."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("key", "version"), UniqueConstraint("key", "content_hash"))
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # the executable process id
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> BPMN XML text
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)  # form file name -> JSON Schema
    deployed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")


class VersionReader(Base):
    """A role that sees every case of a routine version at its unit (visibility rule 1).

    Written when the version is deployed: the roles the process's `visibleTo` property names, or by
    default the rektor and the student health team. An orosanmälan names only the rektor.
    """

    __tablename__ = "version_readers"
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)


class RoutineDraft(Base):
    """A routine being edited by process owners: every file of a version, changed but not yet published.

    `files` holds the BPMN of the routine (`main_file`) and the shared processes it calls; `forms` its
    JSON Schemas. Publishing deploys it as a new version and deletes the draft. `row_version` is the
    optimistic lock: a save only lands on the draft its editor loaded.
    """

    __tablename__ = "routine_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # the process id it edits
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    main_file: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> BPMN XML text
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)  # form file name -> JSON Schema
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]
    row_version: Mapped[int] = mapped_column(Integer, default=0)


# --- cases, tasks, timers ------------------------------------------------------------------------------

class Case(Base):
    """A running (or ended) routine for one pupil, or for a school unit (`pupil_id` None: a routine whose
    diagram says `caseSubject` unit, such as the årshjul). `state` is the workflow without its spec."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_unit_status", "unit_id", "status"),
                      UniqueConstraint("diary_organiser", "diary_number", name="uq_cases_diary_number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"))
    parent_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[str] = mapped_column(String(20))  # running | completed | cancelled
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    row_version: Mapped[int] = mapped_column(Integer)  # optimistic lock: +1 on every step
    serializer_version: Mapped[str] = mapped_column(String(20))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    # Why a case was cancelled after the point its routine restricts cancelling (cases.CANCEL_GROUNDS).
    cancel_ground: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)  # why its last step failed; cleared by the next one
    error_at: Mapped[datetime | None]
    error_code: Mapped[dict[str, Any] | None]  # the same as a code of engine.codes (codes.to_json), if any
    # The diarienummer, "2026/0042": the organiser's running number of the year, given when the case
    # starts (engine/org/diary.py); `diary_organiser` is whose series it is (0: a unit with no organiser).
    diary_organiser: Mapped[int | None] = mapped_column(Integer)
    diary_number: Mapped[str | None] = mapped_column(String(20))


class CaseAttachment(Base):
    """A file attached to a case (engine/documents/attachments.py): its bytes, checksum, kind and who added
    it; `medical` when a school nurse or doctor added it (shown only to the medical roles). A removed file
    keeps its row (who removed it, when) but not its bytes."""

    __tablename__ = "case_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    medical: Mapped[bool] = mapped_column(Boolean, default=False)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime]
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once removed
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]


class DiaryCounter(Base):
    """The last diarienummer an organiser gave in a year (engine/org/diary.py)."""

    __tablename__ = "diary_counters"
    organiser: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0: none
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class TaskRow(Base):
    """A human task of a case: ready (waiting for a person), completed or cancelled."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_open", "assignee_id", "due_at", postgresql_where=text("state = 'ready'"),
              sqlite_where=text("state = 'ready'")),
        Index("ix_tasks_assignee", "assignee_id"),  # every task a person held: need-to-know checks
        Index("ix_tasks_pool_open", "unit_id", "role", "due_at",
              postgresql_where=text("state = 'ready' AND assignee_id IS NULL"),
              sqlite_where=text("state = 'ready' AND assignee_id IS NULL")),
        # the scheduler's next deadline notice: open tasks only, so closed ones never slow it down
        Index("ix_tasks_notice_open", "notice_at", postgresql_where=text("state = 'ready'"),
              sqlite_where=text("state = 'ready'")),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # SpiffWorkflow's task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(50))
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"))
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"))  # None: a unit-level case
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    form: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The person who completed it held skolsköterska or skolläkare at the unit then: what they wrote is
    # the medical part's, whatever the lane (OSL 25 kap. 1 §; engine/oversight/visibility.py).
    medical_author: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Reminders and escalation: when the next notice is due, and how far the task has come
    # (0 none sent, 1 reminded, 2 escalated to the rektor, 3 escalated to the huvudman).
    notice_at: Mapped[datetime | None]
    notice_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Notification(Base):
    """Something a user should know: shown in the app, e-mailed (without pupil data), or in a digest."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(50))  # task_assigned, reminder, escalation, ...
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class OutgoingEmail(Base):
    """An e-mail waiting to be sent: written in the transaction that decided to send it, sent after."""

    __tablename__ = "outgoing_emails"
    __table_args__ = (Index("ix_outgoing_emails_unsent", "send_after",
                            postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    send_after: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    """A message or signal a case threw for other cases: written in the thrower's step (the outbox), then
    delivered by the scheduler, each delivery in the receiving case's own step (runtime/crosscase.py)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_pending", "id", postgresql_where=text("delivered_at IS NULL"),
                            sqlite_where=text("delivered_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(200))
    sender_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("school_units.id"))
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"))
    correlations: Mapped[Any] = mapped_column(JSON)
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime]
    keep_until: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # delivered | broadcast | expired
    receivers: Mapped[Any | None] = mapped_column(JSON)


class Timer(Base):
    """A timer event a case waits on; the scheduler fires those whose `due_at` has passed."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)


class TaskDraft(Base):
    """Form data a user saved without completing the task (theirs only)."""

    __tablename__ = "task_drafts"
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime]


class FollowUp(Base):
    """A personal follow-up date a user set on a task (beside its legal due date)."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_user_on", "user_id", "on_date"),)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    on_date: Mapped[str] = mapped_column(String(10))  # ISO date


class SavedFilter(Base):
    """An inbox filter a user saved, optionally shared with everyone holding a role."""

    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    shared_with_role: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime]


class DecisionRecord(Base):
    """A signed decision: who signed which document, when, under which delegation, and its hash."""

    __tablename__ = "decision_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    decision: Mapped[str] = mapped_column(String(100))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("delegations.id"))
    signed_at: Mapped[datetime]
    document_sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the PDF as signed
    reauthenticated_at: Mapped[datetime]


class MedicalRelease(Base):
    """The medical part released what it recorded in a task into the case (domain brief §4)."""

    __tablename__ = "medical_releases"
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id"), primary_key=True)
    released_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)


class AccessLogEntry(Base):
    """Who opened (or was refused) which pupil's case, when, and where from: every read of case data."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_pupil_at", "pupil_id", "at"),
                      Index("ix_access_log_case_at", "case_id", "at"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer)
    pupil_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(50))  # view_case, view_task, download_document, ...
    allowed: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(String(300), default="", server_default="")


# --- audit ---------------------------------------------------------------------------------------------

class AuditEvent(Base):
    """One step, hash-chained to the one before: hash = sha256(prev_hash || canonical event)."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(50))
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives what it speaks of
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    pupil_id: Mapped[int | None] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class ServiceStatus(Base):
    """The last time a background duty ran and how it went, one row per duty, for /readyz and /metrics:
    `scheduler` (every round, whatever it found to do) and `audit_verify` (each `elevflow audit verify`)."""

    __tablename__ = "service_status"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    at: Mapped[datetime]
    ok: Mapped[bool]
    detail: Mapped[str] = mapped_column(String(500), default="", server_default="")


class AuditHead(Base):
    """The chain's newest link, one row, locked by every appender: a deleted tail no longer matches it."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


# --- the integration API (webui/api/, docs/api.md) ---------------------------------------------------------

class ApiToken(Base):
    """An API token of a system account (or, for a tool a person runs, a person's): only the SHA-256 of
    its secret is kept, and the first characters (`prefix`) to tell tokens apart. It acts as its user,
    narrowed to its scopes and, when `unit_ids` is set, to those school units."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    unit_ids: Mapped[list[int] | None] = mapped_column(JSON)  # None: every unit where its user holds a role
    rate_limit: Mapped[int] = mapped_column(Integer, default=600, server_default="600")  # requests a minute
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WebhookSubscription(Base):
    """An outside system told of case and task events: its URL, the shared secret the body is signed
    with (HMAC-SHA256), the events and units it wants."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSON)  # event kinds; empty: every kind
    unit_ids: Mapped[list[int] | None] = mapped_column(JSON)  # None: every unit
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one subscription: the outbox row, written in the step's own transaction, delivered
    after (in id order per subscription) by the scheduler."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "subscription_id", "id",
                            postgresql_where=text("delivered_at IS NULL"),
                            sqlite_where=text("delivered_at IS NULL")),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event: Mapped[str] = mapped_column(String(50))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
