"""Rutiner, for process owners: every routine with its version history (who, what, when), a visual diff
between two versions, downloading a version's .bpmn file, and moving running cases to a new version
(a dry run first, then the audited move)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from elevflow.engine.errors import ElevflowError, NotFoundError
from elevflow.engine.routines import definitions, editing, versiondiff
from elevflow.engine.runtime import failures, migration
from elevflow.engine.views import names

from .. import extensions, lookups
from ..codes import say_error
from ..owners import nav_context, owner_required

bp = Blueprint("routines", __name__)
bp.app_context_processor(nav_context)


@bp.get("/rutiner")
@owner_required
def index() -> Any:
    """Every deployed routine with its newest version, the open drafts, and importing a .bpmn file."""
    database = extensions.engine()
    newest: dict[str, Any] = {}
    for version in definitions.versions(database):
        newest.setdefault(version.key, version)
    drafts = editing.drafts(database, by=g.user.id)
    who = names.user_names(database, [d.updated_by for d in drafts])
    return render_template("routines/index.html", routines=sorted(newest.values(), key=lambda v: v.name),
                           drafts=drafts, names=who, when=lookups.local_time,
                           unmatched=failures.unmatched_messages(database, by=g.user.id))


@bp.get("/rutiner/<key>")
@owner_required
def history(key: str) -> Any:
    database = extensions.engine()
    versions = definitions.versions(database, key)
    if not versions:
        abort(404)
    who = names.user_names(database, [v.deployed_by for v in versions if v.deployed_by])
    stopped = failures.stopped_cases(database, key, by=g.user.id)
    return render_template("routines/history.html", key=key, versions=versions, names=who,
                           when=lookups.local_time, stopped=stopped)


@bp.get("/rutiner/<key>/jamfor")
@owner_required
def diff(key: str) -> Any:
    """What changed from one version (`fran`) to another (`till`), listed and coloured on both diagrams."""
    database = extensions.engine()
    versions = {v.version: v for v in definitions.versions(database, key)}
    old, new = versions.get(request.args.get("fran", type=int) or 0), versions.get(
        request.args.get("till", type=int) or 0)
    if old is None or new is None:
        abort(404)
    found = versiondiff.compare(database, old.id, new.id)
    return render_template("routines/diff.html", key=key, old=old, new=new, diff=found,
                           versions=sorted(versions), name=new.name)


@bp.get("/rutiner/version/<int:version_id>.bpmn")
@owner_required
def export(version_id: int) -> Any:
    try:
        name, xml = editing.export_version(extensions.engine(), version_id)
        version = editing.get_version(extensions.engine(), version_id)
    except NotFoundError:
        abort(404)
    response = Response(xml, mimetype="application/xml")
    stem = name.removesuffix(".bpmn")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}-v{version.version}.bpmn"'
    return response


@bp.get("/rutiner/<key>/flytta")
@owner_required
def migration_plan(key: str) -> Any:
    """The dry run: each running case on an older version, whether it can move to the newest, and why."""
    database = extensions.engine()
    try:
        target = migration.target_version(database, key, None)
        report = migration.plan(database, key, by=g.user.id)
    except NotFoundError:
        abort(404)
    return _migration_page(key, target, report)


@bp.post("/rutiner/<key>/flytta")
@owner_required
def migrate(key: str) -> Any:
    """Move every case the dry run allows (judged again under each case's lock) to the version the page
    showed; a newer version published meanwhile is not taken without a new dry run."""
    database = extensions.engine()
    number = request.form.get("version", type=int)
    try:
        target = migration.target_version(database, key, None)
        if number != target.version:
            flash(_("En nyare version har publicerats sedan sidan visades. Granska flytten igen."), "error")
            return redirect(url_for("routines.migration_plan", key=key))
        report = migration.migrate(database, key, target.version, by=g.user.id)
    except NotFoundError:
        abort(404)
    except ElevflowError as exc:
        flash(say_error(exc), "error")
        return redirect(url_for("routines.migration_plan", key=key))
    moved = sum(1 for m in report if m.moved)
    flash(ngettext("%(num)d ärende flyttades till version %(version)d.",
                   "%(num)d ärenden flyttades till version %(version)d.", moved, version=target.version),
          "success")
    return _migration_page(key, target, report)


def _migration_page(key: str, target: Any, report: list[Any]) -> Any:
    units = names.unit_names(extensions.engine(), {m.unit_id for m in report})
    return render_template("routines/migration.html", key=key, target=target, report=report, units=units,
                           movable=sum(1 for m in report if m.movable and not m.moved))
