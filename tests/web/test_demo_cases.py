"""`elevflow demo` seeds a year of made-up cases through the engine (cli/demo_cases.py): every demo login
that works on cases has an inbox, and the huvudman's dashboard and heat map show figures, not "färre än 5"."""
from __future__ import annotations

import html as htmllib
import json
import re
from datetime import date

from click.testing import CliRunner
from sqlalchemy import func, select

from elevflow.cli import demo_cases, main
from elevflow.engine import Engine
from elevflow.engine.org import access, demo
from elevflow.engine.storage import audit
from elevflow.engine.storage.models import Case, TaskRow, User
from elevflow.engine.work import worklist
from elevflow.webui import close_app, create_app

from .conftest import SECRET, login, text
from .test_quality import table


def test_the_demo_seeds_a_year_of_cases_every_role_has_work_and_the_dashboard_shows_figures(
        db_url, engine, tmp_path, monkeypatch, workers):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--database", db_url, "demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Seeded \d+ made-up cases over the past year", result.output), result.output
    with engine.db.read() as s:
        ids = dict(s.execute(select(User.username, User.id)).all())
        started = dict(s.execute(select(Case.process_key, func.count()).group_by(Case.process_key)).all())
        spread = s.execute(select(func.min(Case.started_at), func.max(Case.started_at))).one()
    assert set(started) == {"sarskilt_stod", "krankande_behandling", "franvaro", "orosanmalan", "avvikelse",
                            "arshjul"}
    assert (spread[1] - spread[0]).days > 300  # a year of cases, not one day's
    for username, _name, role, _unit in demo.STAFF:
        if role in access.STAFF_ROLES or role == "huvudman":
            assert worklist.worklist(engine, ids[username]).items, f"{username} ({role}) has an empty inbox"
    assert audit.verify(engine).ok

    again = CliRunner().invoke(main, ["--database", db_url, "demo", "--no-serve"])
    assert again.exit_code == 0 and "no made-up cases were added" in again.output
    with engine.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == sum(started.values())

    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    try:
        client = app.test_client()
        assert login(client, "huvudman", "demo-huvudman").status_code == 302
        page = text(client.get("/kvalitet"))
        counts = table(page, "per_termin")
        for figure in ("Anmälningar till rektor", "Anmälningar om kränkande behandling"):
            shown = counts[figure][-2:]  # the last two terms
            assert all(cell.isdigit() and int(cell) >= 5 for cell in shown), (figure, shown)
        heat = text(client.get("/kvalitet/rutin?rutin=sarskilt_stod"))
        figures = json.loads(htmllib.unescape(re.search(r'data-figures="([^"]*)"', heat).group(1)))
        done = [f["text"] for f in figures.values() if re.match(r"\d+ klara", f["text"])]
        assert len(done) >= 5, figures
    finally:
        close_app(app)


def _seeded(folder, workers, monkeypatch) -> tuple[list, list]:
    """A demo database seeded with seed 5 up to a fixed day: its cases and its steps."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    url = f"sqlite:///{folder / 'demo.db'}"
    assert CliRunner().invoke(main, ["--database", url, "demo", "--no-serve", "--no-cases"]).exit_code == 0
    engine = Engine.from_settings(database_url=url, workers=workers)
    try:
        done = demo_cases.seed(engine, seed=5, today=date(2026, 11, 30))
        with engine.db.read() as s:
            cases = s.execute(select(Case.process_key, Case.started_at, Case.status, Case.diary_number)
                              .order_by(Case.id)).all()
            steps = s.execute(select(TaskRow.bpmn_id, TaskRow.completed_at, TaskRow.state, TaskRow.data)
                              .order_by(TaskRow.created_at, TaskRow.bpmn_id)).all()
    finally:
        engine.close()
    assert done.cases <= len(cases)  # and the cases those started
    assert max(c.started_at for c in cases).date() <= date(2026, 11, 30)
    return [tuple(c) for c in cases], [tuple(t) for t in steps]


def test_the_same_seed_on_the_same_day_seeds_the_same_cases(tmp_path, workers, monkeypatch):
    assert _seeded(tmp_path / "a", workers, monkeypatch) == _seeded(tmp_path / "b", workers, monkeypatch)
