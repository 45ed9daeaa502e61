"""`elevflow demo` and `elevflow users`: trying Elevflow with made-up people, and staff passwords."""
from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

import click
from sqlalchemy import select

from elevflow.engine.core import Engine
from elevflow.engine.errors import NotFoundError
from elevflow.engine.org import demo, passwords
from elevflow.engine.routines import definitions
from elevflow.engine.storage import schema
from elevflow.engine.storage.models import User

from . import demo_cases
from .context import Context, deploy_shipped, pass_ctx

DEMO_PASSWORD_PREFIX = "demo-"


@click.command("demo")
@click.option("--no-serve", is_flag=True, help="Set everything up and print the logins, but do not start "
              "the web app.")
@click.option("--port", default=5000, show_default=True,
              help="The port the web app listens on (on 127.0.0.1 only).")
@click.option("--no-cases", is_flag=True, help="Do not seed the year of made-up cases.")
@click.option("--seed", "seed", default=17, show_default=True,
              help="The seed the made-up cases are drawn with (same seed, same day: same cases).")
@pass_ctx
def demo_command(ctx: Context, no_serve: bool, port: int, no_cases: bool, seed: int) -> None:
    """Set up Elevflow with a made-up organisation on the embedded database, and serve the web app.

    Creates the database (SQLite by default), deploys the shipped routines, loads a demo municipality
    with two schools, staff in every role and 30 pupils, gives every demo person the password
    "demo-" + their username, and serves the web app on http://127.0.0.1:5000 with the scheduler
    running inside it, until Ctrl-C. Unless --no-cases, a database without cases first gets a year of
    made-up cases of every shipped routine (cli/demo_cases.py), so the inbox, the dashboard and the heat
    map have something to show. Safe to run again. For trying Elevflow only: the demo passwords are
    printed and known to everyone, so never load real people or pupils into a demo database.
    """
    ctx.may_create = True
    schema.upgrade(ctx.engine)
    demo.load(ctx.engine)
    deploy_shipped(ctx)
    click.echo(f"Elevflow is ready on {ctx.engine.db.engine.url.render_as_string(hide_password=True)}\n")
    with_passwords = _only_demo_people(ctx.engine)
    if with_passwords:
        for username, *_rest in demo.STAFF:
            passwords.set_password(ctx.engine, username, DEMO_PASSWORD_PREFIX + username)
        click.echo("Demo logins (DEMO ONLY: these passwords are the same in every demo and printed here):")
    else:
        click.echo("This database has people who are not the demo organisation's, so no demo passwords "
                   "were set.")
    click.echo(f"  {'username':14} {'password':19} {'name':22} {'role':16} school")
    for username, name, role, unit in demo.STAFF:
        where = demo.UNITS[unit][1] if unit is not None else "all schools"
        password = DEMO_PASSWORD_PREFIX + username if with_passwords else "-"
        click.echo(f"  {username:14} {password:19} {name:22} {role:16} {where}")
    if with_passwords and not no_cases:
        if demo_cases.has_cases(ctx.engine):
            click.echo("\nThe database has cases already; no made-up cases were added.")
        else:
            started = time.perf_counter()
            done = demo_cases.seed(ctx.engine, seed=seed)
            click.echo("")
            for line in demo_cases.summary_lines(done, time.perf_counter() - started):
                click.echo(line)
    click.echo("\nRoutines: " + ", ".join(sorted({v.key for v in definitions.versions(ctx.engine)})))
    click.echo("\nFrom a terminal, e.g. a support case (särskilt stöd) for pupil 1 at Ekbackens skola:")
    click.echo("  elevflow start sarskilt_stod --pupil 1 --as larare.ek")
    click.echo("  elevflow tasks --user larare.ek")
    click.echo("  elevflow start arshjul --unit 1 --as rektor.ek    (the school's own årshjul: no pupil)")
    click.echo("  elevflow audit verify")
    if no_serve:
        return
    from elevflow.webui import (
        create_app,  # only the demo serves the web app (imported here: it is slow to load)
    )

    app = create_app({"DATABASE_URL": ctx.engine.db.url, "SECRET_KEY": demo_secret(Path(ctx.config.instance)),
                      "BASE_URL": f"http://127.0.0.1:{port}"})
    click.echo(f"\nThe web app: http://127.0.0.1:{port}/  (log in as larare.ek with password "
               f"{DEMO_PASSWORD_PREFIX}larare.ek; stop with Ctrl-C)")
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


def _only_demo_people(engine: Engine) -> bool:
    """Whether every user in the database is one of the demo's made-up staff (so demo passwords, which
    everyone knows, can never open a real account)."""
    with engine.db.read() as session:
        usernames = set(session.scalars(select(User.username)))
    return bool(usernames) and usernames <= {username for username, *_rest in demo.STAFF}


def demo_secret(folder: Path) -> str:
    """The demo's session key: made once and kept in `folder`/secret_key, readable by its owner only."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key + "\n", encoding="utf-8")
    return key


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts) instead of asking.")
@pass_ctx
def users_set_password(ctx: Context, username: str, password_stdin: bool) -> None:
    """Give USERNAME a password for logging in to the web app without the login service.

    The password is stored only as an argon2id hash. It must have at least 12 characters.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        passwords.check_strength(password)
        passwords.set_password(ctx.engine, username, password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from None
    except NotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="USERNAME") from None
    click.echo(f"password set for {username}")
