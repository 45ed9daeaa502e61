"""The quality follow-up in a real browser: the dashboard with its server-drawn charts, and the routine's
diagram as a heat map drawn by the vendored bpmn-js under the page's Content-Security-Policy."""
from __future__ import annotations

import quality_data as qd

from elevflow.engine.org import passwords

from .conftest import screenshot
from .test_web_walk import PASSWORD, log_in, site  # noqa: F401  (site is a fixture)


def test_the_dashboard_and_the_heat_map_over_the_routine(page, site, engine):  # noqa: F811
    qd.build(engine)
    for username in ("rektor_a", "huvudman"):
        passwords.set_password(engine, username, PASSWORD)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, site, "rektor_a")
    page.get_by_role("link", name="Kvalitet").click()
    page.get_by_label("Termin", exact=True).select_option("ht2025")
    page.get_by_role("button", name="Visa").click()
    page.wait_for_url("**/kvalitet?**termin=ht2025**")
    assert page.locator("svg.chart").count() == 2
    assert page.get_by_role("img", name="Antal per termin").is_visible()
    screenshot(page, "kvalitet-oversikt")

    page.get_by_role("link", name="Rutinen som värmekarta").click()
    page.wait_for_selector("#diagram[data-rendered=true]", timeout=15_000)
    assert page.locator('#diagram .elevflow-heat-1[data-element-id="Task_utse_utredare"]').count() == 1
    assert page.locator("#diagram .elevflow-heat-4").count() >= 1
    assert page.locator("#diagram .heat-note").filter(has_text="4 klara · median 1,5 d · 0 nu").count() == 1
    assert page.locator("#diagram .bjs-powered-by").is_visible()  # bpmn.io's mark, as its licence asks
    assert page.locator("#diagram-fallback").is_hidden()
    screenshot(page, "kvalitet-varmekarta")

    page.context.clear_cookies()
    log_in(page, site, "huvudman")
    page.goto(f"{site}/kvalitet?termin=ht2025")
    assert page.locator("#suppression-note").is_visible()
    assert page.get_by_role("cell", name="färre än 5").count() > 0
    screenshot(page, "kvalitet-huvudman")
    assert not [e for e in errors if "Content Security Policy" in e], errors
