"""Elevflow's workflow engine: routines as BPMN, cases that run durably, every step logged.

No web framework is imported here; the web app, the command line and the scheduler all use this API.
"""
from .audit import verify as verify_audit
from .cases import cancel_case, case_data, get_case, list_cases, start_case
from .definitions import deploy, deploy_path, versions
from .errors import (
    ConflictError,
    DataNotJSONError,
    DefinitionError,
    ElevflowError,
    FormValidationError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    SandboxError,
    WorkflowError,
)
from .schema import upgrade
from .store import Database
from .tasks import complete_task, get_task, inbox, list_tasks

__all__ = [
    "Database", "upgrade", "deploy", "deploy_path", "versions", "start_case", "cancel_case", "get_case",
    "list_cases", "case_data", "complete_task", "get_task", "inbox", "list_tasks", "verify_audit",
    "ElevflowError", "DefinitionError", "Problem", "SandboxError", "FormValidationError", "DataNotJSONError",
    "ConflictError", "NotFoundError", "PermissionDeniedError", "WorkflowError",
]
