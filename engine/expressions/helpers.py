"""What BPMN expressions and scripts can call: helper functions, bounded builtins and timer values.

Everything here works on JSON-friendly values, because that is what task data holds: a date is text
'YYYY-MM-DD', a moment is ISO-8601 text with its UTC offset ('2026-12-01T08:00:00+01:00'). Functions that
take a date also accept a datetime text (its date part, as written, is used) and Python `date` objects.

"Today" and "now" are Swedish school time (Europe/Stockholm) and read the clock through
`datetime.now(...)`, so tests can move them with time-machine.

Business days skip Saturdays, Sundays and Swedish public holidays (engine.expressions.holidays); another
calendar
can be plugged in with `set_holiday_provider(callable)`.

The builtins `range`, `sum` and `str` are bounded (`MAX_ITEMS`, `MAX_RENDER`), like the sandbox's operators.
See docs/expressions.md for process owners and `elevflow.engine.expressions.sandbox` for what is guarded.
"""
from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from RestrictedPython import limited_builtins, safe_builtins
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..codes import Coded
from ..errors import SandboxError
from .bounds import DEFAULT, timer_value_problem
from .holidays import is_public_holiday

HolidayProvider = Callable[[date], bool]
DateLike = str | date

#: Largest number of business days `business_days_add` moves (about 40 years).
MAX_BUSINESS_DAYS = 10_000
#: Largest span, in calendar days, that `business_days_between` counts over (about 100 years).
MAX_DAY_SPAN = 36_600
#: A calendar may not mark more days than this in a row as non-business days (a summer break is ~70).
MAX_NON_BUSINESS_RUN = 120
#: Longest text or list that an operation in an expression may build (`range()` included).
MAX_ITEMS = 100_000
#: Largest value (items plus characters) that `str()`, f-strings and % formatting may turn into text.
MAX_RENDER = 1_000_000

try:
    LOCAL_TZ: tzinfo | None = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # no time zone database installed: fall back to the server's own zone
    LOCAL_TZ = None

_holiday_provider: HolidayProvider | None = is_public_holiday


def set_holiday_provider(provider: HolidayProvider | None) -> None:
    """Install `provider(day) -> bool`, telling whether a date is a holiday; `None` removes it.

    Weekends are skipped regardless; the provider is asked only about Mondays to Fridays.
    """
    global _holiday_provider
    _holiday_provider = provider


def _parse(value: object) -> date | datetime:
    if isinstance(value, date):  # also datetime, a subclass of date
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a date written 'YYYY-MM-DD', got {type(value).__name__}")
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: write dates as 'YYYY-MM-DD'") from None


def _to_date(value: object) -> date:
    parsed = _parse(value)
    return parsed.date() if isinstance(parsed, datetime) else parsed


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    return value


# the caller's clock, in an evaluation worker (elevflow.engine.expressions.evalworker)
_fixed_now: datetime | None = None


def set_clock(moment: datetime | None) -> None:
    """Make `today()` and `now()` read `moment` (an aware datetime) instead of the clock; None undoes it.

    An evaluation worker runs each expression at the moment its caller asked, so that the caller's clock
    (moved by time-machine in tests) is the one that counts."""
    global _fixed_now
    _fixed_now = moment


def _local_now() -> datetime:
    if _fixed_now is not None:
        return _fixed_now.astimezone(LOCAL_TZ) if LOCAL_TZ else _fixed_now.astimezone()
    return datetime.now(LOCAL_TZ) if LOCAL_TZ else datetime.now().astimezone()


def today() -> str:
    """Today's date in Sweden, e.g. ``today() == '2026-12-01'``."""
    return _local_now().date().isoformat()


def now() -> str:
    """The current moment in Swedish time, to the second: ``'2026-12-01T08:30:00+01:00'``."""
    return _local_now().isoformat(timespec="seconds")


def date_add(d: DateLike, days: int = 0, weeks: int = 0) -> str:
    """`d` moved by calendar days and weeks (negative to go back): ``date_add('2026-12-04', days=3)``
    is ``'2026-12-07'``. A datetime text stays a datetime text."""
    parsed = _parse(d)
    moved = parsed + timedelta(days=_whole(days, "days"), weeks=_whole(weeks, "weeks"))
    return moved.isoformat()


def is_business_day(d: DateLike) -> bool:
    """Whether `d` is a business day: Monday to Friday and not a holiday."""
    day = _to_date(d)
    return day.weekday() < 5 and not (_holiday_provider and _holiday_provider(day))


