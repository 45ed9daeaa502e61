"""What changed between two versions of a routine, element by element, for people to read.

The diagram's elements are compared by id: an element is *added* or *removed* when its id is only on one
side, *changed* when what it says differs (its name, attributes, condition, timer, extensions such as the
lane's role or the task's form and due rule, or the flows it connects). The layout (bpmndi) is left out:
moving a shape changes nothing a case does. Forms are compared by file name and content.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..errors import ConflictError
from . import bpmnxml
from .editing import get_version, main_file_of

_DI = ("http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
       "http://www.omg.org/spec/DD/20100524/DI")


@dataclass
class ElementChange:
    id: str
    kind: str  # the element's BPMN type, e.g. userTask
    name: str
    what: list[str] = field(default_factory=list)  # for a changed element: which parts changed


@dataclass
class VersionDiff:
    old: int  # version numbers
    new: int
    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]
    forms_added: list[str]
    forms_removed: list[str]
    forms_changed: list[str]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.forms_added or self.forms_removed
                    or self.forms_changed)


def _elements(xml: str) -> dict[str, tuple[etree._Element, dict[str, Any]]]:
    """Every identified semantic element, with what it says (its attributes and its non-identified
    content; identified children are compared on their own)."""
    tree, problems = bpmnxml.parse(xml, "diagram")
    if tree is None:
        raise ConflictError("conflict.version_unreadable", problem=problems[0].coded)
    found = {}
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.get("id") is None:
            continue
        if etree.QName(element).namespace in _DI or element is tree.getroot():
            continue
        found[element.get("id")] = (element, _signature(element))
    return found


def _signature(element: etree._Element) -> dict[str, Any]:
    parts: dict[str, Any] = {"attributes": dict(sorted(element.attrib.items()))}
    for child in element:
        if not isinstance(child.tag, str) or child.get("id") is not None:
            continue
        label = etree.QName(child).localname
        if label in ("incoming", "outgoing", "flowNodeRef"):
            parts.setdefault(label, []).append((child.text or "").strip())
            continue
        stripped = copy.deepcopy(child)
        for sub in list(stripped.iter()):
            if sub is not stripped and isinstance(sub.tag, str) and sub.get("id") is not None:
                sub.getparent().remove(sub)
        text = etree.tostring(stripped, encoding="unicode", with_tail=False)
        parts.setdefault(label, []).append(" ".join(text.split()))
    for key in ("incoming", "outgoing", "flowNodeRef"):
        if key in parts:
            parts[key] = sorted(parts[key])
    return parts


def _describe(element: etree._Element) -> ElementChange:
    return ElementChange(element.get("id"), etree.QName(element).localname, element.get("name") or "")


def diff_xml(old_xml: str, new_xml: str) -> tuple[list[ElementChange], list[ElementChange],
                                                   list[ElementChange]]:
    """(added, removed, changed) elements between two BPMN documents."""
    old, new = _elements(old_xml), _elements(new_xml)
    added = [_describe(new[i][0]) for i in new if i not in old]
    removed = [_describe(old[i][0]) for i in old if i not in new]
    changed = []
    for element_id in old.keys() & new.keys():
        (_, before), (element, after) = old[element_id], new[element_id]
        if before != after:
            change = _describe(element)
            for part in sorted(before.keys() | after.keys()):
                if part == "attributes":
                    change.what += [name.split("}")[-1] for name in sorted(
                        before["attributes"].keys() | after["attributes"].keys())
                        if before["attributes"].get(name) != after["attributes"].get(name)]
                elif before.get(part) != after.get(part):
                    change.what.append(part)
            changed.append(change)
    order = {element_id: n for n, element_id in enumerate(new)} | {
        element_id: n for n, element_id in enumerate(old)}
    return added, removed, sorted(changed, key=lambda c: order.get(c.id, 0))


def compare(engine: Any, old_version_id: int, new_version_id: int) -> VersionDiff:
    """The diff between two versions of the same routine (main BPMN file and forms)."""
    old, new = get_version(engine, old_version_id), get_version(engine, new_version_id)
    if old.key != new.key:
        raise ConflictError("conflict.different_routines", old=str(old_version_id), new=str(new_version_id))
    added, removed, changed = diff_xml(old.files[main_file_of(old.files, old.key)],
                                       new.files[main_file_of(new.files, new.key)])

    def canonical(schema: Any) -> str:
        return json.dumps(schema, sort_keys=True, ensure_ascii=False)

    return VersionDiff(
        old=old.version, new=new.version, added=added, removed=removed, changed=changed,
        forms_added=sorted(new.forms.keys() - old.forms.keys()),
        forms_removed=sorted(old.forms.keys() - new.forms.keys()),
        forms_changed=sorted(n for n in old.forms.keys() & new.forms.keys()
                             if canonical(old.forms[n]) != canonical(new.forms[n])))
