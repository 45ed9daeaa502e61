"""`elevflow api`: system accounts, their API tokens and webhook subscriptions (docs/api.md). The same
engine functions as the administrator's page (webui/blueprints/admin.py)."""

from __future__ import annotations

import click

from elevflow.engine.errors import ConflictError, NotFoundError, PermissionDeniedError
from elevflow.engine.org import apitokens
from elevflow.engine.org import records as org
from elevflow.engine.org.roles import ROLES
from elevflow.engine.storage.models import User
from elevflow.engine.work import webhooks

from .context import ID, Context, pass_ctx


@click.group("api")
def api_group() -> None:
    """The integration API: system accounts, tokens, webhooks."""


@api_group.command("account")
@click.argument("username")
@click.option("--name", required=True, help="What the account is, e.g. 'E-tjänst frånvaro'.")
@click.option("--unit", "units", type=ID, multiple=True, required=True, help="A school unit id (repeatable).")
@click.option(
    "--role",
    "roles",
    type=click.Choice(sorted(ROLES)),
    multiple=True,
    required=True,
    help="A role it holds at each of those units (repeatable); its tokens act with these rights.",
)
@pass_ctx
def account_command(
    ctx: Context, username: str, name: str, units: tuple[int, ...], roles: tuple[str, ...]
) -> None:
    """Create the system account USERNAME: a user that never logs in, whose API tokens act with the roles
    given it at the units given."""
    with ctx.engine.db.write() as session:
        if session.query(User).filter(User.username == username).first() is not None:
            raise click.BadParameter(f"{username!r} exists already", param_hint="USERNAME")
        user = org.add_user(session, username, name, None)
        user.system_account = True
        for unit in units:
            for role in roles:
                org.assign_role(session, user.id, unit, role)
    click.echo(f"system account {username} (id {user.id}) created")


@api_group.command("token-create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    type=click.Choice(sorted(apitokens.SCOPES)),
    multiple=True,
    required=True,
    help="What it may do (repeatable).",
)
@click.option("--unit", "units", type=ID, multiple=True, help="Narrow it to these units (repeatable).")
@click.option(
    "--rate-limit",
    type=click.IntRange(1, 100_000),
    default=apitokens.DEFAULT_RATE_LIMIT,
    show_default=True,
    help="Requests a minute.",
)
@click.option("--person", is_flag=True, help="Allow USERNAME to be a person's account, not a system account.")
@pass_ctx
def token_create_command(
    ctx: Context,
    username: str,
    name: str,
    scopes: tuple[str, ...],
    units: tuple[int, ...],
    rate_limit: int,
    person: bool,
) -> None:
    """Create an API token acting as USERNAME; prints the token, shown only this once."""
    try:
        info, secret = apitokens.create_token(
            ctx.engine,
            username,
            name,
            list(scopes),
            unit_ids=list(units) or None,
            by=None,
            system_only=not person,
            rate_limit=rate_limit,
        )
    except (ValueError, NotFoundError, PermissionDeniedError) as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"token {info.id} ({info.prefix}...) for {username}:", err=True)
    click.echo(secret)


@api_group.command("token-list")
@pass_ctx
def token_list_command(ctx: Context) -> None:
    """Every API token: id, prefix, account, scopes, units, last use, revoked."""
    for t in apitokens.tokens(ctx.engine):
        units = ",".join(map(str, t.unit_ids)) if t.unit_ids is not None else "all"
        click.echo(
            f"{t.id}\t{t.prefix}...\t{t.username}\t{' '.join(t.scopes)}\tunits:{units}\t"
            f"used:{t.last_used_at.isoformat() if t.last_used_at else '-'}\t"
            f"{'revoked ' + t.revoked_at.isoformat() if t.revoked_at else 'active'}\t{t.name}"
        )


@api_group.command("token-revoke")
@click.argument("token_id", type=ID)
@pass_ctx
def token_revoke_command(ctx: Context, token_id: int) -> None:
    """Revoke API token TOKEN_ID: it authenticates nothing from now on."""
    try:
        apitokens.revoke_token(ctx.engine, token_id, by=None)
    except (NotFoundError, ConflictError) as exc:
        raise click.BadParameter(str(exc), param_hint="TOKEN_ID") from None
    click.echo(f"token {token_id} revoked")


@api_group.command("webhook-add")
@click.argument("url")
@click.option("--name", required=True)
@click.option(
    "--event",
    "events",
    type=click.Choice(webhooks.EVENTS),
    multiple=True,
    help="An event kind it wants (repeatable; none: every kind).",
)
@click.option("--unit", "units", type=ID, multiple=True, help="Only these units' events (repeatable).")
@pass_ctx
def webhook_add_command(
    ctx: Context, url: str, name: str, events: tuple[str, ...], units: tuple[int, ...]
) -> None:
    """Subscribe URL to case and task events; prints the signing secret, shown only this once."""
    try:
        subscription, secret = webhooks.subscribe(
            ctx.engine, name, url, events=list(events), unit_ids=list(units) or None, by=None
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"webhook {subscription.id} for {subscription.url}; signing secret:", err=True)
    click.echo(secret)


@api_group.command("webhook-list")
@pass_ctx
def webhook_list_command(ctx: Context) -> None:
    """Every webhook subscription with its backlog."""
    for s in webhooks.subscriptions(ctx.engine):
        click.echo(
            f"{s.id}\t{'active' if s.active else 'paused'}\tpending:{s.pending}\tfailing:{s.failing}\t"
            f"{s.url}\t{s.name}"
        )
