"""What Elevflow cannot run, found in the XML before any parser sees it, with the reason for each element.

SpiffWorkflow's parser stops at the first construct it rejects, with a message written for programmers
(or without naming the element at all, as for data stores). A process owner importing a diagram from
another modeler needs every element that stands in the way, each with what to do instead. The checks:

1. service tasks (outside systems; Elevflow has no connectors) unless they name a SpiffWorkflow operator;
2. business rule tasks (DMN tables, which Elevflow does not deploy);
3. data stores and their references (outside systems);
4. complex gateways and compensation (SpiffWorkflow cannot run them);
5. global tasks (reusable tasks called from a call activity);
6. conditions on a flow leaving anything but a gateway (SpiffWorkflow needs a gateway to choose).
"""
from __future__ import annotations

from lxml import etree

from .bpmnxml import NS
from .errors import Problem

_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway"}

RULES: list[tuple[str, str]] = [
    ("/descendant::bpmn:serviceTask[not(bpmn:extensionElements/spiffworkflow:serviceTaskOperator)]",
     "a service task calls an outside system, and Elevflow has no connectors: make it a user task "
     "(a person does it) or a script task"),
    ("//bpmn:businessRuleTask",
     "a business rule task evaluates a DMN decision table, which Elevflow does not deploy: let a user "
     "task record the decision and an exclusive gateway act on it"),
    ("//bpmn:dataStore | //bpmn:dataStoreReference",
     "a data store stands for an outside system; Elevflow keeps a case's data in the case: remove it "
     "(data objects are fine)"),
    ("//bpmn:complexGateway",
     "complex gateways cannot run (SpiffWorkflow does not support them): use an exclusive, inclusive "
     "or parallel gateway"),
    ("//bpmn:compensateEventDefinition/.. | /descendant::*[@isForCompensation='true']",
     "compensation cannot run (SpiffWorkflow does not support it): model the undoing as ordinary steps"),
    ("//bpmn:globalTask | //bpmn:globalUserTask | //bpmn:globalScriptTask | //bpmn:globalManualTask "
     "| //bpmn:globalBusinessRuleTask",
     "global tasks cannot run: put the task in the process, or call a process instead"),
]


def unsupported(tree: etree._ElementTree, file_name: str) -> list[Problem]:
    """Every element of one BPMN document that Elevflow cannot run, with the reason and what to do."""
    problems = []
    for xpath, why in RULES:
        for element in tree.xpath(xpath, namespaces=NS):
            problems.append(Problem(why, element_id=element.get("id"), line=element.sourceline,
                                    file=file_name))
    ids = {e.get("id"): e for e in tree.xpath("//bpmn:process/descendant::*[@id]", namespaces=NS)}
    for flow in tree.xpath("/descendant::bpmn:sequenceFlow[bpmn:conditionExpression]",
                           namespaces=NS):
        source = ids.get(flow.get("sourceRef"))
        if source is not None and etree.QName(source).localname not in _GATEWAYS:
            problems.append(Problem("a condition on a flow leaving a task or event cannot run: route the "
                                    "flow through an exclusive gateway and put the condition there",
                                    element_id=flow.get("id"), line=flow.sourceline, file=file_name))
    return problems
