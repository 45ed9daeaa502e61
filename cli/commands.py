"""The `elevflow` command: set up the database, deploy routines, run and inspect cases from a terminal."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from elevflow.engine import logs, settings
from elevflow.engine.errors import DataNotJSONError, ElevflowError, FormValidationError
from elevflow.engine.org import demo
from elevflow.engine.org import records as org
from elevflow.engine.routines import definitions
from elevflow.engine.routines.specs import CANCEL_GROUNDS
from elevflow.engine.runtime import cases, health, scheduler, tasks
from elevflow.engine.storage import audit, jsondata, schema

from .api import api_group
from .backup import backup_command, restore_command
from .context import ID, Context, ElevflowGroup, deploy_folder, deploy_shipped, pass_ctx
from .demo import demo_command, users_group
from .organisation import import_group
from .routines import check_command, export_command, message_command, migrate_command, unmatched_command
from .sign import sign_command


@click.group(cls=ElevflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", envvar="ELEVFLOW_DATABASE_URL", metavar="URL",
              help="Database URL (default: ELEVFLOW_DATABASE_URL, else elevflow.db in the instance folder, "
              "ELEVFLOW_INSTANCE: ./instance where you run the command).")
@click.pass_context
def main(ctx: click.Context, database: str | None) -> None:
    """Elevflow: the student health routines of a school as BPMN processes that run and log every step.

    Every command exits with code 3 when its database cannot be reached, does not exist or has no
    Elevflow tables (only `init` and `demo` create one), and 2 on a refused request or bad input.
    """
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
    new version. This command and `demo` are the only ones that create a database.
    """
    ctx.may_create = True
    schema.upgrade(ctx.engine)
    click.echo(f"Database ready: {ctx.engine.db.engine.url.render_as_string(hide_password=True)}")
    if with_demo:
        loaded = demo.load(ctx.engine)
        click.echo("Demo organisation loaded." if loaded else "People exist already; no demo loaded.")
    if no_deploy:
        return
    for version in deploy_shipped(ctx):
        click.echo(f"  {version.key} v{version.version}")


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
    for version in deploy_folder(ctx, path, note, ctx.user_id(username)):
        click.echo(f"{version.key} v{version.version} ({version.content_hash[:12]})")


@main.command()
@click.argument("key", required=False)
@pass_ctx
def versions(ctx: Context, key: str | None) -> None:
    """List deployed routine versions, newest first."""
    for v in definitions.versions(ctx.engine, key):
        click.echo(f"{v.key:24} v{v.version:<4} {v.deployed_at:%Y-%m-%d %H:%M}  "
                   f"{v.content_hash[:12]}  {v.note}")


@main.command("start")
@click.argument("key")
@click.option("--pupil", type=ID, help="The pupil's id (a routine for a pupil).")
@click.option("--unit", type=ID, help="The school unit's id (a unit-level routine; or another unit than "
              "the pupil's).")
@click.option("--as", "username", required=True, help="Who starts the case (a username).")
@click.option("--data", default="{}", help="Initial case data as a JSON object.")
@pass_ctx
def start(ctx: Context, key: str, pupil: int | None, unit: int | None, username: str, data: str) -> None:
    """Start a case of routine KEY for a pupil, or for a school unit (a unit-level routine)."""
    case = cases.start_case(ctx.engine, key, pupil_id=pupil, unit_id=unit, by=ctx.user_id(username),
                            data=_json(data))
    click.echo(f"case {case.id} started ({case.status})")
    _print_tasks(tasks.list_tasks(ctx.engine, case_id=case.id, state="ready"))


@main.command("cases")
@click.option("--status", type=click.Choice(["running", "completed", "cancelled", "failed"]))
@click.option("--unit", type=ID, help="Only cases at this school unit id.")
@pass_ctx
def list_cases(ctx: Context, status: str | None, unit: int | None) -> None:
    """List cases, newest first."""
    for c in cases.list_cases(ctx.engine, status=status, unit_id=unit):
        pupil = "–" if c.pupil_id is None else c.pupil_id
        click.echo(f"{c.id:>6}  {c.process_key:24} pupil {pupil:<6} unit {c.unit_id:<4} {c.status:10} "
                   f"{c.started_at:%Y-%m-%d %H:%M}")


