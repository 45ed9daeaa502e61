"""Small BPMN documents for tests, built from a template so each test states only what it varies."""
from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_t" targetNamespace="http://elevflow.se/test">
"""

FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"svar": {"type": "string"}}}


def user_task(task_id: str = "Task_1", form: str | None = "svar.json", due: str = "P1W") -> str:
    props = f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>' if form else ""
    return f"""<bpmn:userTask id="{task_id}" name="Uppgift {task_id}">
      <bpmn:extensionElements><spiffworkflow:properties>{props}
        <spiffworkflow:property name="dueRule" value="{due}"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""


def process(body: str, lane: str | None = "Lärare", lane_nodes: tuple[str, ...] = ("Task_1",),
            key: str = "testprocess", doctype: str = "", properties: dict[str, str] | None = None) -> str:
    """`properties`: the process's own (name -> value), e.g. caseSubject or the figures it declares."""
    lanes = ""
    own = ""
    if properties:
        own = "<bpmn:extensionElements><spiffworkflow:properties>" + "".join(
            f'<spiffworkflow:property name="{n}" value="{v}"/>' for n, v in properties.items()) + \
            "</spiffworkflow:properties></bpmn:extensionElements>"
    if lane is not None:
        refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lane_nodes)
        lanes = (f'<bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="{lane}">{refs}</bpmn:lane>'
                 '</bpmn:laneSet>')
    head = HEAD.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                        '<?xml version="1.0" encoding="UTF-8"?>\n' + doctype)
    return f"""{head}  <bpmn:process id="{key}" name="Testprocess" isExecutable="true">
    {own}{lanes}
    <bpmn:startEvent id="StartEvent_1"/>
    <bpmn:sequenceFlow id="Flow_s" sourceRef="StartEvent_1" targetRef="Task_1"/>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


def one_task(**kwargs: object) -> str:
    """Start -> one user task -> end."""
    body = user_task(form=kwargs.pop("form", "svar.json"), due=kwargs.pop("due", "P1W")) + """
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Task_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    return process(body, **kwargs)  # type: ignore[arg-type]


def gateway(condition: str) -> str:
    """Start -> user task -> exclusive gateway with `condition` on one branch -> ends."""
    body = user_task() + f"""
    <bpmn:sequenceFlow id="Flow_g" sourceRef="Task_1" targetRef="Gateway_1"/>
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_no"/>
    <bpmn:sequenceFlow id="Flow_yes" sourceRef="Gateway_1" targetRef="End_yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_no" sourceRef="Gateway_1" targetRef="End_no"/>
    <bpmn:endEvent id="End_yes"/>
    <bpmn:endEvent id="End_no"/>"""
    return process(body)


def script(code: str) -> str:
    """Start -> user task -> script task -> end."""
    body = user_task() + f"""
    <bpmn:sequenceFlow id="Flow_g" sourceRef="Task_1" targetRef="Script_1"/>
    <bpmn:scriptTask id="Script_1" name="Skript"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_e" sourceRef="Script_1" targetRef="End_1"/>
    <bpmn:endEvent id="End_1"/>"""
    return process(body)
