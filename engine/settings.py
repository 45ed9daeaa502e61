"""Every knob Elevflow reads from the environment, declared once.

Each setting is an ``ELEVFLOW_*`` environment variable, parsed strictly; a value that does not parse is an
error at start-up, never a silent default. ``ELEVFLOW_X_FILE`` may name a file holding the value (for
secrets). The same list feeds ``elevflow settings`` and docs/settings.md (a test keeps them in step).

This is the only module that reads the environment. The entry points (the command line, `create_app`,
the benchmarks, the tests) call `load()` once for a `Config` and build an `engine.core.Engine` from it;
everything below them reads `engine.config`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import util
from pathlib import Path
from typing import Any, Callable

from .errors import ElevflowError


def shipped_processes() -> Path:
    """The folder of the routines shipped with Elevflow, the package data `elevflow.processes`
    (site-packages/elevflow/processes when installed, processes/ in a checkout). Found by its import spec,
    not imported: importing it would leave a __pycache__ folder among the routine folders."""
    spec = util.find_spec("elevflow.processes")
    if spec is None or not spec.submodule_search_locations:
        raise ElevflowError("the routines shipped with Elevflow (elevflow.processes) are not installed; "
                            "reinstall Elevflow or set ELEVFLOW_PROCESSES_DIR")
    return Path(next(iter(spec.submodule_search_locations)))


def prometheus_multiprocess() -> bool:
    """Whether prometheus_client's multiprocess mode is on (PROMETHEUS_MULTIPROC_DIR, its own variable,
    which it reads itself: every process then writes its counters to files there, summed at a scrape)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def environment_with(**extra: str) -> dict[str, str]:
    """This process's environment with `extra` added: for a child process that needs one more variable
    (pg_dump's PGPASSWORD, which must not appear on its command line)."""
    return {**os.environ, **extra}


def _folder(value: str) -> str:
    """A folder setting: made absolute against the working directory once, when the settings are read."""
    value = value.strip()
    if not value:
        raise ValueError("must name a folder")
    return str(Path(value).expanduser().resolve())


def _processes(value: str) -> str:
    return _folder(value) if value.strip() else str(shipped_processes())


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().upper()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    return parse


def _flag(value: str) -> bool:
    value = value.strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no", "on", "off"}:
        raise ValueError("must be true or false")
    return value in {"1", "true", "yes", "on"}


def _hour(value: str) -> int:
    hour = int(value)
    if not 0 <= hour <= 23:
        raise ValueError("must be an hour from 0 to 23")
    return hour


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a whole number, 0 or more")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("must be a positive number")
    return number


#: The file kinds an attachment may be (engine/documents/attachments.py checks each by its content).
ATTACHMENT_KINDS = ("pdf", "jpg", "jpeg", "png", "docx", "xlsx", "odt", "ods", "txt")


def _extensions(value: str) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(v.strip().lower().lstrip(".") for v in value.split(",") if v.strip()))
    unknown = [k for k in kinds if k not in ATTACHMENT_KINDS]
    if unknown:
        raise ValueError(f"unknown file kind {', '.join(unknown)}; known: {', '.join(ATTACHMENT_KINDS)}")
    return kinds


def _secret(value: str) -> str:
    value = value.strip()
    if value and len(value) < 32:
        raise ValueError("must be at least 32 characters (e.g. python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(48))')")
    return value


def _url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) address")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    parse: Callable[[str], Any]
    help: str


