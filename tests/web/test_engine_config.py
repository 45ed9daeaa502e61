"""create_app builds one Engine from the same settings as the app's config: an override given to it
reaches what the engine reads at call time (the mailer, here), whatever the environment says."""
from __future__ import annotations

from datetime import datetime, timezone

from smtp_server import Mailbox, free_port, start_server

from elevflow.engine.work import mailer
from elevflow.webui import extensions

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_an_smtp_server_given_to_create_app_is_the_one_the_mailer_uses(make_app, engine):
    mailbox = Mailbox(free_port())
    controller = start_server(mailbox)
    try:
        app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port), SMTP_STARTTLS="false",
                       MAIL_FROM="kansliet@skolan.example.se")
        app_engine = extensions.state(app).engine
        assert app_engine.config.smtp_port == mailbox.port and app_engine.config.smtp_starttls is False
        with engine.db.transaction() as tx:
            mailer.queue(tx, "rektor@skolan.example.se", "Elevflow: en uppgift väntar", "Hej!\n", NOW)
        assert mailer.send_due(engine, now=NOW) == 0  # the environment names no SMTP server
        assert mailer.send_due(app_engine, now=NOW) == 1
        [message] = mailbox.messages
        assert message["From"] == "kansliet@skolan.example.se" and message["To"] == "rektor@skolan.example.se"
    finally:
        controller.stop()


def test_the_app_s_config_and_its_engine_s_agree(make_app):
    app = make_app(DIGEST_HOUR=9, BASE_URL="https://elevflow.skolan.example.se/")
    config = extensions.state(app).engine.config
    assert config.digest_hour == app.config["DIGEST_HOUR"] == 9
    assert config.base_url == app.config["BASE_URL"] == "https://elevflow.skolan.example.se/"
