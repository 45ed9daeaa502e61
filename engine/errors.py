"""The errors the engine raises. Every one carries a message a person can act on.

An error a user may see is raised with a code of elevflow.engine.codes and its parameters, e.g.
`ConflictError("conflict.task_state", task=name, state=codes.state(state))` (or with a `Coded`): `code`
and `params` let a user interface say it in the user's language, `str(exc)` is the English (for logs and
the command line). Other errors carry English text only (`code` None): programming errors and refusals
a user interface words itself by the error's class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codes import Coded, english, is_code


class ElevflowError(Exception):
    """Base class of every error the engine raises on purpose."""

    def __init__(self, message: str | Coded = "", /, **params: Any):
        if isinstance(message, Coded):
            params = {**message.params, **params}
            message = message.code
        self.code: str | None = message if is_code(message) else None
        self.params: dict[str, Any] = params if self.code else {}
        super().__init__(english(message, params) if self.code else message)

    @property
    def coded(self) -> Coded:
        """The error as a coded message (English text under the code "plain.text" when it has no code)."""
        return Coded(self.code, self.params) if self.code else Coded("plain.text", {"text": str(self)})


@dataclass
class Problem:
    """One thing wrong with a deployment: what is wrong (a code of engine.codes with its parameters) and
    where it is. `message` is the English text."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    element_id: str | None = None
    line: int | None = None
    file: str | None = None

    def __post_init__(self) -> None:
        if not is_code(self.code):
            raise ValueError(f"unknown problem code {self.code!r}")

    @property
    def message(self) -> str:
        return english(self.code, self.params)

    @property
    def coded(self) -> Coded:
        return Coded(self.code, self.params)

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line:
            where.append(f"line {self.line}")
        if self.element_id:
            where.append(f"element {self.element_id!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class DefinitionError(ElevflowError):
    """A BPMN deployment was refused; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class SandboxError(ElevflowError):
    """An expression or script was refused by, or failed inside, the sandbox."""

    def __init__(self, message: str | Coded, line: int | None = None, **params: Any):
        self.line = line
        super().__init__(message, **params)


class RemoteError(ElevflowError):
    """An error the code of a routine raised in an evaluation worker that is not one of the engine's own
    (such as NameError or ZeroDivisionError): `kind` names its class, `line` the script line, if known."""

    def __init__(self, kind: str, message: str, line: int | None = None):
        self.kind, self.line = kind, line
        super().__init__(message)


class FormValidationError(ElevflowError):
    """Submitted form data does not match the task's form. `errors` maps field path to messages;
    `details` holds structured problems where there are any (formcheck.DateProblem: a date out of the
    order its form declares), so a user interface can say them in its own words."""

    def __init__(self, errors: dict[str, list[str]], details: list | None = None):
        self.errors = errors
        self.details = list(details or [])
        super().__init__("; ".join(f"{k or '(form)'}: {', '.join(v)}" for k, v in errors.items()))


class NotStaffError(FormValidationError):
    """The submitted form names, for a task its own step opens, someone who may not take it: not active
    staff holding a role the task's lane serves at the case's school unit (nor a written delegation for
    its decision). `errors` maps the field to the message, like any form error."""


class DataNotJSONError(ElevflowError):
    """Task or case data holds a value that is not plain JSON. `path` names the key, when known."""

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        super().__init__(message)


class ConflictError(ElevflowError):
    """Someone else changed the case or completed the task first; reload and try again."""


class NotFoundError(ElevflowError):
    """The case, task, definition or organisation record does not exist."""


class PermissionDeniedError(ElevflowError):
    """The user has no right to do this."""


class CaseSubjectError(ElevflowError, ValueError):
    """A routine was started for the wrong kind of subject: a pupil for a unit-level routine (whose cases
    must hold no pupil), or no pupil for a pupil's routine."""


class SigningRequiredError(PermissionDeniedError):
    """The task is a decision: it is completed only by signing it (re-authenticated, with its document)."""


class WorkflowError(ElevflowError):
    """The process itself failed while running (for example a script raised)."""

    def __init__(self, message: str | Coded, element_id: str | None = None, **params: Any):
        self.element_id = element_id
        super().__init__(message, **params)


class RoutineRefusal(WorkflowError):
    """A script's `assert condition, "message"` refused what a user did (a date after today, closing an
    appeal watch before the window ran out): the user's step is refused with the routine's own words and
    nothing is saved, but the routine did not fail, so the case is not marked as stopped."""


class AttachmentRefused(ElevflowError):
    """A file was not attached to a case: empty, too large, of a kind not allowed, not what its name says,
    or refused by the virus scan (engine/documents/attachments.py). Nothing was stored."""