SETTINGS: list[Setting] = [
    Setting("ELEVFLOW_INSTANCE", "instance", _folder,
            "The instance folder: where the embedded SQLite database (elevflow.db) and the demo's session "
            "key (secret_key) live. A relative path is taken from the working directory when Elevflow starts "
            "and used as the absolute path it names from then on (`elevflow settings` prints it); set an "
            "absolute one (e.g. /var/lib/elevflow) for a service."),
    Setting("ELEVFLOW_DATABASE_URL", "", str,
            "SQLAlchemy URL of the database. Empty (the default): SQLite in the instance folder, "
            "elevflow.db in ELEVFLOW_INSTANCE, for one machine; postgresql+psycopg://user@host/db for "
            "production and several workers. Only `elevflow init` and `elevflow demo` create a database; "
            "every other command refuses one that does not exist or has no Elevflow tables."),
    Setting("ELEVFLOW_PROCESSES_DIR", "", _processes,
            "Folder of the routines that `elevflow init` deploys; `shared/` in it holds the processes that "
            "call activities reach. Empty (the default): the routines shipped in the installed package."),
    Setting("ELEVFLOW_DEADLINES_FILE", "", str,
            "A TOML file of the organiser's own deadlines, overriding the due rules in the diagrams: one "
            "table per routine, `task id = \"rule\"` (e.g. [sarskilt_stod] Task_utse_utredare = \"3BD\"). "
            "Checked at start-up; empty means the diagrams' own rules."),
    Setting("ELEVFLOW_SQLITE_SYNCHRONOUS", "NORMAL", _choice("NORMAL", "FULL"),
            "SQLite's synchronous pragma in WAL mode. NORMAL never corrupts and loses nothing on an "
            "application crash; FULL also keeps the last commits through a power cut, at some speed."),
    Setting("ELEVFLOW_LIVE_CASES", "500", lambda v: max(0, int(v)),
            "How many recently stepped cases each worker keeps in memory, so that the next step of the "
            "same case need not read and deserialize its state (0 turns this off)."),
    Setting("ELEVFLOW_SPEC_CACHE_SIZE", "64", _positive_int,
            "How many parsed process versions each process keeps in memory."),
    Setting("ELEVFLOW_EVAL_WORKERS", "2", _positive_int,
            "Evaluation worker processes per Elevflow process (each gunicorn worker, the scheduler, the "
            "CLI): routine authors' scripts and conditions run there, under the limits below, so that a "
            "runaway one costs a worker, never the server. More lets more steps evaluate at once."),
    Setting("ELEVFLOW_EVAL_CPU_SECONDS", "1", _positive_int,
            "CPU seconds one condition, timer or script may use (enforced by the kernel, RLIMIT_CPU)."),
    Setting("ELEVFLOW_EVAL_WALL_SECONDS", "2", _positive_float,
            "Seconds the server waits for one condition, timer or script before stopping its worker."),
    Setting("ELEVFLOW_EVAL_MEMORY_MB", "256", _positive_int,
            "Memory (address space, MB) of an evaluation worker, the interpreter's own included "
            "(RLIMIT_AS); a condition or script that needs more is stopped."),
    Setting("ELEVFLOW_MAX_TIMER_YEARS", "10", _positive_int,
            "Longest timer, due rule and deadline a routine may set, in years, and how far ahead a timer "
            "date may lie: checked when a routine is published and again when a case runs."),
    Setting("ELEVFLOW_MAX_LOOP_ROUNDS", "100", _positive_int,
            "Most rounds of one BPMN loop and most instances of one multi-instance task in a case; a case "
            "that goes beyond stops with a recorded error."),
    Setting("ELEVFLOW_MAX_STEP_TASKS", "300", _positive_int,
            "Most automatic tasks (gateways, scripts, events) one step of a case may run before it stops "
            "with a recorded error (a loop of automatic tasks that never waits for anyone)."),
    Setting("ELEVFLOW_MAX_STEP_SECONDS", "3", _positive_float,
            "Seconds the automatic tasks of one step of a case may take together (checked between tasks) "
            "before it stops with a recorded error."),
    Setting("ELEVFLOW_BASE_URL", "http://localhost:5000", str,
            "The address staff reach Elevflow at; links in e-mails point here."),
    Setting("ELEVFLOW_SMTP_HOST", "", str,
            "SMTP server for e-mail notifications; empty turns e-mail off (in-app notifications remain)."),
    Setting("ELEVFLOW_SMTP_PORT", "587", _positive_int, "SMTP port."),
    Setting("ELEVFLOW_SMTP_USERNAME", "", str, "SMTP user name, if the server wants a login."),
    Setting("ELEVFLOW_SMTP_PASSWORD", "", str,
            "SMTP password (use ELEVFLOW_SMTP_PASSWORD_FILE for a secret)."),
    Setting("ELEVFLOW_SMTP_STARTTLS", "true", _flag,
            "Upgrade the SMTP connection with STARTTLS before logging in (turn off only for a local relay)."),
    Setting("ELEVFLOW_MAIL_FROM", "elevflow@localhost", str, "The sender address of Elevflow's e-mails."),
    Setting("ELEVFLOW_DIGEST_HOUR", "7", _hour,
            "The hour (Swedish time, 0-23) from which the daily digest goes out to those who take it."),
    Setting("ELEVFLOW_SCHEDULER_INTERVAL", "30", _positive_int,
            "Seconds between the scheduler's rounds (timers, reminders and escalation, e-mail)."),
    Setting("ELEVFLOW_EMBEDDED_SCHEDULER", "true", _flag,
            "Whether the web app runs the scheduler in its own process (the single-machine default); turn "
            "off when `elevflow scheduler` runs separately."),
    Setting("ELEVFLOW_SECRET_KEY", "", _secret,
            "The key that signs the web app's session cookies and form tokens: at least 32 random "
            "characters, the same on every web worker, kept secret (use ELEVFLOW_SECRET_KEY_FILE). The web "
            "app refuses to start without it; `elevflow demo` makes one, secret_key in the instance folder."),
    Setting("ELEVFLOW_SESSION_IDLE_MINUTES", "30", _positive_int,
            "Minutes without any request after which a web session ends and its user must log in again."),
    Setting("ELEVFLOW_SESSION_MAX_HOURS", "12", _positive_int,
            "Hours after logging in after which a web session ends however busy it is, and its user must "
            "log in again (checked on the server at every request: keeping a session alive does not "
            "stretch it)."),
    Setting("ELEVFLOW_LOGIN_ATTEMPTS", "5", _positive_int,
            "Failed logins allowed per username within ELEVFLOW_LOGIN_WINDOW_MINUTES; after that the "
            "username is refused until the window has passed (counted in the database, so across workers)."),
    Setting("ELEVFLOW_LOGIN_ATTEMPTS_PER_ADDRESS", "20", _positive_int,
            "Failed logins allowed per client address within ELEVFLOW_LOGIN_WINDOW_MINUTES (higher than per "
            "username: a whole school often shares one address)."),
    Setting("ELEVFLOW_LOGIN_WINDOW_MINUTES", "15", _positive_int,
            "The window, in minutes, over which failed logins are counted."),
    Setting("ELEVFLOW_TRUSTED_PROXIES", "0", _count,
            "How many reverse proxies stand in front of the web app; their X-Forwarded-For/-Proto/-Host "
            "headers are then trusted for the client's address and scheme (0: none, trust no header)."),
    Setting("ELEVFLOW_METRICS_TOKEN", "", _secret,
            "A bearer token Prometheus sends to read /metrics (at least 32 characters; use "
            "ELEVFLOW_METRICS_TOKEN_FILE). Empty: /metrics answers requests from this machine only "
            "(127.0.0.1, ::1), e.g. a Prometheus agent beside the app."),
    Setting("ELEVFLOW_LOG_FORMAT", "plain", lambda v: _choice("PLAIN", "JSON")(v).lower(),
            "How Elevflow's processes log to standard error: `plain` lines, or `json`, one JSON object a "
            "line (time, level, logger, message, request id) for a log collector. Logs never hold personal "
            "data such as e-mail addresses or names: ids only."),
    Setting("ELEVFLOW_LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"),
            "The lowest level logged (INFO shows the scheduler's rounds and each request's summary)."),
    Setting("ELEVFLOW_OIDC_ISSUER", "", _url,
            "The OpenID Connect provider staff log in with (its issuer address, where "
            "/.well-known/openid-configuration is found). Empty: local passwords only."),
    Setting("ELEVFLOW_OIDC_CLIENT_ID", "", str, "Elevflow's client id at the OpenID Connect provider."),
    Setting("ELEVFLOW_OIDC_CLIENT_SECRET", "", str,
            "Elevflow's client secret at the OpenID Connect provider (use "
            "ELEVFLOW_OIDC_CLIENT_SECRET_FILE)."),
    Setting("ELEVFLOW_OIDC_SCOPES", "openid profile email", str,
            "The scopes asked for at login; the provider must return `eppn` or `preferred_username`."),
    Setting("ELEVFLOW_ATTACHMENT_MAX_MB", "20", _positive_int,
            "The largest file, in MB, that can be attached to a case (test results, a report from BUP)."),
    Setting("ELEVFLOW_ATTACHMENT_TYPES", "pdf,jpg,jpeg,png,docx,xlsx,odt,ods,txt", _extensions,
            "The kinds of file that can be attached to a case, by file name ending (comma-separated; each is "
            "also checked by its content: one of pdf, jpg, jpeg, png, docx, xlsx, odt, ods, txt)."),
    Setting("ELEVFLOW_VIRUS_SCAN_COMMAND", "", str,
            "A command that scans every attached file before it is stored, given the file's path as its "
            "last argument (or where `{path}` stands), e.g. `clamdscan --fdpass --no-summary`: exit status "
            "0 stores the file, anything else refuses it. Empty: files are not scanned."),
    Setting("ELEVFLOW_VIRUS_SCAN_SECONDS", "20", _positive_int,
            "How long the virus scan may take before the file is refused (the upload waits for it: keep it "
            "below the web server's worker timeout, gunicorn's 30 s by default)."),
]


