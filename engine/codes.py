"""The engine's message catalogue: every deploy problem and every engine error a person may see has a
stable code and named parameters; here is its English text (the command line and the logs print it).

A user interface says the same code in its own words (webui/codes.py holds the Swedish; Babel the
English of the web), so the engine never decides a user's language. A parameter may itself be a coded
message (`Coded`), such as the reason inside "condition refused: <reason>"; it is said in the same
language. A list parameter is said as its items joined by ", ".
"""
from __future__ import annotations

import re
import string
from typing import Any, NamedTuple

#: code -> English template; `{name}` placeholders only (no format specs: the web formats the same params)
MESSAGES: dict[str, str] = {
    # any text from outside Elevflow's own words (SpiffWorkflow, lxml, RestrictedPython, JSON Schema)
    "plain.text": "{text}",
    # --- reading a BPMN file -------------------------------------------------------------------------
    "xml.unknown_encoding": "the file says its encoding is '{codec}', which Elevflow cannot read; save it "
                            "as UTF-8",
    "xml.bad_encoding": "the file is not valid {codec} text (at byte {byte}); save it as UTF-8",
    "xml.doctype": "a DOCTYPE declaration (and so any entity) is not allowed in BPMN files",
    "xml.malformed": "malformed XML: {detail}",
    "xml.not_bpmn": "the root element is not bpmn:definitions (is this a BPMN 2.0 file?)",
    # --- files, folders and drafts -------------------------------------------------------------------
    "file.too_large": "the file is larger than {mb} MB",
    "file.not_bpmn": "only .bpmn files can be imported",
    "file.no_process": "the file holds no process",
    "file.no_bpmn_in_folder": "no .bpmn file found in {path}",
    "file.missing": "{path} does not exist",
    "draft.too_large": "the diagram is larger than {mb} MB",
    "draft.form_name": "a form's file name ends in .json and names no folder",
    "draft.no_such_file": "the draft holds no such file",
    "draft.process_renamed": "the draft no longer holds an executable process '{key}': keep the process id "
                             "(import the file as a new routine to start another one)",
    # --- constructs Elevflow cannot run (support.py) ---------------------------------------------------
    "unsupported.service_task": "a service task calls an outside system, and Elevflow has no connectors: "
                                "make it a user task (a person does it) or a script task",
    "unsupported.business_rule_task": "a business rule task evaluates a DMN decision table, which Elevflow "
                                      "does not deploy: let a user task record the decision and an "
                                      "exclusive gateway act on it",
    "unsupported.data_store": "a data store stands for an outside system; Elevflow keeps a case's data in "
                              "the case: remove it (data objects are fine)",
    "unsupported.complex_gateway": "complex gateways cannot run (SpiffWorkflow does not support them): use "
                                   "an exclusive, inclusive or parallel gateway",
    "unsupported.compensation": "compensation cannot run (SpiffWorkflow does not support it): model the "
                                "undoing as ordinary steps",
    "unsupported.global_task": "global tasks cannot run: put the task in the process, or call a process "
                               "instead",
    "unsupported.ad_hoc_subprocess": "an ad-hoc subprocess (its steps done in any order, as people choose) "
                                     "cannot run: draw the steps with flows, or in parallel branches of a "
                                     "parallel gateway",
    "unsupported.link_event": "link events cannot run (SpiffWorkflow does not join a link's throw to its "
                              "catch, so the case would stop there): draw the sequence flow instead",
    "unsupported.conditional_event": "a conditional event cannot run: it is only checked as the case reaches "
                                     "it and nothing wakes it later; let an exclusive gateway choose on the "
                                     "case's data, or wait for a message or a timer",
    "unsupported.flow_condition": "a condition on a flow leaving a task or event cannot run: route the "
                                  "flow through an exclusive gateway and put the condition there",
    "task.send_no_lane": "a send task tells the people of its lane, and this one is in no lane: put it in "
                         "the lane of the role it tells",
    # --- the routine's processes (validation.py) ------------------------------------------------------
    "spiff.problem": "{detail}",
    "spiff.one_start_event": "Exactly one start event is required in a subprocess: draw one plain start "
                             "event",
    "spiff.no_start_event": "No start event found: a process needs a start event",
    "spiff.multi_instance_cardinality": "A multiinstance task must specify a cardinality (how many) or a "
                                        "collection to go through",
    "spiff.loop_end": "A loop task needs a loop maximum or a loop condition, or it never ends",
    "spiff.subprocess_end": "A subprocess must contain an end event",
    "spiff.task_flows": "A task of this type may have only one outgoing flow: choose with a gateway after it",
    "spiff.timer": "The timer cannot be read: give an ISO 8601 date, duration (P7D) or cycle (R3/P1D)",
    "spiff.duplicate_process": "Duplicate process ID: another file has a process with the same id",
    "spiff.cancel_event": "Cancel events may only be used with transactions",
    "spiff.missing_definition": "The event names a message, signal, error or escalation the file does not "
                                "define",
    "spiff.cannot_read": "SpiffWorkflow cannot read this file: {detail}",
    "spiff.cannot_build": "SpiffWorkflow cannot build process '{key}': {detail}",
    "spiff.cannot_start": "SpiffWorkflow cannot start process '{key}': {detail}",
    "process.not_executable": "no executable process: mark the routine's process isExecutable=\"true\"",
    "process.too_deep": "SpiffWorkflow cannot read a process this deep: it follows a path step by step, and "
                        "this one has more steps one after another than it can follow (a few hundred); "
                        "split it into processes that call activities start",
    "process.endless_start": "a case of this process could not even start: SpiffWorkflow, laying out its "
                             "paths ahead, goes round a loop without end (a loop through parallel gateways "
                             "with no condition on it?) or down a chain of steps too long to follow",
    "process.unknown_property": "unknown routine property '{name}' (known: {known}; and the figures and "
                                "document sections it declares: count:KEY, breakdown:KEY, leadTime:KEY, "
                                "label:KEY, perUnit, reportAt, document:KIND, section:KIND:N)",
    # a routine's declared quality figures and document sections (quality_measures.py, document_sections.py)
    "decl.problem": "{property}: {reason}",
    "decl.key_form": "a figure's key is lower-case letters, digits and _, not '{key}'",
    "decl.count_form": "a count lists step ids, decision=KIND or cancelled",
    "decl.count_form_not": "a count lists step ids, decision=KIND or cancelled, not {items}",
    "decl.lead_time_form": "a lead time is FROM -> TO, each a step id or decisions KIND ...",
    "decl.breakdown_form": "a breakdown is answers STEP.FIELD ...: PART ..., decisions: KIND ... or "
                           "cancelled: GROUND ...",
    "decl.not_step_field": "'{item}' is not STEP.FIELD",
    "decl.answers_need_field": "a breakdown of answers names the STEP.FIELD it reads",
    "decl.part_only_answers": "'{item}': only a breakdown of answers names parts PART=FIELD.VALUE",
    "decl.count_step": "count '{key}' counts step '{step}', which is not a user task of the routine "
                       "(renamed or removed? name the step it counts now)",
    "decl.count_decision": "count '{key}' counts decisions of kind '{kind}', which no decision task of the "
                           "routine records (kinds: {kinds})",
    "decl.lead_step": "lead time '{key}' starts or ends at step '{step}', which is not a user task of the "
                      "routine (renamed or removed? name the step it counts now)",
    "decl.lead_decision": "lead time '{key}' starts or ends at decisions of kind '{kind}', which no decision "
                          "task of the routine records (kinds: {kinds})",
    "decl.report_at_step": "reportAt names step '{step}', which is not a user task of the routine "
                           "(renamed or removed? name the step it counts now)",
    "decl.per_unit": "perUnit names '{key}', which is no count of the routine",
    "decl.breakdown_decision": "breakdown '{key}' counts decisions of kind '{kind}', which no decision task "
                               "of the routine records",
    "decl.breakdown_ground": "breakdown '{key}' counts cancellations on ground '{ground}', which is no known "
                             "ground ({known})",
    "decl.breakdown_step": "breakdown '{key}' reads step '{step}', which is not a user task of the routine "
                           "(renamed or removed? name the step it reads now)",
    "decl.breakdown_field": "breakdown '{key}' reads field '{field}' of step '{step}', which its form {form} "
                            "does not have",
    "decl.breakdown_part": "breakdown '{key}' names a part for field '{field}', which it does not read",
    "decl.section_form": "a section is section:KIND:N = Heading: STEP.FIELD ..., a document "
                         "document:KIND = Title | legal ground",
    "decl.case_document_form": "a case document is caseDocument:KIND = Title | legal ground | STEP ...",
    "decl.case_document_step": "the {document} document reads step '{step}', which is not a user task of the "
                                "routine",
    "decl.document_kind": "the document of decision kind '{kind}', which no decision task of the routine "
                          "records (kinds: {kinds})",
    "decl.section_step": "section '{heading}' of the {kind} document reads step '{step}', which is not a "
                         "user task of the routine (renamed or removed? name the step it reads now)",
    "decl.section_field": "section '{heading}' of the {kind} document reads field '{field}' of step "
                          "'{step}', which its form {form} does not have",
    "decision.document_field": "this step records a decision of kind '{kind}', whose document prints "
                               "{fields}, which the routine's forms collected before and no longer do "
                               "(renamed or removed? keep the fields, or record a kind of your own and "
                               "declare its document with document:KIND and section:KIND:N)",
    "process.bad_property": "{name} is '{value}'; it must be one of {allowed}",
    "process.visible_to_unknown": "visibleTo names '{name}', which is not a known role",
    "lane.unknown_role": "lane '{lane}' is not a known role (the roles a lane may name: {known})",
    "lane.not_for_cases": "lane '{lane}' works on routines, never on cases (the roles a lane may name: "
                          "{known})",
    "task.no_lane": "user task is not in a lane: put it in the lane of its role",
    "task.form_missing": "form '{form}' does not exist in the routine's forms/ folder",
    "task.personal_no_assignee": "a personal task must name who it goes to (assigneeFrom, e.g. startad_av)",
    "task.unknown_cancel_grounds": "cancelGrounds names unknown grounds {grounds} (known: {known})",
    "task.step_declaration": "{reason}",
    "step.context_unknown_step": "context names step '{step}', which is not a user task of the routine "
                                 "(renamed or removed? name the step it builds on now)",
    "step.context_itself": "context names the step itself ('{step}'): name the earlier steps it builds on",
    "step.prefill_form": "a prefill clause is FIELD=SOURCE (SOURCE: today, guardians, STEP.FIELD or "
                         "STEP.FIELD[KEY]), not '{clause}'",
    "step.prefill_no_form": "prefill fills a form, and the step has none",
    "step.prefill_unknown_target": "prefill fills '{field}', which the step's form {form} does not have",
    "step.prefill_unknown_step": "prefill reads step '{step}', which is not a user task of the routine",
    "step.prefill_unknown_field": "prefill reads '{field}', which the form of step '{step}' does not have",
    "step.prefill_mismatch": "prefill puts {source} into '{field}', which cannot hold it (a date takes "
                             "today, a list of rows the guardians, and a field a value of its own kind)",
    "expression.refused": "{what} refused: {reason}",
    "what.condition": "condition",
    "what.timer": "timer",
    "what.loop_cardinality": "loop cardinality",
    "what.completion_condition": "completion condition",
    "what.loop_condition": "loop condition",
    "what.loop_maximum": "loop maximum",
    "what.event_condition": "event condition",
    "what.message_payload": "message payload",
    "what.service_parameter": "service task parameter",
    "what.script": "script",
    "what.pre_script": "pre-script",
    "what.post_script": "post-script",
    "what.a_timer": "a timer",
    "what.a_due_rule": "a due rule",
    # --- forms -----------------------------------------------------------------------------------------
    "form.not_json": "form is not valid JSON: {detail}",
    "form.not_utf8": "a form must be UTF-8 text (JSON is), but byte {byte} is not",
    "form.not_object": "a form must be a JSON Schema of type object",
    "form.bad_schema": "not a valid JSON Schema: {detail}",
    "form.case_conditions": "caseConditions must be a list of {{\"if\": <schema>, \"then\": <schema>}}",
    "form.case_condition_schema": "caseConditions {part}: not a valid JSON Schema: {detail}",
    "form.date_rule_format": "{field}: {rule} is only for a field of format date or date-time",
    "form.date_rule_references": "{field}: {rule} must be a list of references (\"today\" or a data key)",
    # --- timers, due rules and bounds ------------------------------------------------------------------
    "due.bad_rule": "due rule '{rule}' is neither an ISO-8601 duration (P1W, P3D, PT24H) nor a number of "
                    "business days (5BD)",
    "timer.too_long": "'{value}' is too long for {what}: at most {years} years (the organiser's setting "
                      "ELEVFLOW_MAX_TIMER_YEARS)",
    "timer.too_far": "'{value}' lies too far ahead for a timer: at most {years} years (the organiser's "
                     "setting ELEVFLOW_MAX_TIMER_YEARS)",
    "timer.wrong_kind": "{kind} needs {needs}, not '{value}'",
    "timer.needs_date": "a date such as 2026-12-01T08:00:00+01:00",
    "timer.needs_duration": "a duration such as P7D or PT24H",
    "timer.needs_cycle": "a cycle such as R3/PT1H",
    "timer.no_offset": "'{value}' has a time of day but no UTC offset; add one, such as "
                       "2026-12-01T08:00:00+01:00 (SpiffWorkflow would use the server's offset at start-up)",
    "timer.invalid": "'{value}' is not a valid {kind}: {detail}",
    "timer.not_text": "a timer must be ISO-8601 text such as P7D, not {value}",
    "timer.as_condition": "'{literal}' is a timer value, not a condition or expression; a condition is true "
                          "or false, such as beslut == 'atgardsprogram'",
    "loop.maximum_not_whole": "loopMaximum must be a whole number, not '{value}'",
    "loop.maximum_too_many": "a loop may run at most {limit} rounds, not {value} (the organiser's setting "
                             "ELEVFLOW_MAX_LOOP_ROUNDS)",
    "loop.cardinality_not_whole": "a number of instances must be a whole number, 0 or more, not {value}",
    "loop.cardinality_too_many": "a multi-instance task may have at most {limit} instances, not {value} (the "
                                 "organiser's setting ELEVFLOW_MAX_LOOP_ROUNDS)",
    # --- a case that stopped on its routine (shown on the case page) -----------------------------------
    "limit.step_seconds": "the case's automatic steps took more than {limit} s without waiting for anyone "
                          "(last at {step}); the routine seems to loop without end (the organiser's setting "
                          "ELEVFLOW_MAX_STEP_SECONDS)",
    "limit.step_tasks": "the case ran more than {limit} automatic steps without waiting for anyone (last at "
                        "{step}); the routine seems to loop without end (the organiser's setting "
                        "ELEVFLOW_MAX_STEP_TASKS)",
    "limit.too_deep": "the routine loops or nests too deeply for the engine to follow (a loop of automatic "
                      "steps that never waits for anyone, or a very long chain of steps)",
    "limit.rounds": "{step} went beyond {limit} {what}; the case is stopped there (the organiser's setting "
                    "ELEVFLOW_MAX_LOOP_ROUNDS)",
    "what.loop_rounds": "loop rounds",
    "what.instances": "instances",
    "what.instances_asked": "instances ({value} asked for)",
    # --- conflicts: someone else was first ------------------------------------------------------------
    "conflict.case_changed": "case {case} was changed by someone else meanwhile; reload it and try again",
    "conflict.case_changed_since_opened": "case {case} was changed by someone else since you opened it; "
                                          "reload it and try again",
    "conflict.same_moment": "someone else changed the same case at the same moment; reload it and try again",
    "conflict.case_status": "case {case} is already {status}",
    "conflict.task_state": "task '{task}' is already {state}",
    "conflict.task_done_by": "task '{task}' is already {state} (by user {user} at {at})",
    "conflict.task_changed": "task '{task}' was changed by someone else meanwhile",
    "conflict.task_taken": "task '{task}' is already taken by user {user}",
    "conflict.not_waiting": "case {case} is not waiting for message '{message}' (it waits for {waiting})",
    "conflict.nothing_recorded": "'{name}' has recorded nothing yet ({state})",
    "attachment.empty": "the file is empty",
    "attachment.too_large": "the file is larger than {mb} MB",
    "attachment.kind": "files ending in '{ending}' cannot be attached; these can: {allowed}",
    "attachment.content": "the file's content is not what its name says ({ending})",
    "attachment.infected": "the virus scan refused the file",
    "attachment.scan_failed": "the virus scan could not check the file; try again later or ask the "
                              "administrator",
    "conflict.draft_saved_at": "draft {draft} was saved by someone else meanwhile (at {at}); reload it and "
                               "make your change again",
    "conflict.draft_saved": "draft {draft} was saved by someone else meanwhile; reload it first",
    "conflict.version_published": "version {version} of {key} was published after this draft was opened "
                                  "({at}): open it again and redo the change",
    "conflict.nothing_to_publish": "the draft is identical to version {version}: nothing to publish",
    "conflict.deployed_same_moment": "{key} was deployed by someone else at the same moment; deploy again",
    "conflict.version_unreadable": "a stored version cannot be read: {problem}",
    "conflict.different_routines": "versions {old} and {new} belong to different routines",
    "conflict.token_revoked": "API token {token} is already revoked",
    "what.no_message": "no message",
    "what.none": "none",
    "what.no_form": "(none)",
    # the states a task or case can be in, as a conflict names them
    "state.ready": "ready",
    "state.completed": "completed",
    "state.cancelled": "cancelled",
    "state.failed": "failed",
    "state.running": "running",
}