def business_days_add(d: DateLike, n: int) -> str:
    """The date `n` business days after `d` (before it if `n` is negative); weekends and holidays are
    skipped: ``business_days_add('2026-12-04', 1) == '2026-12-07'`` (Friday + 1 is Monday).
    With ``n == 0`` the date comes back unchanged, even on a weekend."""
    return add_business_days(_to_date(d), _whole(n, "n")).isoformat()


def add_business_days(day: date, n: int, also_off: HolidayProvider | None = None) -> date:
    """`business_days_add` on dates, with `also_off` marking further days off (a unit's school breaks)."""
    if abs(n) > MAX_BUSINESS_DAYS:
        raise ValueError(f"n must be between -{MAX_BUSINESS_DAYS} and {MAX_BUSINESS_DAYS}, got {n}")
    step, left, idle = timedelta(days=1 if n > 0 else -1), abs(n), 0
    while left:
        day += step
        if is_business_day(day) and not (also_off and also_off(day)):
            left, idle = left - 1, 0
        else:
            idle += 1
            if idle > MAX_NON_BUSINESS_RUN:
                raise ValueError(f"no business day within {MAX_NON_BUSINESS_RUN} days of {day.isoformat()}")
    return day


def business_days_between(a: DateLike, b: DateLike) -> int:
    """How many business days come after `a` up to and including `b` (negative if `b` is before `a`):
    ``business_days_between('2026-12-04', '2026-12-07') == 1``. It is the inverse of
    `business_days_add` whenever `b` is itself a business day."""
    start, end = _to_date(a), _to_date(b)
    sign = 1 if end >= start else -1
    low, high = min(start, end), max(start, end)
    span = (high - low).days
    if span > MAX_DAY_SPAN:
        raise ValueError(f"the dates are more than {MAX_DAY_SPAN} days apart")
    count = sum(1 for offset in range(1, span + 1) if is_business_day(low + timedelta(days=offset)))
    return sign * count


def days_between(a: DateLike, b: DateLike) -> int:
    """Calendar days from `a` to `b` (negative if `b` is earlier): ``days_between('2026-12-01',
    '2026-12-08') == 7``."""
    return (_to_date(b) - _to_date(a)).days


def statutory_last_day(d: DateLike) -> str:
    """The last day of a time limit set by law, as lag (1930:173) om beräkning av lagstadgad tid 2 § moves
    it: a day that falls on a Saturday, Sunday, public holiday, midsommarafton, julafton or nyårsafton
    moves to the next weekday that is none of these. ``statutory_last_day('2026-12-25') == '2026-12-28'``
    (juldagen, then annandag jul and a weekend). School breaks do not move it."""
    day = _to_date(d)
    for _ in range(MAX_NON_BUSINESS_RUN):
        if is_business_day(day):
            return day.isoformat()
        day += timedelta(days=1)
    raise ValueError(f"no weekday within {MAX_NON_BUSINESS_RUN} days of {_to_date(d).isoformat()}")


def end_of_day(d: DateLike) -> str:
    """The moment a Swedish day ends: midnight after it, in Swedish time with its UTC offset, for a timer
    that must not fire before the day is over. ``end_of_day('2026-12-28') == '2026-12-29T00:00:00+01:00'``."""
    midnight = datetime.combine(_to_date(d) + timedelta(days=1), time(0, 0))
    local = midnight.replace(tzinfo=LOCAL_TZ) if LOCAL_TZ else midnight.astimezone()
    return local.isoformat()


def iso_duration(days: int = 0, hours: int = 0, minutes: int = 0, weeks: int = 0) -> str:
    """An ISO-8601 duration for a timer: ``iso_duration(days=7) == 'P7D'``,
    ``iso_duration(hours=24) == 'PT24H'``; weeks are counted as 7 days (``'P14D'`` for two)."""
    total_days = _whole(days, "days") + 7 * _whole(weeks, "weeks")
    hours, minutes = _whole(hours, "hours"), _whole(minutes, "minutes")
    if min(total_days, hours, minutes) < 0:
        raise ValueError("a timer duration cannot be negative")
    date_part = f"{total_days}D" if total_days else ""
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if not date_part and not time_part:
        return "PT0S"
    return f"P{date_part}" + (f"T{time_part}" if time_part else "")


TimerKind = Literal["timeDate", "timeDuration", "timeCycle"]
_DURATION = (r"P(?:\d+W|(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?"
             r"(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:[.,]\d+)?S)?)?)")
_DATETIME = (r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:T(?:[01]\d|2[0-3]):[0-5]\d"
             r"(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?")
