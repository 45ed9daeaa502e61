"""Elevflow's workflow engine: routines as BPMN, cases that run durably, every step logged.

No web framework is imported here; the web app, the command line and the scheduler all use this API: the
names below, and the public modules (`PUBLIC_MODULES`, docs/engine.md "The public surface"). The web app
may import nothing else of the engine (pyproject.toml's import contracts, tests/test_layers.py); the
command line may.
"""
from .core import Engine
from .documents.pdf import render_decision
from .documents.signing import decision_document, sign_decision, verify_document
from .errors import (
    CaseSubjectError,
    ConflictError,
    DataNotJSONError,
    DefinitionError,
    ElevflowError,
    FormValidationError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    RoutineRefusal,
    SandboxError,
    SigningRequiredError,
    WorkflowError,
)
from .oversight.visibility import (
    NotVisibleError,
    access_history,
    can_view_case,
    case_timeline,
    open_case,
    release_medical,
    task_data_for,
    visible_cases,
)
from .routines.definitions import deploy, deploy_path, versions
from .runtime.cases import cancel_case, case_data, get_case, list_cases, start_case
from .runtime.tasks import StepContext, complete_task, get_task, inbox, list_tasks
from .storage.audit import verify as verify_audit
from .storage.models import MAX_ID, parse_id
from .storage.schema import upgrade
from .storage.store import Database
from .views.drafts import (
    delete_draft,
    delete_filter,
    filters_for,
    follow_ups_due,
    load_draft,
    save_draft,
    save_filter,
    set_follow_up,
)

#: The engine's modules that the web app (and any other client) may use: its services and their vocabulary.
#: The rest — storage, the step machinery, the sandbox, background work — are the engine's own.
PUBLIC_MODULES = (
    "codes", "core", "documents.appeals", "documents.attachments", "documents.case_documents",
    "documents.pdf", "documents.signing", "documents.stepcontext", "errors", "expressions.terms", "logs",
    "org.apitokens",
    "org.exchange", "org.logins", "org.roles", "oversight.quality", "oversight.visibility",
    "routines.definitions", "routines.editing", "routines.formcheck", "routines.quality_measures",
    "routines.versiondiff", "runtime.cases", "runtime.failures", "runtime.health", "runtime.migration",
    "runtime.scheduler", "runtime.tasks", "settings", "storage.jsondata", "views.casediagram", "views.drafts",
    "views.names", "views.people", "views.pupils", "views.taskview", "work.assignment", "work.notify",
    "work.webhooks", "work.worklist",
)

__all__ = [
    "Database", "Engine", "upgrade", "deploy", "deploy_path", "versions", "start_case", "cancel_case",
    "get_case",
    "list_cases", "case_data", "complete_task", "get_task", "inbox", "list_tasks", "verify_audit",
    "ElevflowError", "DefinitionError", "Problem", "SandboxError", "FormValidationError", "DataNotJSONError",
    "ConflictError", "NotFoundError", "PermissionDeniedError", "SigningRequiredError", "WorkflowError",
    "CaseSubjectError", "RoutineRefusal",
    "StepContext", "MAX_ID", "parse_id", "PUBLIC_MODULES",
    # need-to-know and the access log (visibility.py)
    "can_view_case", "open_case", "visible_cases", "access_history", "case_timeline", "task_data_for",
    "release_medical", "NotVisibleError",
    # a user's own drafts, follow-ups and saved filters (drafts.py)
    "save_draft", "load_draft", "delete_draft", "set_follow_up", "follow_ups_due",
    "save_filter", "filters_for", "delete_filter",
    # decision documents and signing (documents.py, signing.py)
    "render_decision", "sign_decision", "decision_document", "verify_document",
]
