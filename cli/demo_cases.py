"""A year of made-up cases for the demo: `elevflow demo` seeds them so the inbox, the dashboard and the heat
map show what they are for.

Every case goes through the engine's own API — `start_case`, `complete_task`, `sign_decision` — as the
demo's staff, with the engine's clock set to the moment each step is taken, so the step log, the deadlines
and the quality figures are those a year of real work would leave. Nothing is written with SQL.

The cases are spread over the year before `today`, their steps a few days apart, all in time order across
cases; a case stops where its clock reaches today (its open task is in someone's inbox) or at a step
chosen at random (it waits there, as real cases do). The form answers are drawn from each form's own
choices and a few made-up sentences; a choice the form refuses on second look is drawn again. The same
seed and the same day give the same cases.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from elevflow.engine import complete_task, sign_decision, start_case
from elevflow.engine.core import Engine
from elevflow.engine.errors import ElevflowError
from elevflow.engine.org import access
from elevflow.engine.runtime.tasks import list_tasks, task_info
from elevflow.engine.storage.models import Case, Pupil, RoleAssignment, SchoolUnit, User
from elevflow.engine.work import worklist

STOCKHOLM = ZoneInfo("Europe/Stockholm")

#: Cases per school unit over the year, by routine, and who starts them (drawn among those holding the roles).
PLAN: dict[str, tuple[int, tuple[str, ...]]] = {
    "sarskilt_stod": (16, ("larare", "mentor", "specialpedagog")),
    "krankande_behandling": (16, ("larare", "mentor", "personal", "kurator")),
    "franvaro": (14, ("mentor", "larare")),
    "orosanmalan": (8, ("personal", "kurator", "skolskoterska", "larare")),
    "avvikelse": (5, ("kurator", "specialpedagog")),
    "arshjul": (1, ("rektor",)),
}
UNIT_LEVEL = {"arshjul", "avvikelse"}
MAX_STEPS = 40  # per case: a loop in a routine (an adaptation tried again and again) ends somewhere
TRIES = 8  # form answers drawn per step before the case is left to wait there

SENTENCES = (
    "Eleven har svårt att komma igång med uppgifter och behöver tydliga instruktioner.",
    "Samtal med eleven och vårdnadshavarna har hållits; alla är överens om nästa steg.",
    "Undervisningen anpassas med kortare pass, bildstöd och en lugn plats att arbeta på.",
    "Mentorn följer upp varje vecka och håller kontakt med hemmet.",
    "Eleven säger själv att det går bättre när uppgifterna delas upp.",
    "Kartläggningen visar behov inom läsförståelse och uthållighet.",
    "Händelsen utreddes samma vecka; de inblandade eleverna har hörts.",
    "Skolan har kontaktat vårdnadshavarna och bokat ett uppföljande möte.",
    "Elevhälsoteamet bedömer att insatserna ska fortsätta terminen ut.",
    "Allt är påhittat: detta är Elevflows demo med uppdiktade personer.",
)


@dataclass
class Seeded:
    """What the seeding did: cases started, steps done, and cases per routine."""

    cases: int = 0
    steps: int = 0
    by_routine: dict[str, int] = field(default_factory=dict)


@dataclass(order=True)
class _Walk:
    at: datetime
    order: int
    routine: str = field(compare=False)
    unit: int = field(compare=False)
    pupil: int | None = field(compare=False)
    case_id: int | None = field(compare=False, default=None)
    steps_left: int = field(compare=False, default=MAX_STEPS)


class _Staff:
    """Who holds which role at which unit (the demo organisation's people)."""

    def __init__(self, engine: Engine):
        with engine.db.read() as session:
            rows = session.execute(select(RoleAssignment.unit_id, RoleAssignment.role, User.id)
                                   .join(User, User.id == RoleAssignment.user_id)
                                   .order_by(User.id)).all()
            self.units = list(session.scalars(select(SchoolUnit.id).order_by(SchoolUnit.id)))
            pupils = session.execute(select(Pupil.unit_id, Pupil.id).where(Pupil.active)
                                     .order_by(Pupil.id)).all()
        self.held: dict[tuple[int, str], list[int]] = {}
        for unit, role, user in rows:
            self.held.setdefault((unit, role), []).append(user)
        self.pupils: dict[int, list[int]] = {}
        for unit, pupil in pupils:
            self.pupils.setdefault(unit, []).append(pupil)

    def first(self, unit: int, *roles: str) -> int | None:
        return next((self.held[(unit, r)][0] for r in roles if self.held.get((unit, r))), None)

    def any(self, rng: random.Random, unit: int, *roles: str) -> int | None:
        """One of those holding any of the roles at the unit, drawn at random."""
        people = [u for r in roles for u in self.held.get((unit, r), [])]
        return rng.choice(people) if people else None

    def serving(self, unit: int, lane: str) -> int | None:
        """Someone who may take a task in the lane: its own role first, then the others that serve it."""
        return self.first(unit, lane, *sorted(access.roles_serving(lane) - {lane}))


def seed(engine: Engine, *, seed: int = 17, today: date | None = None) -> Seeded:
    """Seed a year of cases at the demo's units, up to `today` (default: the current day). The engine's
    clock is moved for each step and put back afterwards."""
    today = today or datetime.now(STOCKHOLM).date()
    end = datetime.combine(today, time(8), STOCKHOLM).astimezone(timezone.utc)
    rng = random.Random(seed)
    staff = _Staff(engine)
    walks: list[_Walk] = []
    for unit in staff.units:
        for routine, (count, _starters) in PLAN.items():
            for i in range(count):
                days_ago = 5 + (360 * i) // count + rng.randrange(0, max(1, 360 // count))
                at = datetime.combine(today - timedelta(days=days_ago),
                                      time(8 + rng.randrange(8), rng.randrange(60)), STOCKHOLM)
                pupil = None if routine in UNIT_LEVEL else rng.choice(staff.pupils.get(unit) or [None])
                walks.append(_Walk(at.astimezone(timezone.utc), len(walks), routine, unit, pupil,
                                   steps_left=rng.choice([2, 4, 6, 9, MAX_STEPS, MAX_STEPS, MAX_STEPS])))
    heapq.heapify(walks)
    done = Seeded()
    real_clock = engine.clock
    try:
        while walks:
            walk = heapq.heappop(walks)
            engine.clock = lambda at=walk.at: at  # noqa: B023 - the step's moment, bound now
            if not _step(engine, staff, rng, walk, done) or walk.steps_left <= 0:
                continue
            walk.at = _next_moment(rng, walk.at)
            if walk.at < end:
                heapq.heappush(walks, walk)
        _everyone_has_work(engine, staff, rng, end - timedelta(days=1), done)
    finally:
        engine.clock = real_clock
    return done


def _everyone_has_work(engine: Engine, staff: _Staff, rng: random.Random, at: datetime, done: Seeded) -> None:
    """Whoever works at a school and has nothing in their inbox after the year reported a kränkning
    yesterday: its first step, the report to the rektor, waits for them (so every demo login shows an
    inbox)."""
    engine.clock = lambda: at
    for (unit, role), people in sorted(staff.held.items()):
        if role not in access.STAFF_ROLES:
            continue
        for user in people:
            if worklist.worklist(engine, user, limit=1).items:
                continue
            pupil = rng.choice(staff.pupils.get(unit) or [0])
            try:
                start_case(engine, "krankande_behandling", pupil_id=pupil, by=user)
            except ElevflowError:
                continue
            done.cases += 1
            done.by_routine["krankande_behandling"] = done.by_routine.get("krankande_behandling", 0) + 1


def _next_moment(rng: random.Random, at: datetime) -> datetime:
    """A weekday 1–6 days later, in working hours."""
    local = at.astimezone(STOCKHOLM) + timedelta(days=rng.randrange(1, 7))
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.replace(hour=8 + rng.randrange(8), minute=rng.randrange(60)).astimezone(timezone.utc)


def _step(engine: Engine, staff: _Staff, rng: random.Random, walk: _Walk, done: Seeded) -> bool:
    """Start the case or do its next open task; False when the case is left where it is."""
    if walk.case_id is None:
        starter = staff.any(rng, walk.unit, *PLAN[walk.routine][1])
        if starter is None or (walk.routine not in UNIT_LEVEL and walk.pupil is None):
            return False
        try:
            case = start_case(engine, walk.routine, pupil_id=walk.pupil,
                              unit_id=walk.unit if walk.routine in UNIT_LEVEL else None, by=starter)
        except ElevflowError:
            return False
        walk.case_id = case.id
        done.cases += 1
        done.by_routine[walk.routine] = done.by_routine.get(walk.routine, 0) + 1
        return True
    # tasks opened in the same step share their time and have random ids: their BPMN ids order them
    ready = sorted(list_tasks(engine, case_id=walk.case_id, state="ready"),
                   key=lambda t: (t.created_at, t.bpmn_id))
    for task in ready:
        info = task_info(engine, task)
        if info["decision"]:
            worker = staff.first(walk.unit, "rektor")
        else:
            worker = task.assignee_id or staff.serving(walk.unit, task.role or "")
        if worker is None or info["form"] is None and not info["decision"]:
            continue
        for _ in range(TRIES):
            data = answers(info["form"] or {}, rng, walk.at, staff, walk.unit)
            try:
                if info["decision"]:
                    sign_decision(engine, task.id, data, by=worker, reauthenticated_at=walk.at, now=walk.at)
                else:
                    complete_task(engine, task.id, data, by=worker)
            except ElevflowError:
                continue
            done.steps += 1
            walk.steps_left -= 1
            return True
    return False


def answers(form: dict[str, Any], rng: random.Random, at: datetime, staff: _Staff,
            unit: int) -> dict[str, Any]:
    """Made-up answers to every field of a form, drawn from its choices."""
    day = at.astimezone(STOCKHOLM).date()
    return {key: value for key, schema in form.get("properties", {}).items()
            if (value := _value(schema, rng, day, at, staff, unit)) is not None}


def _value(schema: dict[str, Any], rng: random.Random, day: date, at: datetime, staff: _Staff,
           unit: int) -> Any:
    if "const" in schema:
        return schema["const"]
    if "oneOf" in schema:
        return rng.choice([o["const"] for o in schema["oneOf"] if "const" in o] or [None])
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return {k: v for k, s in schema.get("properties", {}).items()
                if (v := _value(s, rng, day, at, staff, unit)) is not None}
    if kind == "array":
        items = schema.get("items", {})
        count = max(schema.get("minItems", 1), rng.randrange(1, 3))
        if items.get("uniqueItems") or "enum" in items or "oneOf" in items:
            choices = items.get("enum") or [o["const"] for o in items.get("oneOf", []) if "const" in o]
            return rng.sample(choices, min(count, len(choices))) if choices else []
        return [_value(items, rng, day, at, staff, unit) for _ in range(count)]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        if "maximum" in schema:
            return rng.randint(schema.get("minimum", 0), schema["maximum"])
        return staff.any(rng, unit, *sorted(access.EHT_ROLES)) or staff.first(unit, "rektor")  # a colleague
    if kind == "string":
        return _text(schema, rng, day, at)
    return None


def _text(schema: dict[str, Any], rng: random.Random, day: date, at: datetime) -> str | None:
    fmt = schema.get("format")
    if fmt == "date":
        return (day + timedelta(days=30) if "dateAfter" in schema else day).isoformat()
    if fmt == "date-time":
        return at.isoformat()
    if fmt == "email":
        return "vardnadshavare@exempel.invalid"
    if "pattern" in schema:
        if "[0-9]{4}/[0-9]{2}" in schema["pattern"]:  # a school year, e.g. 2025/26
            start = day.year if day.month >= 7 else day.year - 1
            return f"{start}/{(start + 1) % 100:02d}"
        return None
    text = rng.choice(SENTENCES)
    return text[:schema["maxLength"]] if "maxLength" in schema else text


def has_cases(engine: Engine) -> bool:
    with engine.db.read() as session:
        return session.scalar(select(func.count()).select_from(Case)) > 0


def summary_lines(done: Seeded, seconds: float) -> list[str]:
    """What the seeding did, for the demo's printout."""
    routines = ", ".join(f"{k} {v}" for k, v in sorted(done.by_routine.items()))
    return [f"Seeded {done.cases} made-up cases over the past year ({routines}): {done.steps} steps, "
            f"in {seconds:.1f} s. Every name is invented."]
