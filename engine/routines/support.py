"""What Elevflow cannot run, found in the XML before any parser sees it, with the reason for each element.

SpiffWorkflow's parser stops at the first construct it rejects, with a message written for programmers
(or without naming the element at all, as for data stores). A process owner importing a diagram from
another modeler needs every element that stands in the way, each with what to do instead. The checks:

1. service tasks (outside systems; Elevflow has no connectors) unless they name a SpiffWorkflow operator;
2. business rule tasks (DMN tables, which Elevflow does not deploy);
3. data stores and their references (outside systems);
4. complex gateways and compensation (SpiffWorkflow cannot run them);
5. global tasks (reusable tasks called from a call activity);
6. conditions on a flow leaving anything but a gateway (SpiffWorkflow needs a gateway to choose);
7. ad-hoc subprocesses (their steps in any order, as people choose: Elevflow's task lists cannot offer
   that choice);
8. link events (SpiffWorkflow does not join a link's throw to its catch: the case would stop there);
9. conditional events (checked only as the case reaches them; nothing wakes one whose condition is false).
"""
from __future__ import annotations

from lxml import etree

from ..errors import Problem
from .bpmnxml import NS

_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway"}

#: (the elements, the code of elevflow.engine.codes that says why they cannot run and what to do instead)
RULES: list[tuple[str, str]] = [
    ("/descendant::bpmn:serviceTask[not(bpmn:extensionElements/spiffworkflow:serviceTaskOperator)]",
     "unsupported.service_task"),
    ("//bpmn:businessRuleTask", "unsupported.business_rule_task"),
    ("//bpmn:dataStore | //bpmn:dataStoreReference", "unsupported.data_store"),
    ("//bpmn:complexGateway", "unsupported.complex_gateway"),
    ("//bpmn:compensateEventDefinition/.. | /descendant::*[@isForCompensation='true']",
     "unsupported.compensation"),
    ("//bpmn:globalTask | //bpmn:globalUserTask | //bpmn:globalScriptTask | //bpmn:globalManualTask "
     "| //bpmn:globalBusinessRuleTask", "unsupported.global_task"),
    ("//bpmn:adHocSubProcess", "unsupported.ad_hoc_subprocess"),
    ("//bpmn:linkEventDefinition/..", "unsupported.link_event"),
    ("//bpmn:conditionalEventDefinition/..", "unsupported.conditional_event"),
]


def unsupported(tree: etree._ElementTree, file_name: str) -> list[Problem]:
    """Every element of one BPMN document that Elevflow cannot run, with the reason and what to do."""
    problems = []
    for xpath, code in RULES:
        for element in tree.xpath(xpath, namespaces=NS):
            problems.append(Problem(code, element_id=element.get("id"), line=element.sourceline,
                                    file=file_name))
    ids = {e.get("id"): e for e in tree.xpath("//bpmn:process/descendant::*[@id]", namespaces=NS)}
    for flow in tree.xpath("/descendant::bpmn:sequenceFlow[bpmn:conditionExpression]",
                           namespaces=NS):
        source = ids.get(flow.get("sourceRef"))
        if source is not None and etree.QName(source).localname not in _GATEWAYS:
            problems.append(Problem("unsupported.flow_condition", element_id=flow.get("id"),
                                    line=flow.sourceline, file=file_name))
    return problems
