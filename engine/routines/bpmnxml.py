"""Reading BPMN XML safely: no DTDs, no entities, no network, and line numbers kept for error messages.

XPath here never combines ``//`` with a predicate (``//*[@id]``): libxml2 evaluates that in time quadratic
in the document's size; ``descendant::*[@id]`` selects the same nodes in one pass.
"""
from __future__ import annotations

import codecs
import re

from lxml import etree

from ..errors import Problem

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_pis=True)


_BOMS = [(codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
_DECLARATION = re.compile(r"""\s*<\?xml\b[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1""")


def decode(data: bytes, file_name: str) -> tuple[str | None, list[Problem]]:
    """A BPMN file's bytes as text, in the encoding its byte order mark or XML declaration names (UTF-8
    when neither does); its declaration then says UTF-8, as the text is stored and parsed from now on.
    An encoding Python does not know, or bytes that are not valid in it, are a problem, never a crash."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if codec is None and data[:4] in (b"<\x00?\x00", b"\x00<\x00?"):  # UTF-16 without a byte order mark
        codec = "utf-16-le" if data[:1] == b"<" else "utf-16-be"
    if codec is None:
        declared = _DECLARATION.match(data[:500].decode("ascii", "replace"))
        codec = declared.group(2).strip() if declared else "utf-8"
        try:
            codecs.lookup(codec)
        except LookupError:
            return None, [Problem("xml.unknown_encoding", {"codec": codec}, line=1, file=file_name)]
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 if codec.lower().replace("-", "") in {"utf8", "utf8sig"} \
            else None
        return None, [Problem("xml.bad_encoding", {"codec": codec, "byte": exc.start},
                              line=line, file=file_name)]
    return as_utf8(text.lstrip("\ufeff")), []


def as_utf8(text: str) -> str:
    """The text with its XML declaration (if it names an encoding) saying UTF-8."""
    declared = _DECLARATION.match(text)
    if declared is None or declared.group(2).strip().lower() in {"utf-8", "utf8"}:
        return text
    return text[:declared.start(2)] + "UTF-8" + text[declared.end(2):]


def parse(text: str | bytes, file_name: str) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse one BPMN document (text, or bytes in any encoding `decode` reads); return the tree, or None
    and the problems that stop it."""
    if isinstance(text, bytes):
        decoded, problems = decode(text, file_name)
        if decoded is None:
            return None, problems
        text = decoded
    data = as_utf8(text).encode("utf-8")
    doctype = _DOCTYPE.search(data)
    if doctype:  # refused before any parser sees it: no entity is ever expanded or fetched
        return None, [Problem("xml.doctype", line=data.count(b"\n", 0, doctype.start()) + 1, file=file_name)]
    try:
        tree = etree.ElementTree(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:
        return None, [Problem("xml.malformed", {"detail": exc.msg}, line=exc.lineno, file=file_name)]
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        return None, [Problem("xml.doctype", line=1, file=file_name)]
    if tree.getroot().tag != f"{{{NS['bpmn']}}}definitions":
        return None, [Problem("xml.not_bpmn", line=tree.getroot().sourceline, file=file_name)]
    return tree, []


def line_index(tree: etree._ElementTree) -> dict[str, int]:
    """The line each element with an id starts on (the first, if an id repeats), in one pass."""
    lines: dict[str, int] = {}
    for element in tree.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id is not None and element.sourceline is not None:
            lines.setdefault(element_id, element.sourceline)
    return lines


def line_of(tree: etree._ElementTree, element_id: str | None) -> int | None:
    """The line an element with this id starts on, if there is one (a pass over the tree: to look up
    many, make a `line_index` once)."""
    return line_index(tree).get(element_id) if element_id else None


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
    return [p.get("id") for p in tree.xpath("//bpmn:subProcess | //bpmn:transaction | //bpmn:adHocSubProcess",
                                            namespaces=NS)]


def enclosing_id(element: etree._Element) -> str | None:
    """The id of the nearest BPMN element holding this one (an expression sits inside its flow or task)."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None