PREFIX = "ELEVFLOW_"


@dataclass(frozen=True)
class Config:
    """Every setting's parsed value, one field per ``ELEVFLOW_*`` name (lower case, without the prefix)."""

    instance: str
    database_url: str
    processes_dir: str
    deadlines_file: str
    sqlite_synchronous: str
    live_cases: int
    spec_cache_size: int
    eval_workers: int
    eval_cpu_seconds: int
    eval_wall_seconds: float
    eval_memory_mb: int
    max_timer_years: int
    max_loop_rounds: int
    max_step_tasks: int
    max_step_seconds: float
    base_url: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_starttls: bool
    mail_from: str
    digest_hour: int
    scheduler_interval: int
    embedded_scheduler: bool
    secret_key: str
    session_idle_minutes: int
    session_max_hours: int
    login_attempts: int
    login_attempts_per_address: int
    login_window_minutes: int
    trusted_proxies: int
    metrics_token: str
    log_format: str
    log_level: str
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str
    oidc_scopes: str
    attachment_max_mb: int
    attachment_types: tuple[str, ...]
    virus_scan_command: str
    virus_scan_seconds: int


def field_name(name: str) -> str:
    """The Config field of setting `name` (ELEVFLOW_SMTP_HOST, SMTP_HOST or smtp_host: smtp_host)."""
    return name.upper().removeprefix(PREFIX).lower()


