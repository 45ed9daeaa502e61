"""What the case page shows besides the engine's CaseView: the routine's diagram and where the case is in it.

The page itself goes through `engine.visibility.open_case` (which logs the look); these helpers are called
only after it, or after `can_view_case`, and read nothing about the pupil.
"""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from engine import audit
from engine.models import Case, DecisionRecord, ProcessVersion
from engine.specs import ParsedVersion
from engine.store import Database
from engine.visibility import CaseView

#: Audit events whose `bpmn_id` marks an element the case has passed.
PASSED = ("task_completed", "gateway_taken", "timer_fired")


def diagram_xml(db: Database, case_id: int) -> str | None:
    """The BPMN XML of the case's own process version (the file that holds its executable process)."""
    with db.read() as session:
        row = session.execute(select(ProcessVersion.key, ProcessVersion.files)
                              .join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.id == case_id)).first()
    if row is None or not row.files:
        return None
    key, files = row
    own = re.compile(r'<(?:\w+:)?process\b[^>]*\bid="' + re.escape(key) + '"')
    for name in sorted(files):
        if own.search(files[name]):
            return str(files[name])
    return str(files[sorted(files)[0]])


def completed_ids(db: Database, case_id: int) -> list[str]:
    """The elements the case has passed, from its audit trail: completed tasks, taken gateways, fired
    timers (in order, each once)."""
    seen: dict[str, None] = {}
    for event in audit.events(db, case_id=case_id, limit=100_000):
        bpmn_id = event.data.get("bpmn_id") if event.kind in PASSED else None
        if bpmn_id:
            seen[str(bpmn_id)] = None
    return list(seen)


def current_ids(view: CaseView) -> list[str]:
    """The elements the case waits on now: its open tasks."""
    return list(dict.fromkeys(t.bpmn_id for t in view.tasks if t.state == "ready"))


def decision_case(db: Database, decision_id: int) -> int | None:
    """Which case a signed decision belongs to (its address names the case; the two must agree)."""
    with db.read() as session:
        return session.scalar(select(DecisionRecord.case_id).where(DecisionRecord.id == decision_id))


def readable(parsed: ParsedVersion, bpmn_id: str, data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A completed task's data as (label, text) pairs in its form's order, labelled with the form's field
    titles (a key the form does not know keeps its own name)."""
    if not data:
        return []
    meta = parsed.user_tasks().get(bpmn_id)
    schema = parsed.forms.get(meta.form, {}) if meta and meta.form else {}
    properties = schema.get("properties") or {}
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    return [(str(properties.get(k, {}).get("title") or k), _text(properties.get(k, {}), data[k]))
            for k in keys]


def _text(schema: dict[str, Any], value: Any) -> str:
    """One value as text: yes/no, a choice's title, a list one item per line, a row as "title: value"."""
    if isinstance(value, bool):
        return _("Ja") if value else _("Nej")
    if isinstance(value, list):
        item = schema.get("items") or {}
        return "\n".join(_text(item, v) for v in value)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        return "; ".join(f"{properties.get(k, {}).get('title') or k}: {_text(properties.get(k, {}), v)}"
                         for k, v in value.items())
    for branch in schema.get("oneOf") or schema.get("anyOf") or []:
        if isinstance(branch, dict) and branch.get("const") == value and branch.get("title"):
            return str(branch["title"])
    return str(value)
