"""The `elevflow` command: set up the database, deploy routines, run and inspect cases from a terminal."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from . import audit, cases, definitions, demo, org, passwords, scheduler, schema, settings, tasks
from .cli_import import import_group
from .errors import DefinitionError, ElevflowError, FormValidationError, NotFoundError
from .models import User
from .store import Database


class Context:
    def __init__(self, url: str | None):
        self.url = url
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()

    def user_id(self, username: str | None) -> int | None:
        return org.user_by_username(self.db, username).id if username else None


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", envvar="ELEVFLOW_DATABASE_URL", metavar="URL",
              help="Database URL (default: ELEVFLOW_DATABASE_URL, else sqlite:///instance/elevflow.db).")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """Elevflow: the student health routines of a school as BPMN processes that run and log every step."""
    ctx.obj = Context(database)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.option("--demo", "with_demo", is_flag=True,
              help="Also load a made-up organisation to try things with.")
@click.option("--no-deploy", is_flag=True, help="Only create or upgrade the tables.")
@pass_ctx
def init(ctx: Context, with_demo: bool, no_deploy: bool) -> None:
    """Create or upgrade the database, then deploy every shipped routine in processes/.

    Safe to run again: the schema is only upgraded, and a routine whose files have not changed gets no
    new version.
    """
    schema.upgrade(ctx.db)
    click.echo(f"Database ready: {ctx.db.engine.url.render_as_string(hide_password=True)}")
    if with_demo:
        loaded = demo.load(ctx.db)
        click.echo("Demo organisation loaded." if loaded else "People exist already; no demo loaded.")
    if no_deploy:
        return
    root = Path(settings.get("ELEVFLOW_PROCESSES_DIR"))
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "shared"):
        if not any(folder.glob("*.bpmn")):
            continue
        for version in _deploy(ctx, folder, "shipped with Elevflow", None):
            click.echo(f"  {version.key} v{version.version}")


def _deploy(ctx: Context, path: Path, note: str, by: int | None) -> list[Any]:
    try:
        return definitions.deploy_path(ctx.db, path, by=by, note=note)
    except DefinitionError as exc:
        click.echo(f"{path}: refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)


DEMO_PASSWORD_PREFIX = "demo-"


@main.command("demo")
@click.option("--no-serve", is_flag=True, help="Set everything up and print the logins, but do not start "
              "the web app.")
@click.option("--port", default=5000, show_default=True,
              help="The port the web app listens on (on 127.0.0.1 only).")
@pass_ctx
def demo_command(ctx: Context, no_serve: bool, port: int) -> None:
    """Set up Elevflow with a made-up organisation on the embedded database, and serve the web app.

    Creates the database (SQLite by default), deploys the shipped routines, loads a demo municipality
    with two schools, staff in every role and 30 pupils, gives every demo person the password
    "demo-" + their username, and serves the web app on http://127.0.0.1:5000 with the scheduler
    running inside it, until Ctrl-C. Safe to run again. For trying Elevflow only: the demo passwords are
    printed and known to everyone, so never load real people or pupils into a demo database.
    """
    schema.upgrade(ctx.db)
    demo.load(ctx.db)
    root = Path(settings.get("ELEVFLOW_PROCESSES_DIR"))
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "shared"):
        if any(folder.glob("*.bpmn")):
            _deploy(ctx, folder, "shipped with Elevflow", None)
    click.echo(f"Elevflow is ready on {ctx.db.engine.url.render_as_string(hide_password=True)}\n")
    with_passwords = _only_demo_people(ctx.db)
    if with_passwords:
        for username, *_rest in demo.STAFF:
            passwords.set_password(ctx.db, username, DEMO_PASSWORD_PREFIX + username)
        click.echo("Demo logins (DEMO ONLY: these passwords are the same in every demo and printed here):")
    else:
        click.echo("This database has people who are not the demo organisation's, so no demo passwords "
                   "were set.")
    click.echo(f"  {'username':14} {'password':19} {'name':22} {'role':16} school")
    for username, name, role, unit in demo.STAFF:
        where = demo.UNITS[unit][1] if unit is not None else "all schools"
        password = DEMO_PASSWORD_PREFIX + username if with_passwords else "-"
        click.echo(f"  {username:14} {password:19} {name:22} {role:16} {where}")
    click.echo("\nRoutines: " + ", ".join(sorted({v.key for v in definitions.versions(ctx.db)})))
    click.echo("\nFrom a terminal, e.g. a support case (särskilt stöd) for pupil 1 at Ekbackens skola:")
    click.echo("  elevflow start sarskilt_stod --pupil 1 --as larare.ek")
    click.echo("  elevflow tasks --user larare.ek")
    click.echo("  elevflow audit verify")
    if no_serve:
        return
    from webui import create_app  # the engine itself never needs the web app

    app = create_app({"DATABASE_URL": ctx.db.url, "SECRET_KEY": demo_secret(Path("instance")),
                      "BASE_URL": f"http://127.0.0.1:{port}"})
    click.echo(f"\nThe web app: http://127.0.0.1:{port}/  (log in as larare.ek with password "
               f"{DEMO_PASSWORD_PREFIX}larare.ek; stop with Ctrl-C)")
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


def _only_demo_people(db: Database) -> bool:
    """Whether every user in the database is one of the demo's made-up staff (so demo passwords, which
    everyone knows, can never open a real account)."""
    with db.read() as session:
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


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--note", default="", help="What changed and why (kept with the version).")
@click.option("--as", "username", help="Who deploys (a username).")
@pass_ctx
def deploy(ctx: Context, path: Path, note: str, username: str | None) -> None:
    """Validate and deploy the routine in PATH (a folder, or a .bpmn file with forms/ beside it).

    Every problem is listed with file, line and element id, and nothing is stored. Deploying content
    identical to an existing version makes no new version.
    """
    for version in _deploy(ctx, path, note, ctx.user_id(username)):
        click.echo(f"{version.key} v{version.version} ({version.content_hash[:12]})")


@main.command()
@click.argument("key", required=False)
@pass_ctx
def versions(ctx: Context, key: str | None) -> None:
    """List deployed routine versions, newest first."""
    for v in definitions.versions(ctx.db, key):
        click.echo(f"{v.key:24} v{v.version:<4} {v.deployed_at:%Y-%m-%d %H:%M}  "
                   f"{v.content_hash[:12]}  {v.note}")


@main.command("start")
@click.argument("key")
@click.option("--pupil", type=int, required=True, help="The pupil's id.")
@click.option("--as", "username", required=True, help="Who starts the case (a username).")
@click.option("--data", default="{}", help="Initial case data as a JSON object.")
@pass_ctx
def start(ctx: Context, key: str, pupil: int, username: str, data: str) -> None:
    """Start a case of routine KEY for a pupil."""
    case = cases.start_case(ctx.db, key, pupil_id=pupil, by=ctx.user_id(username), data=_json(data))
    click.echo(f"case {case.id} started ({case.status})")
    _print_tasks(tasks.list_tasks(ctx.db, case_id=case.id, state="ready"))


@main.command("cases")
@click.option("--status", type=click.Choice(["running", "completed", "cancelled"]))
@click.option("--unit", type=int, help="Only cases at this school unit id.")
@pass_ctx
def list_cases(ctx: Context, status: str | None, unit: int | None) -> None:
    """List cases, newest first."""
    for c in cases.list_cases(ctx.db, status=status, unit_id=unit):
        click.echo(f"{c.id:>6}  {c.process_key:24} pupil {c.pupil_id:<6} unit {c.unit_id:<4} {c.status:10} "
                   f"{c.started_at:%Y-%m-%d %H:%M}")


@main.command("tasks")
@click.option("--case", "case_id", type=int, help="Only this case's tasks (all states).")
@click.option("--user", "username", help="A user's inbox: assigned to them or open to their roles.")
@click.option("--state", type=click.Choice(["ready", "completed", "cancelled"]))
@pass_ctx
def list_tasks(ctx: Context, case_id: int | None, username: str | None, state: str | None) -> None:
    """List task rows: one case's, a user's inbox, or all ready ones."""
    if username:
        rows = tasks.inbox(ctx.db, ctx.user_id(username))
    else:
        rows = tasks.list_tasks(ctx.db, case_id=case_id, state=state or (None if case_id else "ready"))
    _print_tasks(rows)


def _print_tasks(rows: list[Any]) -> None:
    for t in rows:
        due = f"due {t.due_at:%Y-%m-%d %H:%M}" if t.due_at else ""
        who = f"user {t.assignee_id}" if t.assignee_id else (t.role or "")
        click.echo(f"{t.id}  case {t.case_id:<5} {t.state:9} {t.name[:40]:40} {who:16} {due}")


@main.command("task")
@click.argument("task_id")
@pass_ctx
def show_task(ctx: Context, task_id: str) -> None:
    """Show one task: its state, instructions and the form it expects."""
    row = tasks.get_task(ctx.db, task_id)
    info = tasks.task_info(ctx.db, row)
    click.echo(f"{row.name} — case {row.case_id}, {row.state}, lane {row.role}")
    if info["instructions"]:
        click.echo(info["instructions"])
    if info["form"]:
        click.echo(json.dumps(info["form"], ensure_ascii=False, indent=2))


@main.command()
@click.argument("task_id")
@click.option("--as", "username", required=True, help="Who completes it (a username).")
@click.option("--data", default="{}", help="The form data as a JSON object, or @FILE to read it from a file.")
@pass_ctx
def complete(ctx: Context, task_id: str, username: str, data: str) -> None:
    """Complete a task with form data; the case then runs on to its next wait."""
    if data.startswith("@"):
        data = Path(data[1:]).read_text(encoding="utf-8")
    try:
        row = tasks.complete_task(ctx.db, task_id, _json(data), by=ctx.user_id(username))
    except FormValidationError as exc:
        click.echo("The form is not valid:", err=True)
        for field, messages in exc.errors.items():
            click.echo(f"  {field or '(form)'}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    click.echo(f"completed {row.name!r}; case {row.case_id} is {row.case_status}")
    _print_tasks(tasks.list_tasks(ctx.db, case_id=row.case_id, state="ready"))


@main.command()
@click.argument("case_id", type=int)
@click.option("--as", "username", required=True, help="Who cancels it (the unit's rektor).")
@click.option("--reason", required=True, help="Why the case ends early (kept in the audit log).")
@pass_ctx
def cancel(ctx: Context, case_id: int, username: str, reason: str) -> None:
    """Cancel a running case."""
    case = cases.cancel_case(ctx.db, case_id, by=ctx.user_id(username), reason=reason)
    click.echo(f"case {case.id} {case.status}")


@main.command("scheduler")
@click.option("--once", is_flag=True, help="Do one round of due work and exit (for cron or a check).")
@click.option("--interval", type=int, help="Seconds between rounds (default: ELEVFLOW_SCHEDULER_INTERVAL).")
@pass_ctx
def scheduler_command(ctx: Context, once: bool, interval: int | None) -> None:
    """Fire due BPMN timers, send deadline reminders and escalations, e-mail and daily digests.

    Runs until stopped. Several schedulers may share one PostgreSQL database: each piece of work is
    claimed by one of them. Timers that fell due while nothing ran fire at the first round.
    """
    if once:
        done = scheduler.run_once(ctx.db)
        click.echo(f"timers {done.timers}, notices {done.notices}, e-mails {done.emails}, "
                   f"digests {done.digests}")
        return
    click.echo("Elevflow scheduler running; stop it with Ctrl-C.")
    scheduler.run_forever(ctx.db, interval)


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@pass_ctx
def audit_verify(ctx: Context) -> None:
    """Check the whole chain; name the first event that was edited, inserted or deleted.

    Exits 0 when the chain is intact, 1 when it is broken.
    """
    verdict = audit.verify(ctx.db)
    if verdict.ok:
        click.echo(f"audit log intact: {verdict.checked} events verified")
        return
    click.echo(f"audit log BROKEN at event {verdict.broken_seq}: {verdict.reason} "
               f"({verdict.checked} events before it verified)", err=True)
    sys.exit(1)


@audit_group.command("log")
@click.option("--case", "case_id", type=int, help="Only this case's events.")
@click.option("--limit", default=100, show_default=True)
@pass_ctx
def audit_log(ctx: Context, case_id: int | None, limit: int) -> None:
    """Print audit events in order."""
    for e in audit.events(ctx.db, case_id=case_id, limit=limit):
        click.echo(f"{e.seq:>7} {e.at:%Y-%m-%d %H:%M:%S} {e.kind:20} actor {e.actor_id!s:5} "
                   f"case {e.case_id!s:6} {json.dumps(e.data, ensure_ascii=False)}")


@main.group("breaks")
def breaks_group() -> None:
    """School breaks (lov) that deadlines in business days skip."""


@breaks_group.command("list")
@pass_ctx
def breaks_list(ctx: Context) -> None:
    """List the recorded school breaks."""
    for row, unit in org.breaks(ctx.db):
        click.echo(f"{row.id:>4}  {row.first_day} – {row.last_day}  {row.name:20} {unit}")


@breaks_group.command("add")
@click.argument("name")
@click.argument("first_day")
@click.argument("last_day")
@click.option("--unit", "unit_code", help="Only at the school unit with this skolenhetskod (default: all).")
@pass_ctx
def breaks_add(ctx: Context, name: str, first_day: str, last_day: str, unit_code: str | None) -> None:
    """Record a break from FIRST_DAY to LAST_DAY (YYYY-MM-DD, both included), e.g. Sportlov."""
    try:
        row = org.add_break(ctx.db, name, first_day, last_day, unit_code)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"break {row.id} recorded: {row.name} {row.first_day} – {row.last_day}")


@breaks_group.command("remove")
@click.argument("break_id", type=int)
@pass_ctx
def breaks_remove(ctx: Context, break_id: int) -> None:
    """Remove a recorded break."""
    org.remove_break(ctx.db, break_id)
    click.echo(f"break {break_id} removed")


@main.group("users")
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
        passwords.set_password(ctx.db, username, password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from None
    except NotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="USERNAME") from None
    click.echo(f"password set for {username}")


@main.command("settings")
def show_settings() -> None:
    """List every ELEVFLOW_* setting with its current value and what it does."""
    for s in settings.SETTINGS:
        click.echo(f"{s.name}={settings.get(s.name)}\n    {s.help}")


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object")
    return value


main.add_command(import_group)


def run() -> None:
    try:
        main(standalone_mode=True)
    except ElevflowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
