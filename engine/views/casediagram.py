"""A case's routine as its diagram shows it: the BPMN XML of the case's own version, and where the case
stands in it — the elements it has passed (from its audit trail) and the tasks it waits on.

Only for those who may see the case (`visibility.can_view_case`; anyone else gets NotVisibleError, the same
answer as for a case that does not exist). These read nothing about the pupil and write no access-log row:
the page that shows them has logged its look through `visibility.open_case`.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..oversight import visibility
from ..oversight.visibility import CaseView, NotVisibleError
from ..routines import bpmnxml
from ..routines.bpmnxml import NS
from ..storage import audit
from ..storage.models import Case, ProcessVersion

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine

#: Audit events whose `bpmn_id` marks an element the case has passed.
PASSED = ("task_completed", "gateway_taken", "timer_fired")


def _check(engine: Engine, user_id: int, case_id: int) -> None:
    if not visibility.can_view_case(engine, user_id, case_id):
        raise NotVisibleError(f"case {case_id} does not exist or is not yours to see")


def diagram_xml(engine: Engine, user_id: int, case_id: int) -> str | None:
    """The BPMN XML of the case's own process version (the file that holds its executable process);
    None when the version holds no file."""
    _check(engine, user_id, case_id)
    with engine.db.read() as session:
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


def passed_elements(engine: Engine, user_id: int, case_id: int) -> list[str]:
    """The elements the case has passed, from its audit trail: completed tasks, taken gateways, fired
    timers (in order, each once)."""
    _check(engine, user_id, case_id)
    seen: dict[str, None] = {}
    for event in audit.events(engine, case_id=case_id, limit=100_000):
        bpmn_id = event.data.get("bpmn_id") if event.kind in PASSED else None
        if bpmn_id:
            seen[str(bpmn_id)] = None
    return list(seen)


def waiting_elements(view: CaseView) -> list[str]:
    """The elements the case waits on now: its open tasks (of a case the user has opened)."""
    return list(dict.fromkeys(t.bpmn_id for t in view.tasks if t.state == "ready"))


def flows(engine: Engine, version_id: int) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Every sequence flow of a process version's files, by (source id, target id): the flow's name, the
    target's name and the target's element kind (e.g. `endEvent`), names stripped. A case's timeline says
    with it which way a gateway sent the case. Read once per version and kept with its parsed version
    (versions never change once published)."""
    parsed = engine.specs.get(version_id)
    if parsed._flows is None:
        with engine.db.read() as session:
            files = session.scalar(select(ProcessVersion.files).where(ProcessVersion.id == version_id)) or {}
        found: dict[tuple[str, str], tuple[str, str, str]] = {}
        for name, text in sorted(files.items()):
            tree, _problems = bpmnxml.parse(text, name)
            if tree is None:
                continue
            named = {e.get("id"): ((e.get("name") or "").strip(), e.tag.rsplit("}", 1)[-1])
                     for e in tree.xpath("descendant::*[@id]")}
            for flow in tree.xpath("descendant::bpmn:sequenceFlow", namespaces=NS):
                target = flow.get("targetRef") or ""
                target_name, tag = named.get(target, ("", ""))
                found[(flow.get("sourceRef") or "", target)] = ((flow.get("name") or "").strip(), target_name,
                                                               tag)
        parsed._flows = found
    return parsed._flows
