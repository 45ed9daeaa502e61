"""The stored case state is SpiffWorkflow's own format (minus the spec), so its migrations still apply."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import time_machine
from conftest import FIXTURES
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import TaskState

from elevflow.engine.expressions import sandbox
from elevflow.engine.routines.specs import parse_files
from elevflow.engine.storage import state

SPIFF = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def spiff_dict(workflow):
    dct = SPIFF.to_dict(workflow)
    dct.pop("spec")
    dct.pop("subprocess_specs")
    return dct


def stored(workflow):
    """What is stored for the workflow, read back; each step stores it, so each step writes it here too
    (finished tasks' JSON is kept from the step that finished them)."""
    return orjson.loads(state.dump(workflow))


def spiff_stored(workflow):
    return orjson.loads(orjson.dumps(spiff_dict(workflow)))


def walk(spec, subprocesses, answers):
    """Run a workflow, checking after every step that our encoding equals SpiffWorkflow's."""
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=sandbox.script_engine())
    workflow.do_engine_steps()
    snapshots = [workflow]
    for data in answers:
        assert state._CONVERTER.to_dict(workflow) == spiff_dict(workflow)
        assert stored(workflow) == spiff_stored(workflow)
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
    assert state._CONVERTER.to_dict(workflow) == spiff_dict(workflow)
    assert stored(workflow) == spiff_stored(workflow)
    assert stored(workflow) == spiff_stored(workflow)
    return workflow, snapshots


def test_encoding_matches_spiffworkflow_and_round_trips():
    files = {"stodkedja.bpmn": (FIXTURES / "stodkedja" / "stodkedja.bpmn").read_text()}
    parser = parse_files(files)
    spec, subs = parser.get_spec("stodkedja"), parser.get_subprocess_specs("stodkedja")
    with time_machine.travel(datetime(2026, 11, 23, tzinfo=timezone.utc), tick=False):
        workflow, _ = walk(spec, subs, [{"anmalan_datum": "2026-11-20", "beskrivning": "x" * 20}])
        blob = state.dump(workflow)
        restored = state.load(blob, state.SERIALIZER_VERSION, spec, subs, sandbox.script_engine())
    assert state._CONVERTER.to_dict(restored) == state._CONVERTER.to_dict(workflow)
    compressed = state.load(state.dump(workflow, compress=True), state.SERIALIZER_VERSION, spec, subs,
                            sandbox.script_engine())
    assert compressed.get_tasks(state=TaskState.READY)[0].task_spec.name == "Task_utredning"


def test_encoding_matches_spiffworkflow_through_call_activities(tmp_path):
    from pathlib import Path

    from elevflow.engine import settings
    from elevflow.engine.routines.definitions import library, read_folder
    root = Path(settings.load().processes_dir)
    files, _ = read_folder(root / "sarskilt_stod")
    shared, _ = library(root / "shared")
    parser = parse_files({**shared, **files})
    spec, subs = parser.get_spec("sarskilt_stod"), parser.get_subprocess_specs("sarskilt_stod")
    workflow = BpmnWorkflow(spec, subs, script_engine=sandbox.script_engine())
    # what engine.runtime.cases.start puts in every case's data, which the routine's first gateway reads
    workflow.task_tree.data.update({"arende_id": 1, "elev_id": 1, "skolenhet_id": 1, "startad_av": 1,
                                    "startad_av_roller": ["larare"], "startad_fran": None})
    workflow.do_engine_steps()
    assert state._CONVERTER.to_dict(workflow) == spiff_dict(workflow)
    assert stored(workflow) == spiff_stored(workflow)
