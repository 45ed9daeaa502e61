"""A case's timeline (engine.oversight.visibility.case_timeline: kinds and parameters) said in the reader's
language,
with each gateway's line naming the way the case went: the outgoing flow's name and where it led, read
from the case's own version of the routine."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from elevflow.engine import Engine
from elevflow.engine.oversight.visibility import TimelineEntry
from elevflow.engine.views import casediagram

Flows = dict[tuple[str, str], tuple[str, str, str]]  # casediagram.flows

@dataclass(frozen=True)
class Line:
    at: datetime
    kind: str
    text: str
    actor_name: str


def _quoted(text: Any) -> str:
    return f"”{text}”"


def _way(flows: Flows, gateway: str | None, target: str) -> str:
    flow, name, tag = flows.get((gateway or "", target), ("", "", ""))
    if not name:
        name = _("ärendets slut") if tag == "endEvent" else target
    if flow:
        return _("%(flow)s, vidare till %(target)s", flow=_quoted(flow), target=_quoted(name))
    return _("vidare till %(target)s", target=_quoted(name))


def said(entry: TimelineEntry, flows: Flows) -> str:
    """One entry as a sentence in the reader's language."""
    p = entry.params
    task = _quoted(p.get("task") or "?")
    name = _quoted(p.get("name") or "")
    kind = entry.kind
    if kind == "gateway_taken":
        taken = [_way(flows, p.get("bpmn_id"), t) for t in p.get("taken") or [] if t]
        if taken:
            return _("Vägval %(name)s: %(ways)s", name=name, ways="; ".join(taken))
        return _("Vägval %(name)s", name=name)
    if kind == "assignee_refused":
        if p.get("named_id"):
            named = p.get("named") or _("användare %(id)s", id=p["named_id"])
        else:
            named = p.get("named_value") or _("ingen")
        return _("Uppgiften %(task)s gick inte till den som fältet %(field)s anger (%(named)s), eftersom "
                 "bara den som har uppgiftens roll på skolenheten kan få den. Den väntar på alla som har "
                 "rollen",
                 task=task, field=p.get("field") or "?", named=named)
    if kind == "step_failed":
        if p.get("bpmn_id"):
            return _("Ärendet stannade vid %(at)s: %(message)s", at=_quoted(p["bpmn_id"]),
                     message=p.get("message") or "")
        return _("Ärendet stannade: %(message)s", message=p.get("message") or "")
    if kind == "deadline_escalated":
        to = {"huvudman": _("huvudmannen"), "rektor": _("rektor")}.get(p.get("to") or "", "?")
        return _("Försenad uppgift %(task)s lyftes till %(to)s", task=task, to=to)
    simple = {
        "case_started": _("Ärendet startades"), "case_completed": _("Ärendet avslutades"),
        "case_cancelled": _("Ärendet avbröts"),
        "task_created": _("Uppgiften %(task)s skapades", task=task),
        "task_assigned": _("Uppgiften %(task)s lämnades till %(who)s", task=task, who=p.get("who") or "?"),
        "task_released": _("Uppgiften %(task)s lämnades tillbaka", task=task),
        "task_completed": _("%(task)s slutfördes", task=task),
        "task_cancelled": _("Uppgiften %(task)s avbröts", task=task),
        "timer_fired": _("Tidsgränsen %(name)s löpte ut", name=name),
        "decision_signed": _("Beslutet %(task)s signerades", task=task),
        "case_linked": _("Ett kopplat ärende (%(key)s) startades", key=p.get("key") or ""),
        "deadline_reminder": _("Påminnelse om %(task)s", task=task),
        "medical_released": _("Medicinska uppgifter i %(task)s lämnades ut", task=task),
        # no file name: a file of the medical part is named only in its own list (need-to-know)
        "attachment_added": _("En bilaga lades till"), "attachment_removed": _("En bilaga togs bort"),
        "message_received": _("Meddelandet %(name)s togs emot", name=name),
        "script_ran": _("Steget %(name)s kördes", name=name),
        "message_thrown": _("Meddelandet %(name)s skickades till andra ärenden", name=name),
        "signal_thrown": _("Signalen %(name)s sändes till andra ärenden", name=name),
        "message_sent": _("Steget %(name)s skickade ett meddelande till sin roll", name=name),
        "case_failed": _("Ärendet avslutades med ett fel som ingen del av rutinen fångade (%(name)s)",
                         name=p.get("error") or p.get("error_code") or p.get("bpmn_id") or "?"),
        "case_migrated": _("Ärendet flyttades från version %(old)s till version %(new)s av rutinen",
                           old=p.get("from_version") or "?", new=p.get("to_version") or "?"),
    }
    return simple.get(kind, kind)


def lines(engine: Engine, entries: list[TimelineEntry], version_id: int) -> list[Line]:
    """The timeline's entries, said; `version_id` is the case's routine version (its gateways' flows)."""
    flows = casediagram.flows(engine, version_id) if any(e.kind == "gateway_taken" for e in entries) else {}
    return [Line(e.at, e.kind, said(e, flows), e.actor_name or "Elevflow") for e in entries]
