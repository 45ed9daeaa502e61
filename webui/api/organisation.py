"""The organisation pushed by another system: SS 12000 JSON documents, imported by the same import as
`elevflow import ss12000` (all or nothing). Only a token given the scope may: it changes who works where,
so no session (whatever its user's roles) and no token narrowed to some units may."""

from __future__ import annotations

from typing import Any

from flask import request

from elevflow.engine.org import exchange

from .. import extensions
from .auth import caller
from .base import answer, body, bp
from .problems import ApiProblem, problem
from .spec import json_response, operation, query, ref

DOCUMENT = {
    "oneOf": [
        {"type": "array", "items": {"type": "object"}},
        {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": {"type": "object"}}},
        },
    ]
}
DOCUMENTS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["organisations", "persons", "duties"],
    "properties": {kind: DOCUMENT for kind in exchange.KINDS},
}


@operation(
    bp,
    "POST",
    "/organisation/ss12000",
    summary="Import the organisation from SS 12000 documents",
    scope="organisation:import",
    tag="organisation",
    body=DOCUMENTS,
    query=[query("dry_run", {"type": "boolean"}, "Say what would change, change nothing.")],
    responses={
        "200": json_response(ref("ImportReport")),
        "422": {
            "description": "The data was refused: `errors` lists every problem.",
            "content": {"application/problem+json": {"schema": ref("Problem")}},
        },
    },
)
def import_ss12000() -> Any:
    who = caller()
    if who.token is None or who.token.unit_ids is not None:
        raise ApiProblem(403, "Only a token given organisation:import for every unit may import.")
    documents = body()
    dry_run = request.args.get("dry_run", "false")
    if dry_run not in ("true", "false"):
        raise ApiProblem(400, "dry_run is true or false.")
    try:
        report = exchange.import_documents(extensions.engine(), documents, dry_run=dry_run == "true")
    except ValueError as exc:
        return problem(422, str(exc))
    except exchange.OrganisationImportError as exc:
        return problem(422, str(exc), errors={"": list(exc.problems)})
    return answer(
        {
            "dry_run": report.dry_run,
            "changed": report.changed,
            "summary": report.summary(),
            "lines": report.lines,
            "notes": report.notes,
            "counts": {
                k: {"added": c.added, "updated": c.updated, "removed": c.removed}
                for k, c in report.counts.items()
            },
        }
    )
