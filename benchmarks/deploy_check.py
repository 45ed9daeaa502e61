"""Deploy-check benchmark: how the time to check a diagram grows with its size (issue 13, point 5).

Each diagram is one process: a parallel gateway splitting into N user tasks in one lane, joined again,
with a diagram shape per task (as bpmn.io writes them). `engine.routines.validation.validate` checks it with
every
deploy rule, as `elevflow deploy` and the editor's *Kontrollera* and *Publicera* do. Time per task
should stay about flat as N doubles (linear); it grew with N before (quadratic XPath look-ups).

Prints a table, and as its last line one JSON object with the same figures.
Usage: python benchmarks/deploy_check.py [--sizes 1000,2000,4000,8000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from elevflow.engine.routines.validation import validate  # noqa: E402

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  id="D" targetNamespace="http://elevflow.se/bench">
<bpmn:process id="stor" name="Stor" isExecutable="true">
"""


def diagram(tasks: int) -> str:
    lane = "".join(f"<bpmn:flowNodeRef>T{i}</bpmn:flowNodeRef>" for i in range(tasks))
    body = "".join(f'<bpmn:userTask id="T{i}" name="Steg {i}"/>'
                   f'<bpmn:sequenceFlow id="A{i}" sourceRef="G" targetRef="T{i}"/>'
                   f'<bpmn:sequenceFlow id="B{i}" sourceRef="T{i}" targetRef="J"/>\n' for i in range(tasks))
    shapes = "".join(f'<bpmndi:BPMNShape id="S{i}" bpmnElement="T{i}"><dc:Bounds x="{i}" y="0" width="100" '
                     'height="80"/></bpmndi:BPMNShape>\n' for i in range(tasks))
    return (HEAD + f'<bpmn:laneSet id="LS"><bpmn:lane id="L" name="Lärare">{lane}</bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="Start_1"/><bpmn:sequenceFlow id="F0" sourceRef="Start_1" targetRef="G"/>'
            '<bpmn:parallelGateway id="G"/><bpmn:parallelGateway id="J"/>' + body
            + '<bpmn:sequenceFlow id="F1" sourceRef="J" targetRef="End_1"/><bpmn:endEvent id="End_1"/>'
            '</bpmn:process><bpmndi:BPMNDiagram id="DI"><bpmndi:BPMNPlane id="P" bpmnElement="stor">'
            + shapes + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,2000,4000,8000")
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    rows = []
    for tasks in sizes:
        xml = diagram(tasks)
        started = time.perf_counter()
        validate({"stor.bpmn": xml}, {}, {})
        seconds = time.perf_counter() - started
        rows.append({"tasks": tasks, "bytes": len(xml.encode()), "seconds": seconds,
                     "us_per_task": seconds / tasks * 1e6})
    print("Deploy check of one diagram: N user tasks in parallel, with lanes and shapes\n")
    print(f"{'tasks':>8} {'MB':>6} {'seconds':>9} {'µs/task':>9}")
    for row in rows:
        megabytes, per_task = row["bytes"] / 1e6, row["us_per_task"]
        print(f"{row['tasks']:>8,} {megabytes:>6.2f} {row['seconds']:>9.2f} {per_task:>9.0f}")
    print("\nTarget: µs/task about flat as the size doubles (linear)")
    print(json.dumps({"deploy_check": rows}))


if __name__ == "__main__":
    main()
