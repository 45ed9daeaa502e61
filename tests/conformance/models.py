"""Small BPMN models, one BPMN feature each, as a process owner draws them in bpmn.io.

Each model is the body of one executable process (`model` wraps it in a definitions element with every
flow node in the lane Lärare). The user tasks use no form; times are ISO 8601 as bpmn.io writes them
(quoted, as SpiffWorkflow evaluates them as expressions).
"""

from __future__ import annotations

import re

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_c" targetNamespace="http://elevflow.se/conformance">
"""


def model(key: str, body: str, extra: str = "") -> str:
    """A definitions document with one executable process `key` holding `body`, all its flow nodes in the
    lane Lärare; `extra` goes beside the process (messages, signals, errors, escalations)."""
    ids = re.findall(r'<bpmn:(?:\w*[tT]ask|subProcess|transaction|callActivity)\s+id="([^"]+)"', body)
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
    return (
        f'{HEAD}{extra}<bpmn:process id="{key}" name="{key}" isExecutable="true">'
        f'<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="Lärare">{refs}</bpmn:lane>'
        f"</bpmn:laneSet>{body}</bpmn:process></bpmn:definitions>"
    )


def flow(source: str, target: str, condition: str | None = None, fid: str | None = None) -> str:
    fid = fid or f"Flow_{source}_{target}"
    if condition is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def task(tid: str, name: str | None = None) -> str:
    return f'<bpmn:userTask id="{tid}" name="{name or tid}"/>'


def chain(*nodes: str) -> str:
    """Sequence flows between consecutive element ids."""
    return "".join(flow(a, b) for a, b in zip(nodes, nodes[1:], strict=False))


def timer(kind: str, value: str) -> str:
    return (
        f'<bpmn:timerEventDefinition><bpmn:{kind} xsi:type="bpmn:tFormalExpression">"{value}"'
        f"</bpmn:{kind}></bpmn:timerEventDefinition>"
    )


START, END = '<bpmn:startEvent id="Begin"/>', '<bpmn:endEvent id="Finish"/>'

MODELS: dict[str, str] = {}


def _add(key: str, body: str, extra: str = "") -> None:
    MODELS[key] = model(key, body, extra)


_add("user_task", START + task("Task_a") + END + chain("Begin", "Task_a", "Finish"))
_add(
    "manual_task",
    START + '<bpmn:manualTask id="Task_a" name="Ring"/>' + END + chain("Begin", "Task_a", "Finish"),
)
_add(
    "script_task",
    START
    + '<bpmn:scriptTask id="Script_a"><bpmn:script>x = 2</bpmn:script></bpmn:scriptTask>'
    + task("Task_a")
    + END
    + chain("Begin", "Script_a", "Task_a", "Finish"),
)
_add(
    "exclusive_gateway",
    START
    + task("Task_a")
    + '<bpmn:exclusiveGateway id="Gw" default="Flow_no"/>'
    + task("Task_yes")
    + '<bpmn:endEvent id="End_no"/>'
    + END
    + chain("Begin", "Task_a", "Gw")
    + flow("Gw", "Task_yes", "svar == 'ja'")
    + flow("Gw", "End_no", fid="Flow_no")
    + chain("Task_yes", "Finish"),
)
_add(
    "parallel_gateway",
    START
    + '<bpmn:parallelGateway id="Split"/>'
    + task("Task_a")
    + task("Task_b")
    + '<bpmn:parallelGateway id="Join"/>'
    + END
    + chain("Begin", "Split")
    + chain("Split", "Task_a", "Join")
    + chain("Split", "Task_b", "Join")
    + chain("Join", "Finish"),
)
_add(
    "inclusive_gateway",
    START
    + '<bpmn:inclusiveGateway id="Split" default="Flow_d"/>'
    + task("Task_a")
    + task("Task_b")
    + '<bpmn:inclusiveGateway id="Join"/>'
    + END
    + chain("Begin", "Split")
    + flow("Split", "Task_a", "True")
    + flow("Split", "Task_b", "False", fid="Flow_d")
    + chain("Task_a", "Join")
    + chain("Task_b", "Join")
    + chain("Join", "Finish"),
)
_add(
    "embedded_subprocess",
    START
    + '<bpmn:subProcess id="Sub"><bpmn:startEvent id="Sub_start"/>'
    + task("Task_in")
    + '<bpmn:endEvent id="Sub_end"/>'
    + chain("Sub_start", "Task_in", "Sub_end")
    + "</bpmn:subProcess>"
    + END
    + chain("Begin", "Sub", "Finish"),
)
_add(
    "transaction",
    START
    + '<bpmn:transaction id="Tx"><bpmn:startEvent id="Tx_start"/>'
    + task("Task_in")
    + '<bpmn:endEvent id="Tx_end"/>'
    + chain("Tx_start", "Task_in", "Tx_end")
    + "</bpmn:transaction>"
    + END
    + chain("Begin", "Tx", "Finish"),
)
_add(
    "event_subprocess_interrupting",
    START
    + task("Task_a")
    + END
    + chain("Begin", "Task_a", "Finish")
    + '<bpmn:subProcess id="Esp" triggeredByEvent="true">'
    + '<bpmn:startEvent id="Esp_start" isInterrupting="true">'
    + timer("timeDuration", "P2D")
    + '</bpmn:startEvent><bpmn:endEvent id="Esp_end"/>'
    + chain("Esp_start", "Esp_end")
    + "</bpmn:subProcess>",
)
_add(
    "event_subprocess_non_interrupting",
    START
    + task("Task_a")
    + END
    + chain("Begin", "Task_a", "Finish")
    + '<bpmn:subProcess id="Esp" triggeredByEvent="true">'
    + '<bpmn:startEvent id="Esp_start" isInterrupting="false">'
    + timer("timeDuration", "P2D")
    + "</bpmn:startEvent>"
    + task("Task_late")
    + '<bpmn:endEvent id="Esp_end"/>'
    + chain("Esp_start", "Task_late", "Esp_end")
    + "</bpmn:subProcess>",
)
_add(
    "boundary_timer",
    START
    + task("Task_a")
    + END
    + '<bpmn:endEvent id="End_late"/>'
    + '<bpmn:boundaryEvent id="Late" attachedToRef="Task_a">'
    + timer("timeDuration", "P3D")
    + "</bpmn:boundaryEvent>"
    + chain("Begin", "Task_a", "Finish")
    + chain("Late", "End_late"),
)
_add(
    "boundary_timer_non_interrupting",
    START
    + task("Task_a")
    + END
    + task("Task_remind")
    + '<bpmn:endEvent id="End_r"/>'
    + '<bpmn:boundaryEvent id="Remind" attachedToRef="Task_a" cancelActivity="false">'
    + timer("timeDuration", "P3D")
    + "</bpmn:boundaryEvent>"
    + chain("Begin", "Task_a", "Finish")
    + chain("Remind", "Task_remind", "End_r"),
)
_add(
    "intermediate_timer",
    START
    + '<bpmn:intermediateCatchEvent id="Wait">'
    + timer("timeDuration", "P1D")
    + "</bpmn:intermediateCatchEvent>"
    + task("Task_a")
    + END
    + chain("Begin", "Wait", "Task_a", "Finish"),
)
_add(
    "timer_date",
    START
    + '<bpmn:intermediateCatchEvent id="Wait">'
    + timer("timeDate", "2026-03-05T08:00:00+00:00")
    + "</bpmn:intermediateCatchEvent>"
    + task("Task_a")
    + END
    + chain("Begin", "Wait", "Task_a", "Finish"),
)
_add(
    "timer_cycle",
    START
    + task("Task_a")
    + END
    + task("Task_tick")
    + '<bpmn:endEvent id="End_t"/>'
    + '<bpmn:boundaryEvent id="Tick" attachedToRef="Task_a" cancelActivity="false">'
    + timer("timeCycle", "R3/P1D")
    + "</bpmn:boundaryEvent>"
    + '<bpmn:scriptTask id="Count"><bpmn:script>tick = 1</bpmn:script></bpmn:scriptTask>'
    + chain("Begin", "Task_a", "Finish")
    + chain("Tick", "Count", "End_t"),
)
_add(
    "event_based_gateway_timer",
    START
    + '<bpmn:eventBasedGateway id="Gw"/>'
    + '<bpmn:intermediateCatchEvent id="Answer"><bpmn:messageEventDefinition messageRef="Msg_answer"/>'
    '</bpmn:intermediateCatchEvent><bpmn:intermediateCatchEvent id="Timeout">'
    + timer("timeDuration", "P5D")
    + "</bpmn:intermediateCatchEvent>"
    + task("Task_late")
    + '<bpmn:endEvent id="End_answer"/>'
    + END
    + chain("Begin", "Gw")
    + chain("Gw", "Answer", "End_answer")
    + chain("Gw", "Timeout", "Task_late", "Finish"),
    '<bpmn:message id="Msg_answer" name="svar"/>',
)
_add(
    "receive_task",
    START
    + '<bpmn:receiveTask id="Receive" messageRef="Msg_doc"/>'
    + END
    + chain("Begin", "Receive", "Finish"),
    '<bpmn:message id="Msg_doc" name="dokument"/>',
)
_add(
    "message_catch",
    START + '<bpmn:intermediateCatchEvent id="Catch"><bpmn:messageEventDefinition '
    'messageRef="Msg_doc"/></bpmn:intermediateCatchEvent>' + END + chain("Begin", "Catch", "Finish"),
    '<bpmn:message id="Msg_doc" name="dokument"/>',
)
_add(
    "multi_instance_parallel",
    START + '<bpmn:userTask id="Task_mi" name="Var och en">'
    "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>" + END + chain("Begin", "Task_mi", "Finish"),
)
_add(
    "multi_instance_sequential",
    START + '<bpmn:userTask id="Task_mi" name="En i taget">'
    '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    "<bpmn:loopCardinality>2</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>" + END + chain("Begin", "Task_mi", "Finish"),
)
_add(
    "standard_loop",
    START + '<bpmn:scriptTask id="Script_a"><bpmn:standardLoopCharacteristics loopMaximum="3">'
    "<bpmn:loopCondition>False</bpmn:loopCondition></bpmn:standardLoopCharacteristics>"
    "<bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>"
    + task("Task_a")
    + END
    + chain("Begin", "Script_a", "Task_a", "Finish"),
)
_add(
    "boundary_error",
    START + '<bpmn:subProcess id="Sub"><bpmn:startEvent id="Sub_start"/>'
    '<bpmn:endEvent id="Sub_err"><bpmn:errorEventDefinition errorRef="Err_1"/></bpmn:endEvent>'
    + chain("Sub_start", "Sub_err")
    + "</bpmn:subProcess>"
    + '<bpmn:boundaryEvent id="Caught" attachedToRef="Sub">'
    '<bpmn:errorEventDefinition errorRef="Err_1"/></bpmn:boundaryEvent>'
    + task("Task_fix")
    + END
    + '<bpmn:endEvent id="End_ok"/>'
    + chain("Begin", "Sub", "End_ok")
    + chain("Caught", "Task_fix", "Finish"),
    '<bpmn:error id="Err_1" name="saknas" errorCode="saknas"/>',
)
_add(
    "boundary_escalation",
    START + '<bpmn:subProcess id="Sub"><bpmn:startEvent id="Sub_start"/>'
    '<bpmn:intermediateThrowEvent id="Raise"><bpmn:escalationEventDefinition escalationRef="Esc_1"/>'
    "</bpmn:intermediateThrowEvent>"
    + task("Task_in")
    + '<bpmn:endEvent id="Sub_end"/>'
    + chain("Sub_start", "Raise", "Task_in", "Sub_end")
    + "</bpmn:subProcess>"
    + '<bpmn:boundaryEvent id="Escalated" attachedToRef="Sub" cancelActivity="false">'
    '<bpmn:escalationEventDefinition escalationRef="Esc_1"/></bpmn:boundaryEvent>'
    + task("Task_rektor")
    + '<bpmn:endEvent id="End_esc"/>'
    + END
    + chain("Begin", "Sub", "Finish")
    + chain("Escalated", "Task_rektor", "End_esc"),
    '<bpmn:escalation id="Esc_1" name="till_rektor" escalationCode="till_rektor"/>',
)
_add(
    "terminate_end",
    START
    + '<bpmn:parallelGateway id="Split"/>'
    + task("Task_a")
    + task("Task_b")
    + '<bpmn:endEvent id="Stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>'
    + END
    + chain("Begin", "Split")
    + chain("Split", "Task_a", "Stop")
    + chain("Split", "Task_b", "Finish"),
)
_add(
    "uncaught_error_end",
    START + task("Task_a") + '<bpmn:endEvent id="Err_end">'
    '<bpmn:errorEventDefinition errorRef="Err_1"/></bpmn:endEvent>' + chain("Begin", "Task_a", "Err_end"),
    '<bpmn:error id="Err_1" name="avbrott" errorCode="avbrott"/>',
)
_add(
    "send_task",
    START
    + task("Task_a")
    + '<bpmn:sendTask id="Send" name="Påminn lanen"/>'
    + END
    + chain("Begin", "Task_a", "Send", "Finish"),
)
_add(
    "call_activity",
    START
    + '<bpmn:callActivity id="Call" calledElement="conformance_called"/>'
    + END
    + chain("Begin", "Call", "Finish"),
)
_add(
    "message_throw_to_case",
    START + '<bpmn:intermediateThrowEvent id="Throw"><bpmn:messageEventDefinition '
    'messageRef="Msg_doc"/></bpmn:intermediateThrowEvent>' + END + chain("Begin", "Throw", "Finish"),
    '<bpmn:message id="Msg_doc" name="dokument"/>',
)
_add(
    "signal_throw",
    START + '<bpmn:intermediateThrowEvent id="Throw"><bpmn:signalEventDefinition '
    'signalRef="Sig_1"/></bpmn:intermediateThrowEvent>' + END + chain("Begin", "Throw", "Finish"),
    '<bpmn:signal id="Sig_1" name="stang"/>',
)
_add(
    "signal_catch",
    START + '<bpmn:intermediateCatchEvent id="Catch"><bpmn:signalEventDefinition '
    'signalRef="Sig_1"/></bpmn:intermediateCatchEvent>' + END + chain("Begin", "Catch", "Finish"),
    '<bpmn:signal id="Sig_1" name="stang"/>',
)
_add("complex_gateway", START + '<bpmn:complexGateway id="Gw"/>' + END + chain("Begin", "Gw", "Finish"))
_add("service_task", START + '<bpmn:serviceTask id="Service"/>' + END + chain("Begin", "Service", "Finish"))
_add(
    "business_rule_task",
    START + '<bpmn:businessRuleTask id="Rule"/>' + END + chain("Begin", "Rule", "Finish"),
)
_add(
    "compensation",
    START + task("Task_a") + '<bpmn:boundaryEvent id="Comp" attachedToRef="Task_a">'
    "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
    '<bpmn:userTask id="Undo" isForCompensation="true"/>'
    + END
    + chain("Begin", "Task_a", "Finish")
    + '<bpmn:association id="Assoc" associationDirection="One" sourceRef="Comp" targetRef="Undo"/>',
)
_add(
    "data_store",
    START
    + '<bpmn:dataStoreReference id="Store"/>'
    + task("Task_a")
    + END
    + chain("Begin", "Task_a", "Finish"),
)
_add(
    "ad_hoc_subprocess",
    START
    + '<bpmn:adHocSubProcess id="Adhoc">'
    + task("Task_a")
    + task("Task_b")
    + "</bpmn:adHocSubProcess>"
    + END
    + chain("Begin", "Adhoc", "Finish"),
)

_add(
    "message_start",
    '<bpmn:startEvent id="Begin"><bpmn:messageEventDefinition messageRef="Msg_new"/></bpmn:startEvent>'
    + task("Task_a")
    + END
    + chain("Begin", "Task_a", "Finish"),
    '<bpmn:message id="Msg_new" name="ny_anmalan"/>',
)
_add(
    "message_throw_start",
    START
    + '<bpmn:endEvent id="Finish"><bpmn:messageEventDefinition messageRef="Msg_new"/></bpmn:endEvent>'
    + chain("Begin", "Finish"),
    '<bpmn:message id="Msg_new" name="ny_anmalan"/>',
)
_add(
    "none_task",
    START + '<bpmn:task id="Plain"/>' + task("Task_a") + END + chain("Begin", "Plain", "Task_a", "Finish"),
)
_add(
    "link_event",
    START
    + '<bpmn:intermediateThrowEvent id="GoTo"><bpmn:linkEventDefinition name="L"/>'
    + "</bpmn:intermediateThrowEvent>"
    + '<bpmn:intermediateCatchEvent id="Land"><bpmn:linkEventDefinition name="L"/>'
    + "</bpmn:intermediateCatchEvent>"
    + task("Task_a")
    + END
    + chain("Begin", "GoTo")
    + chain("Land", "Task_a", "Finish"),
)
_add(
    "conditional_event",
    START
    + task("Task_a")
    + '<bpmn:intermediateCatchEvent id="When"><bpmn:conditionalEventDefinition>'
    + '<bpmn:condition xsi:type="bpmn:tFormalExpression">klar == "ja"</bpmn:condition>'
    + "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>"
    + task("Task_b")
    + END
    + chain("Begin", "Task_a", "When", "Task_b", "Finish"),
)
_add(
    "boundary_message",
    START
    + task("Task_a")
    + END
    + '<bpmn:endEvent id="End_m"/><bpmn:boundaryEvent id="Stop" attachedToRef="Task_a">'
    + '<bpmn:messageEventDefinition messageRef="Msg_s"/></bpmn:boundaryEvent>'
    + chain("Begin", "Task_a", "Finish")
    + chain("Stop", "End_m"),
    '<bpmn:message id="Msg_s" name="avbryt"/>',
)
_add(
    "event_based_gateway_message",
    START
    + '<bpmn:eventBasedGateway id="Gw"/>'
    + '<bpmn:intermediateCatchEvent id="Answer"><bpmn:messageEventDefinition messageRef="Msg_answer"/>'
    + '</bpmn:intermediateCatchEvent><bpmn:intermediateCatchEvent id="Timeout">'
    + timer("timeDuration", "P5D")
    + "</bpmn:intermediateCatchEvent>"
    + task("Task_late")
    + task("Task_answer")
    + END
    + '<bpmn:endEvent id="End_late"/>'
    + chain("Begin", "Gw")
    + chain("Gw", "Answer", "Task_answer", "Finish")
    + chain("Gw", "Timeout", "Task_late", "End_late"),
    '<bpmn:message id="Msg_answer" name="svar"/>',
)

_add(
    "send_task_message",
    START + '<bpmn:sendTask id="Send" messageRef="Msg_doc"/>' + END + chain("Begin", "Send", "Finish"),
    '<bpmn:message id="Msg_doc" name="dokument"/>',
)

CALLED = model(
    "conformance_called",
    '<bpmn:startEvent id="C_start"/>'
    + task("Task_called")
    + '<bpmn:endEvent id="C_end"/>'
    + chain("C_start", "Task_called", "C_end"),
)
