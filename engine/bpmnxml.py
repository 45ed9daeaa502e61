"""Reading BPMN XML safely: no DTDs, no entities, no network, and line numbers kept for error messages."""
from __future__ import annotations

import re

from lxml import etree

from .errors import Problem

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_pis=True)


def parse(text: str | bytes, file_name: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse one BPMN document; return the tree, or None and the problems that stop it."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    doctype = _DOCTYPE.search(data)
    if doctype:  # refused before any parser sees it: no entity is ever expanded or fetched
        return None, [Problem("a DOCTYPE declaration (and so any entity) is not allowed in BPMN files",
                              line=data.count(b"\n", 0, doctype.start()) + 1, file=file_name)]
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        return None, [Problem(f"malformed XML: {exc.msg}", line=exc.lineno, file=file_name)]
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        return None, [Problem("a DOCTYPE declaration (and so any entity) is not allowed in BPMN files",
                              line=1, file=file_name)]
    if tree.getroot().tag != f"{{{NS['bpmn']}}}definitions":
        return None, [Problem("the root element is not bpmn:definitions (is this a BPMN 2.0 file?)",
                              line=tree.getroot().sourceline, file=file_name)]
    return tree, []


def line_of(tree: etree._ElementTree, element_id: str | None) -> int | None:
    """The line an element with this id starts on, if there is one."""
    if not element_id:
        return None
    found = tree.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def executable_process_ids(tree: etree._ElementTree) -> list[str]:
    return [p.get("id") for p in tree.xpath("//bpmn:process[@isExecutable='true']", namespaces=NS)]


def process_ids(tree: etree._ElementTree) -> list[str]:
    return [p.get("id") for p in tree.xpath("//bpmn:process", namespaces=NS)]


def process_properties(tree: etree._ElementTree, process_id: str) -> dict[str, etree._Element]:
    """The `spiffworkflow:property` elements on a process itself (not on its tasks), by name."""
    found = tree.xpath("//bpmn:process[@id=$id]/bpmn:extensionElements/spiffworkflow:properties/"
                       "spiffworkflow:property", id=process_id, namespaces=NS)
    return {p.get("name"): p for p in found if p.get("name")}


def embedded_subprocess_ids(tree: etree._ElementTree) -> list[str]:
    """The ids of the embedded subprocesses (SpiffWorkflow builds a spec for each, under that id)."""
    return [p.get("id") for p in tree.xpath("//bpmn:subProcess | //bpmn:transaction", namespaces=NS)]


def enclosing_id(element: etree._Element) -> str | None:
    """The id of the nearest BPMN element holding this one (an expression sits inside its flow or task)."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None
