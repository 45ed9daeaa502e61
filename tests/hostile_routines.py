"""Hostile (or careless) routines, as a process owner could publish them: the test support chain
(fixtures/stodkedja) with one fragment put between its first task (Task_anmalan) and its second
(Task_utredning). Each fragment enters at its element `H_in` and leaves to Task_utredning."""
from __future__ import annotations

import re

ENTRY = '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_anmalan" targetRef="Task_utredning"/>'
OUT = "Task_utredning"


def _flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
            "</bpmn:conditionExpression></bpmn:sequenceFlow>")


def condition(expression: str) -> str:
    """An exclusive gateway whose one condition is `expression` (both ways lead on)."""
    return ('<bpmn:exclusiveGateway id="H_in" default="H_default"/>'
            + _flow("H_cond", "H_in", OUT, expression) + _flow("H_default", "H_in", OUT))


def script(code: str, loop: str = "", element: str = "H_in") -> str:
    return (f'<bpmn:scriptTask id="{element}" name="Skript">{loop}<bpmn:script>{code}</bpmn:script>'
            f"</bpmn:scriptTask>")


def timer(duration: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="H_in" name="Vänta"><bpmn:timerEventDefinition>'
            f'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}</bpmn:timeDuration>'
            f"</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>{_flow('H_out', 'H_in', OUT)}")


def merge_split_loop() -> str:
    """Merge, split in two, join, and back to the merge while a condition that is always true holds:
    never waits for anyone, never ends."""
    return ('<bpmn:exclusiveGateway id="H_in" name="Samla"/><bpmn:parallelGateway id="H_split" name="Dela"/>'
            '<bpmn:parallelGateway id="H_join" name="Förena"/>'
            '<bpmn:exclusiveGateway id="H_again" name="Igen?" default="H_out"/>'
            + script("a = 1", element="H_a") + script("b = 2", element="H_b")
            + _flow("H_0", "H_in", "H_split") + _flow("H_1", "H_split", "H_a")
            + _flow("H_2", "H_split", "H_b") + _flow("H_3", "H_a", "H_join") + _flow("H_4", "H_b", "H_join")
            + _flow("H_5", "H_join", "H_again") + _flow("H_6", "H_again", "H_in", "a == 1")
            + _flow("H_out", "H_again", OUT))


def parallel_cycle() -> str:
    """Split, join, split again, with no condition anywhere: SpiffWorkflow cannot even lay out its paths."""
    return ('<bpmn:parallelGateway id="H_in" name="Dela"/><bpmn:parallelGateway id="H_join" name="Samla"/>'
            + script("a = 1", element="H_a") + script("b = 2", element="H_b")
            + _flow("H_1", "H_in", "H_a") + _flow("H_2", "H_in", "H_b") + _flow("H_3", "H_a", "H_join")
            + _flow("H_4", "H_b", "H_join") + _flow("H_5", "H_join", "H_in"))


def multi_instance(cardinality: str) -> str:
    loop = ('<bpmn:multiInstanceLoopCharacteristics isSequential="false"><bpmn:loopCardinality>'
            f"{cardinality}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>")
    return script("x = 1", loop) + _flow("H_out", "H_in", OUT)


def standard_loop(condition: str | None = None, maximum: int | None = None) -> str:
    """`n = 0`, then a script looping `n = n + 1` while `condition` (or `maximum` times)."""
    attribute = f' loopMaximum="{maximum}"' if maximum is not None else ""
    inner = f"<bpmn:loopCondition>{condition}</bpmn:loopCondition>" if condition else ""
    loop = f'<bpmn:standardLoopCharacteristics{attribute}>{inner}</bpmn:standardLoopCharacteristics>'
    return (script("n = 0") + _flow("H_next", "H_in", "H_loop") + script("n = n + 1", loop, "H_loop")
            + _flow("H_out", "H_loop", OUT))


def into(chain_xml: str, fragment: str) -> str:
    """The support chain with `fragment` between its first and second task."""
    assert ENTRY in chain_xml
    return chain_xml.replace(ENTRY, _flow("Flow_2", "Task_anmalan", "H_in") + fragment)


def with_due_rule(chain_xml: str, rule: str) -> str:
    """The support chain with its second task's due rule replaced."""
    return re.sub(r'(<spiffworkflow:property name="dueRule" value=")5BD(")', rf"\g<1>{rule}\g<2>", chain_xml)


# Published fine, caught when they run: (name, fragment, what the recorded error says)
AT_RUN_TIME = {
    "huge_nested_list": (condition("[[0] * 100000] * 100000 == [[0] * 100000] * 100000"), "too long"),
    "round": (condition("round(1, -10**9) == 0"), "too long"),
    "memory_bomb": (condition("len(list(zip(*[[1] * 100000] * 100000))) &gt; 0"), "MB of memory"),
    "merge_split_loop": (merge_split_loop(), "seems to loop without end"),
    "cardinality_from_data": (multi_instance("len(beskrivning) * 1000"), "ELEVFLOW_MAX_LOOP_ROUNDS"),
    "loop_of_1000_rounds": (standard_loop("n &lt; 1000"), "ELEVFLOW_MAX_LOOP_ROUNDS"),
}
#: The ones that take the worker to a kernel limit or the watchdog (a concurrent request is measured).
SLOW = ("huge_nested_list", "round", "memory_bomb")
