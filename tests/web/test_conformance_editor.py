"""The editor's Kontrollera agrees with docs/process-owners.md's element table: a process owner imports a
one-feature model (tests/conformance/models.py) and checks it, and the verdict is the table's, each
refusal naming its element in Swedish."""
from __future__ import annotations

import io
import re

import pytest
from conformance.models import MODELS
from conformance.test_element_table import rows

from elevflow.engine import deploy, start_case
from elevflow.webui.codes import SWEDISH

from .conftest import csrf, text

VERDICTS = {key: says.startswith("runs") for _, says, keys in rows() for key in keys}
SHOWN = ["event_based_gateway_timer", "event_subprocess_interrupting", "send_task", "signal_throw",
         "message_throw_to_case", "uncaught_error_end", "link_event", "ad_hoc_subprocess",
         "conditional_event", "complex_gateway"]


@pytest.mark.parametrize("key", SHOWN)
def test_kontrollera_gives_the_table_s_verdict(browser, key):
    upload = {"fil": (io.BytesIO(MODELS[key].encode()), f"{key}.bpmn"),
              "csrf_token": csrf(browser, "/rutiner")}
    imported = browser.post("/rutiner/importera", data=upload, content_type="multipart/form-data")
    draft_id = int(re.search(r"/rutiner/utkast/(\d+)$", imported.headers["Location"]).group(1))
    found = browser.post(f"/rutiner/utkast/{draft_id}/kontrollera",
                         headers={"X-CSRFToken": csrf(browser, "/rutiner")}).json
    assert found["runnable"] is VERDICTS[key], found
    for problem in found["problems"]:
        assert problem["element_id"] and problem["message"] == SWEDISH[problem["code"]]


def test_the_routines_page_shows_a_message_no_case_received(browser, engine, people):
    deploy(engine, {"m.bpmn": MODELS["message_throw_to_case"]}, {})
    sender = start_case(engine, "message_throw_to_case", pupil_id=people.pupil, by=people.teacher)
    page = text(browser.get("/rutiner"))
    assert "Meddelanden som inget ärende har tagit emot" in page
    assert f"”dokument” från ärende {sender.id} (message_throw_to_case)" in page and "sparas till" in page
    assert "Alva" not in page  # no pupil data for the process owner
