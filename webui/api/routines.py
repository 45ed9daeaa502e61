"""Routines and their versions (names and numbers: the diagrams themselves stay in the routine editor)."""

from __future__ import annotations

from typing import Any

from elevflow.engine.routines import definitions

from .. import extensions
from .base import answer, bp
from .problems import ApiProblem
from .spec import items_of, json_response, operation, ref

ROUTINE_LIST = items_of("Routine")


def _routines(key: str | None = None) -> list[dict[str, Any]]:
    database = extensions.engine()
    by_key: dict[str, list[Any]] = {}
    for version in definitions.versions(database, key):
        by_key.setdefault(version.key, []).append(version)
    unit_level = definitions.unit_routines(database)
    return [
        {
            "key": k,
            "name": found[0].name,
            "latest_version": found[0].version,
            "subject": "unit" if k in unit_level else "pupil",
            "versions": [
                {
                    "id": v.id,
                    "key": v.key,
                    "version": v.version,
                    "name": v.name,
                    "deployed_at": v.deployed_at,
                    "note": v.note,
                }
                for v in found
            ],
        }
        for k, found in sorted(by_key.items())
    ]


@operation(
    bp,
    "GET",
    "/routines",
    summary="The deployed routines, each with its versions",
    scope="routines:read",
    tag="routines",
    responses={"200": json_response(ROUTINE_LIST)},
)
def list_routines() -> Any:
    return answer({"items": _routines()})


@operation(
    bp,
    "GET",
    "/routines/{key}",
    summary="One routine and its versions, newest first",
    scope="routines:read",
    tag="routines",
    responses={"200": json_response(ref("Routine"))},
)
def get_routine(key: str) -> Any:
    found = _routines(key)
    if not found:
        raise ApiProblem(404)
    return answer(found[0])
