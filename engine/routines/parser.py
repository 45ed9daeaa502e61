"""SpiffWorkflow's BPMN parser, with its two whole-document XPath look-ups made linear.

libxml2 evaluates ``.//*[@id]`` (``//`` followed by a step with a predicate) in time quadratic in the
document's size: a diagram of a few thousand elements took minutes to check. The same nodes come from
``descendant::*[@id]`` in one pass. It also marks the start events of interrupting event subprocesses
(`INTERRUPTING`). Everything else is SpiffWorkflow's own (SpiffBpmnParser).
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.util import first
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser, SpiffProcessParser

#: Set (True) on the spec of an event subprocess's start event that interrupts its process (BPMN's default):
#: SpiffWorkflow does not act on it; engine/runtime/interrupting.py does.
INTERRUPTING = "elevflow_interrupting"


class _ProcessParser(SpiffProcessParser):
    def parse_node(self, node: Any) -> Any:
        spec = super().parse_node(node)
        if (node.tag.endswith("}startEvent") and self.node.get("triggeredByEvent") == "true"
                and node.get("isInterrupting", "true") != "false"):
            setattr(spec, INTERRUPTING, True)
        return spec

    def _index_process_nodes(self) -> None:
        for node in self.xpath("descendant::*[@id]"):  # SpiffWorkflow's: './/*[@id]'
            node_id = node.get("id")
            if node_id is not None:
                self.nodes_by_id[node_id] = node
            if node.tag.endswith("sequenceFlow"):
                self.outgoing_sequence_flows.setdefault(node.get("sourceRef"), []).append(node)
            elif node.tag.endswith("boundaryEvent"):
                self.boundary_events_by_attached.setdefault(node.get("attachedToRef"), []).append(node)
            elif node.tag.endswith("dataObjectReference"):
                self.data_object_references[node_id] = node
            elif node.tag.endswith("dataStoreReference"):
                self.data_store_references[node_id] = node


class ElevflowParser(SpiffBpmnParser):
    PROCESS_PARSER_CLASS = _ProcessParser

    def _add_diagram_indexes(self, bpmn: Any) -> None:
        document_key = self._document_key(bpmn)
        if document_key in self.document_lanes:
            return
        lanes = {}
        for flow_node_ref in bpmn.xpath("descendant::bpmn:flowNodeRef", namespaces=self.namespaces):
            if flow_node_ref.text is not None:
                lanes[flow_node_ref.text] = flow_node_ref.getparent().get("name")
        positions = {}
        shapes = bpmn.xpath("descendant::bpmndi:BPMNShape[@bpmnElement]", namespaces=self.namespaces)
        for shape in shapes:  # SpiffWorkflow's: './/bpmndi:BPMNShape[@bpmnElement]'
            bounds = first(shape.xpath("descendant::dc:Bounds", namespaces=self.namespaces))
            if bounds is not None:
                positions[shape.get("bpmnElement")] = {"x": float(bounds.get("x", 0)),
                                                       "y": float(bounds.get("y", 0))}
        self.document_lanes[document_key] = lanes
        self.document_positions[document_key] = positions