_TIMER_LITERAL = re.compile(
    rf"\s*(R\d*/(?:{_DATETIME}/{_DURATION}|{_DURATION}/{_DATETIME}|{_DURATION})|{_DURATION}|{_DATETIME})\s*")
_NAIVE_TIME = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+")
_TIMER_NEEDS = {"timeDate": Coded("timer.needs_date"), "timeDuration": Coded("timer.needs_duration"),
                "timeCycle": Coded("timer.needs_cycle")}
_TIMER_PARSERS: dict[str, Callable[[str], object]] = {
    "timeDate": TimerEventDefinition.get_datetime, "timeDuration": TimerEventDefinition.parse_iso_duration,
    "timeCycle": TimerEventDefinition.parse_iso_recurring_interval}


def timer_literal(source: str) -> str | None:
    """The bare ISO-8601 timer literal that `source` is (``P7D``, ``R3/PT1H``, ``2026-12-01T08:00Z``,
    without surrounding space), or None. Strict: the whole text, upper case, valid field ranges."""
    match = _TIMER_LITERAL.fullmatch(source)
    return match.group(1) if match else None


def timer_problem(value: str, kind: TimerKind | None = None,
                  years: int = DEFAULT.timer_years) -> Coded | None:
    """Why `value` is not a timer value SpiffWorkflow can use (for the BPMN element `kind`, if given), or
    one reaching further than `years` (the organiser's ELEVFLOW_MAX_TIMER_YEARS)."""
    actual: Any = {"R": "timeCycle", "P": "timeDuration"}.get(value[:1], "timeDate")
    if kind and kind != actual:
        return Coded("timer.wrong_kind", {"kind": kind, "needs": _TIMER_NEEDS[kind], "value": value})
    if any(_NAIVE_TIME.fullmatch(part) for part in value.split("/")):
        return Coded("timer.no_offset", {"value": value})
    too_far = timer_value_problem(value, years)  # before SpiffWorkflow counts a duration out month by month
    if too_far:
        return too_far
    try:
        _TIMER_PARSERS[actual](value)
    except Exception as exc:  # SpiffWorkflow raises bare Exceptions here
        return Coded("timer.invalid", {"value": value, "kind": actual, "detail": str(exc)})
    return None


def size_of(value: object, limit: int) -> int:
    """Items plus characters in `value`, shared parts counted each time; stops counting past `limit`."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        total += len(item) + 1 if isinstance(item, str) else item.bit_length() // 3 + 1 \
            if isinstance(item, int) else 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return total


def check_renderable(value: object) -> None:
    """Refuse (SandboxError) a value too large to turn into text."""
    if not isinstance(value, (str, int, float)) and size_of(value, MAX_RENDER) > MAX_RENDER:
        raise SandboxError(f"the value is too large to turn into text (the limit is {MAX_RENDER:,})")


def bounded_range(*args: int) -> range:
    """``range()`` of at most `MAX_ITEMS` numbers."""
    result = range(*args)
    if -((result.start - result.stop) // result.step) > MAX_ITEMS:  # its length, without overflowing
        raise SandboxError(f"range() may give at most {MAX_ITEMS:,} numbers")
    return result


def bounded_sum(iterable: Iterable[Any], start: int | float = 0) -> Any:
    """``sum()`` of numbers only (adding up lists this way takes quadratic time)."""
    if isinstance(start, bool) or not isinstance(start, (int, float)):
        raise SandboxError("sum() adds numbers only")
    return sum(iterable, start)


def bounded_str(value: object = "") -> str:
    """``str()``, refusing values too large to render."""
    check_renderable(value)
    return str(value)


#: The helper functions, by the name expressions and scripts call them with.
HELPERS: dict[str, Callable[..., object]] = {
    "today": today,
    "now": now,
    "date_add": date_add,
    "is_business_day": is_business_day,
    "business_days_add": business_days_add,
    "business_days_between": business_days_between,
    "days_between": days_between,
    "iso_duration": iso_duration,
    "statutory_last_day": statutory_last_day,
    "end_of_day": end_of_day,
}

_FROM_RESTRICTED = {**safe_builtins, **limited_builtins}
#: The builtins expressions may use: harmless on plain data, or bounded.
BUILTINS: dict[str, Callable[..., object]] = {
    **{name: _FROM_RESTRICTED[name] for name in ("abs", "bool", "float", "int", "len", "round")},
    **{name: getattr(builtins, name) for name in ("min", "max", "sorted", "any", "all", "list", "dict",
                                                  "enumerate", "zip")},
    "range": bounded_range, "sum": bounded_sum, "str": bounded_str,
}