def load(overrides: Mapping[str, Any] | None = None) -> Config:
    """The settings from the environment, each replaced by `overrides` where that names it (by its name,
    with or without the prefix, in either case: what `create_app(...)` is given). A string override is
    parsed as strictly as the environment's; other values are taken as they are. Keys that name no
    setting are left to the caller (Flask's own, say)."""
    given = {field_name(key): value for key, value in (overrides or {}).items()}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        key = field_name(setting.name)
        if key not in given:
            values[key] = get(setting.name)
        elif isinstance(given[key], str):
            values[key] = _parse(setting, given[key])
        else:
            values[key] = given[key]
    if not values["database_url"]:
        values["database_url"] = sqlite_url(values["instance"])
    return Config(**values)


def sqlite_url(instance: str) -> str:
    """The default database: elevflow.db in the instance folder (an absolute path)."""
    return f"sqlite:///{Path(instance) / 'elevflow.db'}"


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ElevflowError(f"{setting.name}={raw!r} is not valid: {exc}") from None


def default(name: str) -> Any:
    """The parsed default of setting `name` (what it is when the environment does not set it)."""
    setting = next(s for s in SETTINGS if s.name == name)
    return _parse(setting, setting.default)


def get(name: str) -> Any:
    """The parsed value of setting `name`, from the environment, its ``_FILE`` variant, or the default."""
    setting = next((s for s in SETTINGS if s.name == name), None)
    if setting is None:
        raise KeyError(name)
    raw = os.environ.get(name)
    file_name = os.environ.get(name + "_FILE")
    if raw is None and file_name:
        raw = Path(file_name).read_text(encoding="utf-8").strip()
    if raw is None:
        raw = setting.default
    return _parse(setting, raw)


assert [f.name for f in fields(Config)] == [field_name(s.name) for s in SETTINGS], "Config, SETTINGS differ"