@main.command("tasks")
@click.option("--case", "case_id", type=ID, help="Only this case's tasks (all states).")
@click.option("--user", "username", help="A user's inbox: assigned to them or open to their roles.")
@click.option("--state", type=click.Choice(["ready", "completed", "cancelled"]))
@pass_ctx
def list_tasks(ctx: Context, case_id: int | None, username: str | None, state: str | None) -> None:
    """List task rows: one case's, a user's inbox, or all ready ones."""
    if username:
        rows = tasks.inbox(ctx.engine, ctx.user_id(username))
    else:
        rows = tasks.list_tasks(ctx.engine, case_id=case_id, state=state or (None if case_id else "ready"))
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
    row = tasks.get_task(ctx.engine, task_id)
    info = tasks.task_info(ctx.engine, row)
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
    """Complete a task with form data; the case then runs on to its next wait (a decision: `sign`)."""
    if data.startswith("@"):
        data = _read_data_file(data[1:])
    try:
        row = tasks.complete_task(ctx.engine, task_id, _json(data), by=ctx.user_id(username))
    except FormValidationError as exc:
        click.echo("The form is not valid:", err=True)
        for field, messages in exc.errors.items():
            click.echo(f"  {field or '(form)'}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    click.echo(f"completed {row.name!r}; case {row.case_id} is {row.case_status}")
    _print_tasks(tasks.list_tasks(ctx.engine, case_id=row.case_id, state="ready"))


@main.command()
@click.argument("case_id", type=ID)
@click.option("--as", "username", required=True, help="Who cancels it (the unit's rektor).")
@click.option("--reason", required=True, help="Why the case ends early (kept in the audit log).")
@click.option("--ground", type=click.Choice(sorted(CANCEL_GROUNDS)),
              help="The listed ground, needed once the routine restricts cancelling (a reported support "
                   "case: the pupil moved, or a duplicate).")
@pass_ctx
def cancel(ctx: Context, case_id: int, username: str, reason: str, ground: str | None) -> None:
    """Cancel a running case."""
    if not reason.strip():
        raise click.BadParameter("give the reason the case ends early", param_hint="--reason")
    case = cases.cancel_case(ctx.engine, case_id, by=ctx.user_id(username), reason=reason, ground=ground)
    click.echo(f"case {case.id} {case.status}")


@main.command("scheduler")
@click.option("--once", is_flag=True, help="Do one round of due work and exit (for cron or a check).")
@click.option("--interval", type=click.IntRange(1, 86_400),
              help="Seconds between rounds (default: ELEVFLOW_SCHEDULER_INTERVAL).")
@pass_ctx
def scheduler_command(ctx: Context, once: bool, interval: int | None) -> None:
    """Fire due BPMN timers, send deadline reminders and escalations, e-mail and daily digests.

    Runs until stopped. Several schedulers may share one PostgreSQL database: each piece of work is
    claimed by one of them. Timers that fell due while nothing ran fire at the first round.
    """
    if once:
        done = scheduler.run_once(ctx.engine)
        click.echo(f"timers {done.timers}, notices {done.notices}, e-mails {done.emails}, "
                   f"digests {done.digests}")
        return
    click.echo("Elevflow scheduler running; stop it with Ctrl-C.")
    scheduler.run_forever(ctx.engine, interval)


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@click.option("--expect-head", metavar="SEQ:HASH",
              help="A head `elevflow audit head` printed earlier: the chain must still hold that event.")
@pass_ctx
def audit_verify(ctx: Context, expect_head: str | None) -> None:
    """Check the whole chain; name the first event that was edited, inserted or deleted.

    With --expect-head, also check that the chain still holds the event an earlier `audit head` named
    (the chain alone cannot show that an older backup was restored, or that it was rewritten whole).

    Exits 0 when the chain is intact, 1 when it is broken, 3 when the database cannot be reached (or does
    not exist, or has no Elevflow tables): an alert can tell tampering from an outage.
    """
    try:
        expected = audit.Head.parse(expect_head) if expect_head is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expect-head") from None
    verdict = audit.verify(ctx.engine, expect=expected)
    health.mark(ctx.engine, health.AUDIT_VERIFY, verdict.ok, verdict.reason or "")  # for /metrics
    if verdict.ok:
        click.echo(f"audit log intact: {verdict.checked} events verified"
                   + (f", event {expected.seq} is the expected head's" if expected is not None else ""))
        return
    click.echo(f"audit log BROKEN at event {verdict.broken_seq}: {verdict.reason} "
               f"({verdict.checked} events before it verified)", err=True)
    sys.exit(1)


@audit_group.command("head")
@pass_ctx
def audit_head(ctx: Context) -> None:
    """Print the newest event's sequence number and hash, as SEQ:HASH.

    Write it down now and then somewhere the database's administrators cannot change (a log server, a
    signed e-mail); `audit verify --expect-head SEQ:HASH` then shows whether the chain still holds it.
    """
    click.echo(str(audit.head(ctx.engine)))


@audit_group.command("log")
@click.option("--case", "case_id", type=ID, help="Only this case's events.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1_000_000))
@pass_ctx
def audit_log(ctx: Context, case_id: int | None, limit: int) -> None:
    """Print audit events in order."""
    for e in audit.events(ctx.engine, case_id=case_id, limit=limit):
        click.echo(f"{e.seq:>7} {e.at:%Y-%m-%d %H:%M:%S} {e.kind:20} actor {e.actor_id!s:5} "
                   f"case {e.case_id!s:6} {json.dumps(e.data, ensure_ascii=False)}")


@main.group("breaks")
def breaks_group() -> None:
    """School breaks (lov) that deadlines in business days skip."""


@breaks_group.command("list")
@pass_ctx
def breaks_list(ctx: Context) -> None:
    """List the recorded school breaks."""
    for row, unit in org.breaks(ctx.engine):
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
        row = org.add_break(ctx.engine, name, first_day, last_day, unit_code)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"break {row.id} recorded: {row.name} {row.first_day} – {row.last_day}")


@breaks_group.command("remove")
@click.argument("break_id", type=ID)
@pass_ctx
def breaks_remove(ctx: Context, break_id: int) -> None:
    """Remove a recorded break."""
    org.remove_break(ctx.engine, break_id)
    click.echo(f"break {break_id} removed")


@main.command("settings")
def show_settings() -> None:
    """List every ELEVFLOW_* setting with its current value and what it does."""
    config = settings.load()
    for s in settings.SETTINGS:
        click.echo(f"{s.name}={getattr(config, settings.field_name(s.name))}\n    {s.help}")


def _json(text: str) -> dict[str, Any]:
    """--data: a JSON object Elevflow can store (see jsondata.py), or a clear refusal."""
    try:
        value = jsondata.loads(text, "the data")
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--data") from None
    except DataNotJSONError as exc:
        raise click.BadParameter(str(exc), param_hint="--data") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data")
    try:
        jsondata.ensure_json(value, "the data")
    except DataNotJSONError as exc:
        raise click.BadParameter(str(exc), param_hint="--data") from None
    return value


def _read_data_file(name: str) -> str:
    """The text of --data @FILE: a UTF-8 file that exists, or a clear refusal."""
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise click.BadParameter(f"no file {name!r}", param_hint="--data") from None
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{name!r} is not UTF-8 text (byte {exc.start})",
                                 param_hint="--data") from None
    except OSError as exc:
        raise click.BadParameter(f"cannot read {name!r}: {exc.strerror}", param_hint="--data") from None


main.add_command(import_group)
main.add_command(demo_command)
main.add_command(users_group)
main.add_command(check_command)
main.add_command(export_command)
main.add_command(migrate_command)
main.add_command(message_command)
main.add_command(unmatched_command)
main.add_command(sign_command)
main.add_command(api_group)
main.add_command(backup_command)
main.add_command(restore_command)


def run() -> None:
    """The `elevflow` program: logging set up once for the process (ELEVFLOW_LOG_*), then the command."""
    try:
        logs.configure(settings.load())
    except ElevflowError:
        pass  # a setting that does not parse: the command says which, as it starts
    main(standalone_mode=True)
