"""Commands for process owners (check a diagram, export a version, move running cases to a new one), and
recording a message a case waits for."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from elevflow.engine.expressions.bounds import Bounds
from elevflow.engine.routines import editing
from elevflow.engine.runtime import crosscase, messages, migration

from .context import Context, pass_ctx


@click.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def check_command(ctx: Context, path: Path) -> None:
    """Say whether the .bpmn file at PATH can run in Elevflow, and if not, which elements stand in the
    way and why (the forms/ folder beside it is read too). Exits 0 when it can run, 1 when not."""
    forms = {p.name: p.read_text(encoding="utf-8") for p in sorted((path.parent / "forms").glob("*.json"))}
    found = editing.verdict({path.name: path.read_text(encoding="utf-8")}, forms, None,
                            Bounds.of(ctx.config))
    if found.runnable:
        click.echo(f"{path.name}: runnable ({', '.join(found.keys)})")
        return
    click.echo(f"{path.name}: Elevflow cannot run it:")
    for problem in found.problems:
        click.echo(f"  - {problem}")
    sys.exit(1)


@click.command("export")
@click.argument("key")
@click.option("--version", "number", type=int, help="Which version (default: the newest).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output).")
@pass_ctx
def export_command(ctx: Context, key: str, number: int | None, output: Path | None) -> None:
    """Write routine KEY's BPMN file as deployed."""
    version = migration.target_version(ctx.engine, key, number)
    _name, xml = editing.export_version(ctx.engine, version.id)
    if output:
        output.write_text(xml, encoding="utf-8")
        click.echo(f"{key} v{version.version} written to {output}")
    else:
        click.echo(xml, nl=False)


@click.command("migrate")
@click.argument("key")
@click.option("--to", "number", type=int, help="The version to move to (default: the newest).")
@click.option("--case", "case_ids", type=int, multiple=True, help="Only this case (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only report which cases could move, and why not.")
@click.option("--as", "username", required=True, help="Who moves them (a process owner's username).")
@pass_ctx
def migrate_command(ctx: Context, key: str, number: int | None, case_ids: tuple[int, ...], dry_run: bool,
                    username: str) -> None:
    """Move running cases of routine KEY to a newer version where that is safe.

    A case moves only when nothing it has done or waits on is removed or changed in the new version;
    each case is listed with why it can or cannot move. Every move is written to the audit log.
    """
    by = ctx.user_id(username)
    assert by is not None
    act = migration.plan if dry_run else migration.migrate
    report = act(ctx.engine, key, number, by=by, case_ids=list(case_ids) or None)
    if not report:
        click.echo(f"no running case of {key} is on another version")
    for move in report:
        verdict = ("moved" if move.moved else "can move") if move.movable else "cannot move"
        click.echo(f"case {move.case_id}: v{move.from_version} -> v{move.to_version}: {verdict}")
        for reason in move.reasons:
            click.echo(f"    {reason}")


@click.command("message")
@click.argument("case_id", type=int)
@click.argument("name", required=False)
@click.option("--as", "username", help="Who records it (someone at the pupil's school unit).")
@pass_ctx
def message_command(ctx: Context, case_id: int, name: str | None, username: str | None) -> None:
    """Record that message NAME arrived for case CASE_ID (a receive task or message event waits for it);
    without NAME, list the messages the case waits for."""
    if name is None:
        for waiting in messages.waiting_messages(ctx.engine, case_id):
            click.echo(waiting)
        return
    status = messages.deliver(ctx.engine, case_id, name, by=ctx.user_id(username))
    click.echo(f"message {name!r} recorded; case {case_id} is {status}")


@click.command("unmatched")
@pass_ctx
def unmatched_command(ctx: Context) -> None:
    """List the messages cases threw that no case has received: kept (tried again each scheduler round
    until their keep-until time) or expired."""
    for row in crosscase.pending(ctx.engine):
        state = "expired" if row.outcome == "expired" else f"kept until {row.keep_until:%Y-%m-%d %H:%M}"
        click.echo(f"{row.id}: {row.name!r} from case {row.sender_case_id}, "
                   f"thrown {row.created_at:%Y-%m-%d %H:%M}, {state}")