_FIELDS = string.Formatter()
CODE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")


class Coded(NamedTuple):
    """A message as a code and its parameters; `str()` says it in English."""

    code: str
    params: dict[str, Any] = {}  # noqa: RUF012 - never mutated: a NamedTuple default

    def __str__(self) -> str:
        return english(self.code, self.params)


def placeholders(template: str) -> set[str]:
    """The names a `{name}` template takes."""
    return {name for _text, name, _spec, _conv in _FIELDS.parse(template) if name}


def english(code: str, params: dict[str, Any] | None = None) -> str:
    """The English text of a code with its parameters (nested codes and lists said in English too)."""
    return MESSAGES[code].format(**{k: say_param(v, str) for k, v in (params or {}).items()})


def say_param(value: Any, say: Any) -> str:
    """A parameter as text: a nested message through `say`, a list joined by commas, else `str`."""
    if isinstance(value, Coded):
        return say(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(say_param(v, say) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def is_code(text: object) -> bool:
    return isinstance(text, str) and text in MESSAGES


def to_json(message: Coded) -> dict[str, Any]:
    """A coded message as plain JSON (to store it): nested messages as {"code", "params"} objects."""
    def value(v: Any) -> Any:
        if isinstance(v, Coded):
            return to_json(v)
        return [value(x) for x in v] if isinstance(v, (list, tuple)) else v
    return {"code": message.code, "params": {k: value(v) for k, v in message.params.items()}}


def from_json(data: Any) -> Coded | None:
    """A stored coded message back (None for anything else, such as a code this version no longer has)."""
    if not isinstance(data, dict) or not is_code(data.get("code")):
        return None

    def value(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"code", "params"}:
            return from_json(v) or ""
        return [value(x) for x in v] if isinstance(v, list) else v
    return Coded(data["code"], {k: value(v) for k, v in (data.get("params") or {}).items()})


def state(word: str) -> Coded | str:
    """A task's or case's state as a coded word (said in the reader's language), if it is one."""
    return Coded(f"state.{word}") if f"state.{word}" in MESSAGES else word
