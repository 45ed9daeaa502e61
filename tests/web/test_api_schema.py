"""schemathesis against the API's own OpenAPI document: every operation, with every role's token, a modest
number of generated requests each. No answer may be a server error (5xx), and every answer must be as the
document says: a status it lists, its content type, its headers and a body its schema accepts."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .test_api import token_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 12  # per operation and token: enough to reach every branch of an operation's input checks
ROLES = ("teacher", "specialpedagog", "rektor", "outsider")


@pytest.mark.parametrize("role", ROLES)
def test_no_operation_answers_a_server_error_or_against_its_schema(app, engine, people, open_task, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token_for(engine, role)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    described = {
        f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items() for method in ops
    }
    # every operation but the document itself, which schemathesis reads rather than tests (test_api.py does)
    assert {op.label for op in operations} == described - {"GET /api/v1/openapi.json"}

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
