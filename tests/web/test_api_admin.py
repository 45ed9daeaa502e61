"""The administrator (the huvudman) creates and revokes API tokens of system accounts and subscribes
webhooks in the web app, and sees every delivery; the command line does the same."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner

from elevflow.cli import main
from elevflow.engine.org import apitokens, passwords
from elevflow.engine.org import records as org
from elevflow.engine.work import webhooks

from .conftest import PASSWORD, login, post, text


def huvudman(engine: Any, people: Any) -> None:
    with engine.db.write() as s:
        user = org.add_user(s, "huvudman", "Huvudman", "huvudman@example.se")
        org.assign_role(s, user.id, people.unit, "huvudman")
        account = org.add_user(s, "e-tjanst", "E-tjänst frånvaro", None)
        account.system_account = True
        org.assign_role(s, account.id, people.unit, "personal")
    passwords.set_password(engine, "huvudman", PASSWORD)


def test_the_huvudman_creates_a_token_that_works_and_revokes_it(app, engine, people, open_task):
    huvudman(engine, people)
    client = app.test_client()
    assert login(client, "huvudman").status_code == 302
    assert 'href="/admin/api"' in text(client.get("/uppgifter"))  # in the menu, for the huvudman only
    page = text(client.get("/admin/api"))
    assert "API-nycklar" in page and "e-tjanst" in page and "teacher" not in page  # system accounts only
    refused = post(
        client,
        "/admin/api/nycklar",
        {"konto": "teacher", "namn": "x", "behorighet": "cases:read"},
        token_from="/admin/api",
    )
    assert refused.status_code == 422 and apitokens.tokens(engine) == []
    made = post(
        client,
        "/admin/api/nycklar",
        {
            "konto": "e-tjanst",
            "namn": "Frånvaroanmälan",
            "behorighet": ["cases:start", "routines:read"],
            "enheter": str(people.unit),
        },
        token_from="/admin/api",
    )
    secret = re.search(r'<code id="new-token">([^<]+)</code>', text(made)).group(1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/routines", headers=headers).status_code == 200
    assert app.test_client().get("/api/v1/cases", headers=headers).status_code == 403  # not its scope
    [info] = apitokens.tokens(engine)
    assert (info.scopes, info.unit_ids, info.username) == (
        ("cases:start", "routines:read"),
        (people.unit,),
        "e-tjanst",
    )
    assert secret not in text(client.get("/admin/api"))  # shown once
    post(client, f"/admin/api/nycklar/{info.id}/aterkalla", token_from="/admin/api")
    assert app.test_client().get("/api/v1/routines", headers=headers).status_code == 401
    teacher = app.test_client()
    login(teacher, "teacher")
    assert teacher.get("/admin/api").status_code == 404
    assert 'href="/admin/api"' not in text(teacher.get("/uppgifter"))


def test_the_huvudman_subscribes_a_webhook_and_sees_its_deliveries(app, engine, people, chain):
    from elevflow.engine import start_case

    huvudman(engine, people)
    client = app.test_client()
    login(client, "huvudman")
    made = post(
        client,
        "/admin/api/webhooks",
        {"namn": "Intranätet", "adress": "http://127.0.0.1:9/hook", "handelse": ["case_started"]},
        token_from="/admin/api",
    )
    assert re.search(r'<code id="new-webhook-secret">whsec_', text(made))
    [subscription] = webhooks.subscriptions(engine)
    start_case(engine, "stodkedja", pupil_id=people.pupil, by=people.teacher)
    webhooks.deliver_due(engine)  # nobody listens on port 9: it fails, and waits
    page = text(client.get(f"/admin/api/webhooks/{subscription.id}"))
    assert "case_started" in page and "ConnectionRefusedError" in page
    post(client, f"/admin/api/webhooks/{subscription.id}/aktiv", {"aktiv": "0"}, token_from="/admin/api")
    assert not webhooks.subscriptions(engine)[0].active
    post(client, f"/admin/api/webhooks/{subscription.id}/forsok-igen", token_from="/admin/api")
    assert webhooks.deliveries(engine, subscription.id)[0].next_attempt_at <= engine.clock()


def test_the_command_line_makes_system_accounts_tokens_and_webhooks(db_url, engine, people):
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(main, ["--database", db_url, "api", *args], catch_exceptions=False)

    made = run("account", "e-tjanst", "--name", "E-tjänst", "--unit", str(people.unit), "--role", "personal")
    assert made.exit_code == 0, made.output
    token = run("token-create", "e-tjanst", "--name", "Frånvaro", "--scope", "cases:start")
    secret = token.stdout.strip().splitlines()[-1]
    assert token.exit_code == 0 and secret.startswith("elv_")
    assert apitokens.authenticate(engine, secret).username == "e-tjanst"
    assert run("token-create", "teacher", "--name", "x", "--scope", "cases:read").exit_code == 2  # a person
    listed = run("token-list").stdout
    assert "e-tjanst" in listed and secret not in listed
    token_id = listed.split()[0]
    assert run("token-revoke", token_id).exit_code == 0
    assert apitokens.authenticate(engine, secret) is None
    hook = run(
        "webhook-add", "https://intranet.example.se/elevflow", "--name", "Intranät", "--event", "task_created"
    )
    assert hook.exit_code == 0 and hook.stdout.strip().startswith("whsec_")
    assert "intranet.example.se" in run("webhook-list").stdout
