"""`elevflow sign`: sign a decision from a terminal, after giving one's password again as the web asks."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from elevflow.engine.documents import signing
from elevflow.engine.errors import FormValidationError, PermissionDeniedError
from elevflow.engine.org import logins
from elevflow.engine.runtime import tasks

from .context import Context, pass_ctx

#: The client address the login log records for a re-authentication at the terminal.
ADDRESS = "cli"


def reauthenticate(ctx: Context, username: str, password: str) -> datetime:
    """Check the signer's password again, counted in the login log like a web login (so it cannot be
    guessed at: over ELEVFLOW_LOGIN_ATTEMPTS failures in the window it is refused unchecked); return
    when it succeeded. PermissionDeniedError when it does not."""
    now = datetime.now(timezone.utc)
    limits = logins.Limits(ctx.engine.config.login_window_minutes, ctx.engine.config.login_attempts)
    outcome = logins.password_login(ctx.engine, username, password, ADDRESS, limits)
    if outcome.limited:
        raise PermissionDeniedError("too many failed attempts: wait a while and try again")
    if outcome.user is None:
        raise PermissionDeniedError("wrong password: the decision was not signed")
    return now


@click.command("sign")
@click.argument("task_id")
@click.option("--as", "username", required=True, help="Who signs (the rektor, or a delegate).")
@click.option("--data", default="{}", help="The form data as a JSON object, or @FILE to read it from a file.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the signed decision document to this file.")
@pass_ctx
def sign_command(ctx: Context, task_id: str, username: str, data: str, pdf_path: Path | None) -> None:
    """Sign a decision task: asks for your password again, then completes the task with the form data
    and records the signed decision document (PDF) and its checksum, as Signera does in the web app.

    The password is checked like a web login and counted in the same login log (too many failures and it
    is refused unchecked); it needs a local password. A decision cannot be completed with `elevflow
    complete`; this is the way from a terminal.
    """
    from .commands import _json, _print_tasks  # the command module's own helpers; imported late (cycle)

    if data.startswith("@"):
        data = Path(data[1:]).read_text(encoding="utf-8")
    form = _json(data)
    user_id = ctx.user_id(username)
    password = click.prompt(f"Password for {username} (signing needs it again)", hide_input=True)
    try:
        at = reauthenticate(ctx, username, password)
        signed = signing.sign_decision(ctx.engine, task_id, form, by=user_id, reauthenticated_at=at)
    except FormValidationError as exc:
        click.echo("The form is not valid:", err=True)
        for field, messages in exc.errors.items():
            click.echo(f"  {field or '(form)'}: {'; '.join(messages)}", err=True)
        sys.exit(1)
    done = signed.completed
    click.echo(f"signed {done.name!r} (decision {signed.decision_id}, sha256 {signed.document_sha256}); "
               f"case {done.case_id} is {done.case_status}")
    if pdf_path is not None:
        name, document = signing.decision_document(ctx.engine, user_id, signed.decision_id)
        pdf_path.write_bytes(document)
        click.echo(f"wrote {name} to {pdf_path}")
    _print_tasks(tasks.list_tasks(ctx.engine, case_id=done.case_id, state="ready"))
