"""A routine's declared quality figures in a real browser: the bpmn-js Modeler keeps them when the diagram
is saved, and renaming a step a figure counts, in the properties panel, is refused at publish with the
figure and the step named."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from editing_helpers import add_process_owner
from sqlalchemy import select

from elevflow.engine import deploy_path, settings
from elevflow.engine.org import passwords
from elevflow.engine.storage.models import ProcessVersion, RoutineDraft

from .conftest import PASSWORD, log_in, serve
from .test_editor_walk import group

PROCESSES = settings.shipped_processes()


@pytest.fixture
def site(engine, db_url, people) -> Iterator[str]:
    deploy_path(engine, PROCESSES / "arshjul", shared_dir=PROCESSES / "shared")
    add_process_owner(engine, people.unit)
    passwords.set_password(engine, "processagare", PASSWORD)
    with serve(db_url, engine.pool()) as address:
        yield address


def test_renaming_a_counted_step_in_the_editor_is_refused_and_the_figures_are_kept(page, site, engine):
    log_in(page, site, "processagare")
    page.get_by_role("link", name="Rutiner").click()
    page.get_by_role("button", name="Redigera Årshjul för elevhälsoarbetet").click()
    page.wait_for_url("**/utkast/*")
    page.wait_for_selector("#editor[data-ready=true]")
    page.evaluate("""() => { const modeler = document.getElementById('canvas').elevflowModeler;
      modeler.get('selection').select(modeler.get('elementRegistry').get('Task_ar_avstamning')); }""")
    group(page, "Allmänt").get_by_label("ID", exact=True).fill("Task_ar_check")
    page.wait_for_timeout(600)  # the panel applies text after a short debounce
    page.get_by_label("Vad har ändrats och varför?").fill("Kortare id")
    page.get_by_role("button", name="Publicera som ny version").click()
    page.wait_for_selector("#editor[data-checked=problems]")
    assert "/utkast/" in page.url  # not published
    listed = page.locator("#problem-list").inner_text()
    assert "count:arshjul_avstamningar" in listed and "Task_ar_avstamning" in listed
    assert "reportAt" in listed
    with engine.db.read() as s:
        [saved] = s.scalars(select(RoutineDraft)).all()
        assert s.scalars(select(ProcessVersion.version)).all() == [1]
    xml = saved.files[saved.main_file]
    assert 'id="Task_ar_check"' in xml  # what the modeler saved: the renamed step, the figures kept
    assert 'name="count:arshjul_avstamningar" value="Task_ar_avstamning"' in xml
