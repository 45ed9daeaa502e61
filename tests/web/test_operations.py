"""What an operator watches: /healthz, /readyz, /metrics (read by Prometheus' own text parser), the request
id, and logs that never hold an e-mail address."""
from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text as sql

from elevflow.cli import main
from elevflow.engine import logs
from elevflow.engine.runtime import cases, health, scheduler
from elevflow.engine.settings import load
from elevflow.engine.storage import schema
from elevflow.engine.work import mailer, webhooks

TOKEN = "t" * 40


def scrape(client, **kwargs) -> dict:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    return families


def value(families: dict, family: str, sample: str | None = None, **labels: str) -> float:
    for s in families[family].samples:
        if s.name == (sample or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError((family, sample, labels))


def test_healthz_answers_without_a_login_or_the_database(client, engine):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert len(response.headers["X-Request-Id"]) == 32


def test_readyz_wants_a_current_schema_and_a_recent_scheduler_round(client, engine):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["scheduler"] == "no round recorded yet"
    assert response.json["checks"]["database"] == "ok" and response.json["checks"]["schema"] == "ok"

    scheduler.run_once(engine)
    assert client.get("/readyz").status_code == 200

    later = engine.clock() + timedelta(seconds=3 * engine.config.scheduler_interval + 60)
    assert health.readiness(engine, later).checks["scheduler"].startswith("last round")

    head = schema.head_revision()
    with engine.db.engine.begin() as connection:  # as if the code were upgraded and `init` not yet run
        connection.execute(sql("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "elevflow init --no-deploy" in response.json["checks"]["schema"]
    finally:
        with engine.db.engine.begin() as connection:
            connection.execute(sql("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_metrics_are_read_by_prometheus_parser_and_count_what_the_database_holds(client, engine, people,
                                                                                 chain, db_url):
    before = scrape(client)
    steps_before = sum(s.value for s in before["elevflow_steps"].samples if s.name == "elevflow_steps_total")
    assert before["elevflow_step_seconds"].type == "histogram"

    webhooks.subscribe(engine, "Arkivet", "http://127.0.0.1:9/ingen", by=None)  # nobody answers there
    case = cases.start_case(engine, chain.key, pupil_id=people.pupil, by=people.teacher)
    with engine.db.engine.begin() as connection:
        connection.execute(sql("INSERT INTO timers (case_id, bpmn_id, due_at) VALUES (:c, 'T', :due)"),
                           {"c": case.id, "due": engine.clock() - timedelta(minutes=5)})
        for attempts in (0, mailer.MAX_ATTEMPTS):
            connection.execute(sql("INSERT INTO outgoing_emails (to_address, subject, body, created_at, "
                                   "send_after, attempts) VALUES ('a@b.se', 's', 'b', :now, :later, :n)"),
                               {"now": engine.clock(), "later": engine.clock() + timedelta(hours=1),
                                "n": attempts})
    result = CliRunner().invoke(main, ["--database", db_url, "audit", "verify"])
    assert result.exit_code == 0, result.output

    after = scrape(client)
    steps = sum(s.value for s in after["elevflow_steps"].samples if s.name == "elevflow_steps_total")
    assert steps == steps_before + 1
    assert value(after, "elevflow_steps", "elevflow_steps_total", kind="start") >= 1
    assert value(after, "elevflow_step_seconds", "elevflow_step_seconds_count", kind="start") >= 1
    assert value(after, "elevflow_timers_due") == 1
    assert 290 <= value(after, "elevflow_timer_lag_seconds") < 400
    assert value(after, "elevflow_outbox_backlog") == 1
    assert value(after, "elevflow_emails_failed") == 1
    assert value(after, "elevflow_webhook_backlog") >= 1  # the start's events, for the subscription
    assert value(after, "elevflow_case_events_backlog") == 0
    assert value(after, "elevflow_audit_verify_ok") == 1
    assert value(after, "elevflow_audit_verify_timestamp_seconds") > 0
    assert value(after, "elevflow_audit_events") >= 2


def test_metrics_answer_this_machine_or_the_token_only(make_app):
    local = make_app().test_client()
    assert local.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert local.get("/metrics").status_code == 200  # 127.0.0.1

    guarded = make_app(METRICS_TOKEN=TOKEN).test_client()
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scrape(guarded, headers={"Authorization": f"Bearer {TOKEN}"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})


def test_every_log_line_of_a_request_carries_its_id_and_no_email_address(client, engine):
    stream = io.StringIO()
    handler = logs.configure(load({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}), stream)
    try:
        response = client.get("/healthz", headers={"X-Request-Id": "proxy-given-1234"})
        assert response.headers["X-Request-Id"] == "proxy-given-1234"
        client.get("/logga-in?q=anna.andersson@skolan.se")
        logging.getLogger("elevflow.engine.work.mailer").warning(
            "e-mail 7 failed: %s", "SMTPRecipientsRefused({'anna.andersson@skolan.se': (550, b'no')})")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    login = [line for line in lines if line["message"].startswith("GET /logga-in")]
    assert login and len(login[0]["request_id"]) == 32 and "?" not in login[0]["message"]
    assert "@" not in stream.getvalue()
    assert "<address>" in lines[-1]["message"] and lines[-1]["request_id"] == "-"


def test_a_traceback_in_the_log_holds_no_email_address():
    for log_format in ("plain", "json"):
        stream = io.StringIO()
        handler = logs.configure(load({"LOG_FORMAT": log_format}), stream)
        try:
            try:
                raise ValueError("refused: anna.andersson@skolan.se")
            except ValueError:
                logging.getLogger("elevflow.test").exception("login failed")
        finally:
            logging.getLogger().removeHandler(handler)
        assert "login failed" in stream.getvalue() and "ValueError" in stream.getvalue()
        assert "@" not in stream.getvalue() and "<address>" in stream.getvalue()
