"""The sandbox for BPMN conditions, timers and scripts, which process owners edit in the browser.

Source is compiled once (cached per text) by RestrictedPython with `SandboxTransformer` and runs with
nothing but plain task data, the helpers of `engine.expressions.helpers` and the guard functions below.
Guarded:

1. Names and attributes starting with ``_`` are refused at compile time (``__class__``, ``__import__``,
   ``__builtins__`` ...), and so are frame, code and generator internals (``gi_frame``, ``f_globals``).
2. ``import``, ``def``, ``class`` (hence decorators), ``try``, ``with``, ``raise``, ``global``, ``match``
   and async code are refused at compile time; ``lambda`` is allowed (``sorted(key=...)``).
3. Dangerous names are refused at compile time (`RESERVED_NAMES`: ``open, eval, exec, compile, getattr,
   globals, vars, dir, breakpoint, print, bytes, memoryview, object, super`` ...), and so are calls of
   `CALL_REFUSED` (``type(), id(), repr(), iter(), format(), help()`` ...; as plain data keys they stay).
4. The only builtins are `engine.expressions.helpers.BUILTINS` (``range``, ``sum``, ``str`` bounded there): no
   ``__import__``, no ``__build_class__``.
5. Attributes go through `guarded_getattr`: RestrictedPython's ``safer_getattr``, plus refusing
   ``str.format``/``format_map`` (``'{0.__class__}'.format(x)`` reaches attributes), ``mro``, any
   attribute of a class or module (``int.from_bytes``) and methods building unbounded text (`BLOCKED`).
6. Subscripts go through `guarded_getitem` (no subscripting classes); writes go only into dicts and lists
   (RestrictedPython's ``full_write_guard``).
7. Sizes: ``*``, ``**``, ``<<``, ``+``, ``%`` (and ``*=`` ...) call `guarded_binop`, which refuses text
   and lists over `MAX_ITEMS` and ints over `MAX_INT_BITS` bits; ``str.join/replace/ljust/rjust/center/
   zfill``, ``list.extend``, ``range()``, ``sum()``, ``str()``, f-strings and ``%``-formatting are bounded
   too. Operations on constants are checked at compile time (``'a' * 10**10``).
8. Steps: at most `MAX_STEPS` loop iterations (counted in ``_getiter_`` and by a tick at the top of every
   ``while`` body) and lambda calls per evaluation, within `MAX_CPU_SECONDS` of CPU time (checked every
   16 steps); ``while True`` without ``break`` is refused at compile time.
9. What leaves the sandbox (task data after a script, an expression's value) must be plain JSON data
   (functions are dropped; sets, ranges and the like raise DataNotJSONError) of at most `MAX_DATA` items
   and characters.
10. A bare ISO-8601 timer literal (``P7D``, ``R3/PT1H``, ``2026-12-01T08:00:00+01:00``), as bpmn.io and
    Camunda write them, evaluates to itself (`elevflow.engine.expressions.helpers.timer_literal`).

Not bounded here: memory as such (a loop may keep a new 100,000-character text per iteration until the
time limit), and C-level work between two steps (comparing two lists nested 60 deep, each level holding
the one below twice, takes 2**60 operations; ``round(1, -10**9)`` is one long C call). Those bounds are
the operating system's: the engine's script engine (`script_engine`, a `BoundedEnvironment`) runs every
script, and every expression that `is_cheap` cannot prove cheap, in an evaluation worker process with
RLIMIT_AS, RLIMIT_CPU and a wall-clock watchdog (engine.expressions.evalpool, engine.expressions.evalworker).
`SandboxEnvironment`
itself evaluates in the calling process: the workers use it, and so do tests of the guards above.
"""
from __future__ import annotations

import ast
import functools
import math
import operator
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from types import CodeType, ModuleType
from typing import Any, Literal, NamedTuple

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

from ..errors import DataNotJSONError, RemoteError, SandboxError
from . import bounds
from .helpers import (
    BUILTINS,
    HELPERS,
    MAX_ITEMS,
    TimerKind,
    check_renderable,
    size_of,
    timer_literal,
    timer_problem,
)

MAX_INT_BITS = 10_000  #: largest int an operation may build
MAX_STEPS = 100_000  #: loop iterations and lambda calls per evaluation or script run
MAX_CPU_SECONDS = 1.0  #: CPU time per evaluation or script run, checked every 16 steps
MAX_DATA = 5_000_000  #: largest data (items + characters) that may leave the sandbox
CACHE_SIZE = 4096  #: compiled sources kept
FILENAME = "<string>"  # the name SpiffWorkflow looks for in tracebacks to find a script's line

_NOT_AVAILABLE = "it is not available in expressions"
RESERVED_NAMES = {
    **dict.fromkeys(("getattr", "setattr", "delattr", "hasattr"), "attributes cannot be looked up by name"),
    **dict.fromkeys(("globals", "locals", "vars", "dir"), "scopes cannot be inspected"),
    **dict.fromkeys(("eval", "exec", "compile"), "code cannot be run from text"),
    **dict.fromkeys(("open", "exit", "quit", "breakpoint", "memoryview", "bytearray", "bytes", "object",
                     "super", "classmethod", "staticmethod", "property", "builtins", "printed"),
                    _NOT_AVAILABLE),
    "print": "there is no screen to print to; store the value in task data instead"}
CALL_REFUSED = frozenset({"type", "id", "hash", "repr", "ascii", "iter", "next", "format", "help", "input",
                          "callable", "isinstance", "issubclass", "map", "filter", "reversed", "set"})
BLOCKED = {
    **dict.fromkeys(("format", "format_map"), "str.format can reach attributes; use an f-string or %"),
    **dict.fromkeys(("translate", "maketrans", "expandtabs"), "it can build unbounded text"),
    **dict.fromkeys(("encode", "to_bytes", "from_bytes"), "bytes are not supported"),
    **dict.fromkeys(INSPECT_ATTRIBUTES, "frames, code and tracebacks cannot be inspected"),
    "mro": "classes cannot be inspected"}
_NO_IMPORT = "import is not allowed: only the built-in helpers are available"
_REFUSED_NODES: dict[type, str] = {
    ast.Import: _NO_IMPORT, ast.ImportFrom: _NO_IMPORT, ast.ClassDef: "class definitions are not allowed",
    ast.FunctionDef: "function definitions (def) are not allowed; write the steps out or use a lambda",
    ast.AsyncFunctionDef: "function definitions (def) are not allowed",
    ast.Try: "try/except is not allowed; check values with if instead", ast.With: "with is not allowed",
    ast.Raise: "raise is not allowed; use assert condition, 'message' instead",
    ast.Global: "global is not allowed", ast.Nonlocal: "nonlocal is not allowed"}
_GUARDED_OPS = {ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}
_OPS = {"*": operator.mul, "**": operator.pow, "<<": operator.lshift, "+": operator.add, "%": operator.mod}
_INPLACE = {op + "=": getattr(operator, name) for op, name in [
    ("+", "iadd"), ("-", "isub"), ("*", "imul"), ("/", "itruediv"), ("//", "ifloordiv"), ("%", "imod"),
    ("**", "ipow"), ("<<", "ilshift"), (">>", "irshift"), ("&", "iand"), ("|", "ior"), ("^", "ixor")]}

# One %-format field; possessive quantifiers and a bounded key keep matching linear on hostile formats.
_PERCENT = re.compile(r"%(?:\([^)]{0,100}\))?[#0 +-]*+(\*|\d++)?(?:\.(\*|\d++))?[hlL]?.", re.S)


# --- run-time guards -----------------------------------------------------------------------------------

def _check_length(length: int) -> None:
    if length > MAX_ITEMS:
        raise SandboxError(f"the result would be too long: {length:,} items or characters "
                           f"(the limit is {MAX_ITEMS:,})")


def _check_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise SandboxError(f"the number would be too large (the limit is {MAX_INT_BITS:,} bits)")


def _check_width(width: str) -> int:
    if width == "*":
        raise SandboxError("'*' widths are not allowed in % formatting")
    if len(width) > 6 or int(width) > MAX_ITEMS:
        raise SandboxError(f"a format width or precision over {MAX_ITEMS:,} is not allowed")
    return int(width)


def check_binop(op: str, a: object, b: object) -> None:
    """Refuse (SandboxError) `a op b` if its result would break the size limits."""
    seqs = (str, list, tuple)
    if isinstance(a, int) and isinstance(b, int):
        if op == "*":
            _check_bits(abs(a).bit_length() + abs(b).bit_length())
        elif op == "**" and b > 0 and abs(a) > 1:
            _check_bits(b * math.log2(abs(a)))
        elif op == "<<" and a:
            _check_bits(abs(a).bit_length() + b)
        elif op == "+":
            _check_bits(max(abs(a).bit_length(), abs(b).bit_length()) + 1)
    elif op == "*" and isinstance(a, int) and isinstance(b, seqs):
        _check_length(len(b) * a)
    elif op == "*" and isinstance(b, int) and isinstance(a, seqs):
        _check_length(len(a) * b)
    elif op == "+" and isinstance(a, seqs) and isinstance(b, seqs):
        _check_length(len(a) + len(b))
    elif op == "%" and isinstance(a, str):
        if re.search(r"%\([^)]{100}", a):
            raise SandboxError("keys in % formatting may be at most 100 characters long")
        fields = [[_check_width(w) for w in m.groups() if w] for m in _PERCENT.finditer(a)]
        if fields:
            widest = max((w for field in fields for w in field), default=0)
            _check_length(len(a) + len(fields) * (widest + size_of(b, MAX_ITEMS)))


def guarded_binop(op: str, a: Any, b: Any) -> Any:
    """`a op b` for ``* ** << + %``, within the size limits."""
    check_binop(op, a, b)
    return _OPS[op](a, b)


def guarded_inplacevar(op: str, a: Any, b: Any) -> Any:
    """`a op= b` (RestrictedPython's ``_inplacevar_``), within the size limits."""
    check_binop(op[:-1], a, b)
    return _INPLACE[op](a, b)


_CONVERSIONS: dict[int, Callable[[object], str]] = {ord("r"): repr, ord("s"): str, ord("a"): ascii}


def guarded_format(value: object, conversion: int, spec: str) -> str:
    """One f-string field ``{value!conversion:spec}``, bounded like ``str()``."""
    check_renderable(value)
    if conversion >= 0:
        value = _CONVERSIONS[conversion](value)
    for width in re.findall(r"\d+", spec):
        _check_width(width)
    return format(value, spec)


def _bounded_method(obj: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if name in ("join", "extend") and len(args) == 1 and not kwargs:
            items = list(args[0])
            if name == "join":
                texts = sum(len(item) for item in items if isinstance(item, str))
                _check_length(texts + len(obj) * max(len(items) - 1, 0))
            else:
                _check_length(len(obj) + len(items))
            return method(items)
        if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            found = obj.count(args[0]) if args[0] else len(obj) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                found = min(found, args[2])
            _check_length(len(obj) + found * max(0, len(args[1]) - len(args[0])))
        elif name not in ("join", "extend", "replace") and args and isinstance(args[0], int):
            _check_length(args[0])  # ljust, rjust, center, zfill: the width
        return method(*args, **kwargs)
    return call


_BOUNDED_METHODS = {str: {"join", "replace", "ljust", "rjust", "center", "zfill"}, list: {"extend"}}


def attribute_refusal(name: str) -> str | None:
    """Why the attribute `name` may not be used, or None if it may."""
    if name.startswith("_"):
        return f"attribute {name!r} is not allowed: names starting with '_' are reserved"
    return f"attribute {name!r} is not allowed: {BLOCKED[name]}" if name in BLOCKED else None


def guarded_getattr(obj: object, name: str) -> Any:
    """``obj.name`` (RestrictedPython's ``_getattr_``); see rule 5 of the module docstring."""
    reason = attribute_refusal(name)
    if reason:
        raise SandboxError(reason)
    if isinstance(obj, (type, ModuleType)):
        raise SandboxError(f"attribute {name!r} is not allowed: attributes of classes cannot be used")
    value = safer_getattr_raise(obj, name)
    bounded: set[str] = _BOUNDED_METHODS.get(type(obj), set())  # type: ignore[call-overload]
    return _bounded_method(obj, name, value) if name in bounded else value


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``obj[key]`` (RestrictedPython's ``_getitem_``); classes cannot be subscripted."""
    if isinstance(obj, type):
        raise SandboxError("classes cannot be subscripted")
    return obj[key]


def guarded_apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A call with ``*args`` or ``**kwargs`` (RestrictedPython's ``_apply_``)."""
    return function(*args, **kwargs)


class _Steps:
    """The step and CPU-time budget of one evaluation or script run (the clock starts at the first step)."""

    __slots__ = ("left", "deadline")

    def __init__(self) -> None:
        self.left, self.deadline = MAX_STEPS, 0.0

    def tick(self) -> bool:
        self.left -= 1
        if self.left < 0:
            raise SandboxError(f"too many steps: at most {MAX_STEPS:,} loop iterations and function calls "
                               "may run per expression or script")
        if not self.left % 16:
            if not self.deadline:
                self.deadline = time.thread_time() + MAX_CPU_SECONDS
            elif time.thread_time() > self.deadline:
                raise SandboxError(f"the expression or script took too long (over {MAX_CPU_SECONDS} s)")
        return True

    def getiter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.tick()
            yield item


SANDBOX_NAMES = frozenset(HELPERS) | frozenset(BUILTINS)
_GUARDS: dict[str, Any] = {
    "__builtins__": BUILTINS, "_getattr_": guarded_getattr, "_getitem_": guarded_getitem,
    "_write_": full_write_guard, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_inplacevar_": guarded_inplacevar,
    "_apply_": guarded_apply, "_binop_": guarded_binop, "_format_": guarded_format}
GUARD_NAMES = frozenset(_GUARDS) | {"_getiter_", "_tick_"}


# --- compile time --------------------------------------------------------------------------------------

_UNKNOWN = object()


def _static(node: ast.AST) -> Any:
    """The value of a constant (or of a list or tuple of constants), else `_UNKNOWN`."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _static(node.operand)
        return -value if isinstance(value, (int, float)) else _UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) for e in node.elts):
        values = [e.value for e in node.elts]  # type: ignore[attr-defined]
        return values if isinstance(node, ast.List) else tuple(values)
    return _UNKNOWN


def _breaks(body: list[ast.stmt]) -> bool:
    """Whether a loop body can `break` out of its own loop."""
    return any(isinstance(s, ast.Break) or isinstance(s, (ast.For, ast.While)) and _breaks(s.orelse)
               or isinstance(s, ast.If) and (_breaks(s.body) or _breaks(s.orelse)) for s in body)


def _call(name: str, args: list[ast.expr], at: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, at))


class SandboxTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the refusals and rewrites listed in the module docstring."""

    def visit(self, node: ast.AST) -> Any:
        if type(node) in _REFUSED_NODES:
            self.error(node, _REFUSED_NODES[type(node)])
            return node
        return super().visit(node)

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name and name.startswith("_") and name != "_":
            self.error(node, f"name {name!r} is not allowed: names starting with '_' are reserved")
        elif name in RESERVED_NAMES:
            self.error(node, f"name {name!r} is not allowed: {RESERVED_NAMES[name]}")
        else:
            super().check_name(node, name, allow_magic_methods)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in RESERVED_NAMES or node.id.startswith("_"):
            self.check_name(node, node.id)
        elif not isinstance(node.ctx, ast.Load) and node.id in SANDBOX_NAMES:
            self.error(node, f"name {node.id!r} cannot be assigned: it is a helper available everywhere")
        else:
            return super().visit_Name(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bytes):
            self.error(node, "bytes literals are not allowed; use text")
        return super().visit_Constant(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        reason = attribute_refusal(node.attr)
        if not reason:
            return super().visit_Attribute(node)
        node = self.node_contents_visit(node)  # inner refusals first: `x.__class__` before `.mro`
        self.error(node, reason)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in CALL_REFUSED:
            self.error(node, f"{name}() is not available in expressions")
            return node
        if name in RESERVED_NAMES:
            self.check_name(node, name)
            return node
        node = super().visit_Call(node)  # type: ignore[assignment]  # the same kind
        if name == "range" and not node.keywords:
            values = [_static(arg) for arg in node.args]
            if all(isinstance(v, int) for v in values):
                self._check_statically(node, BUILTINS["range"], *values)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        op = _GUARDED_OPS.get(type(node.op))
        if op is None:
            return node
        left, right = _static(node.left), _static(node.right)
        if left is not _UNKNOWN and right is not _UNKNOWN:
            value = self._check_statically(node, guarded_binop, op, left, right)
            if isinstance(value, (int, float, str)) and not isinstance(left, (list, tuple)) \
                    and not isinstance(right, (list, tuple)):
                return ast.copy_location(ast.Constant(value), node)  # folded: outer operations see it
        return _call("_binop_", [ast.Constant(op), node.left, node.right], node)

    def _check_statically(self, node: ast.AST, guard: Callable[..., Any], *args: Any) -> Any:
        try:
            return guard(*args)
        except SandboxError as exc:
            self.error(node, str(exc))
        except Exception:  # noqa: BLE001 - such as 1 % 0: reported when it runs
            pass
        return _UNKNOWN

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec or ast.Constant("")
        if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
            for width in re.findall(r"\d+", "".join(str(v.value) for v in spec.values)):  # type: ignore
                self._check_statically(node, _check_width, width)
        call = _call("_format_", [node.value, ast.Constant(node.conversion), spec], node)
        return ast.copy_location(ast.FormattedValue(value=call, conversion=-1, format_spec=None), node)

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)  # type: ignore[assignment]  # the same kind
        test = _static(node.test)
        if test is not _UNKNOWN and test and not _breaks(node.body):
            self.error(node, "this while loop never ends: its condition is always true and it has no break")
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", [], node)), node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)  # type: ignore[assignment]  # the same kind
        ticked = ast.BoolOp(ast.And(), [_call("_tick_", [], node), node.body])  # `True and body`
        node.body = ast.copy_location(ticked, node.body)
        return node


class _Compiled(NamedTuple):
    code: CodeType | None
    literal: str | None = None
    helpers_used: frozenset[str] = frozenset()
    error: tuple[str, int | None] | None = None
    cheap: bool = False


_CHEAP_NODES = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And, ast.Or,
                ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Attribute, ast.Subscript, ast.List, ast.Tuple,
                ast.IfExp, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In,
                ast.NotIn)
_LITERALS = (ast.Constant, ast.List, ast.Tuple)


def is_cheap(source: str) -> bool:
    """Whether an expression provably costs time linear in its task data and its own text, so that it may
    run in the server's process: names, constants, comparisons, boolean operators, conditional
    expressions, attributes and subscripts (with a name or constant key), and `in`/`not in` a literal.
    No call, no arithmetic, no comprehension, no slice: anything else runs in an evaluation worker.
    (Task data is bounded by MAX_DATA, so comparing two values of it is bounded too.)"""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _CHEAP_NODES):
            return False
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Constant, ast.Name)):
            return False
        if isinstance(node, ast.Compare) and any(
                isinstance(op, (ast.In, ast.NotIn)) and not isinstance(right, _LITERALS)
                for op, right in zip(node.ops, node.comparators, strict=True)):
            return False
    return True


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile_cached(mode: Literal["eval", "exec"], source: str) -> _Compiled:
    """Compile `source` once: the LRU cache is keyed by (mode, source); refusals are cached too."""
    literal = timer_literal(source) if mode == "eval" else None
    if literal:
        return _Compiled(None, literal=literal)
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # such as `x is 1`: refused rather than printed on the server
            text = source.strip() if mode == "eval" else source
            result = compiler(text, FILENAME, policy=SandboxTransformer)
    except (SyntaxError, Warning, ValueError, RecursionError, MemoryError) as exc:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return _Compiled(None, error=(f"the code cannot be compiled: {message}",
                                      getattr(exc, "lineno", None)))
    if result.errors:
        found = [re.match(r"Line (\d+|None): (.*)", error, re.S) for error in result.errors]
        pairs = zip(found, result.errors, strict=True)
        problems = list(dict.fromkeys(m.group(2) if m else e for m, e in pairs))
        lines = [int(m.group(1)) for m in found if m and m.group(1) != "None"]
        return _Compiled(None, error=("; ".join(problems), lines[0] if lines else None))
    return _Compiled(result.code, helpers_used=frozenset(result.used_names) & frozenset(HELPERS),
                     cheap=mode == "eval" and is_cheap(source))


def _compiled(mode: Literal["eval", "exec"], source: str) -> _Compiled:
    if not isinstance(source, str):
        raise SandboxError(f"expected source text, got {type(source).__name__}")
    compiled = _compile_cached(mode, source)
    if compiled.error:
        raise SandboxError(*compiled.error)
    return compiled


def check_expression(source: str) -> None:
    """Refuse (SandboxError) a condition or other expression that the sandbox would not run."""
    literal = timer_literal(source)
    if literal:
        raise SandboxError("timer.as_condition", literal=literal)
    _compiled("eval", source)


def check_script(source: str) -> None:
    """Refuse (SandboxError) a script that the sandbox would not run."""
    _compiled("exec", source)


def check_timer(source: str, *, kind: TimerKind | None = None,
                years: int = bounds.DEFAULT.timer_years) -> None:
    """Refuse (SandboxError) a timer: an ISO-8601 literal (checked by SpiffWorkflow's own parser, and
    against `kind`, the BPMN element, when given) or an expression that computes one."""
    value = timer_literal(source)
    if value is None:
        _compiled("eval", source)
        try:
            value = ast.literal_eval(source.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return  # computed when the timer starts
        if not isinstance(value, str):
            raise SandboxError("timer.not_text", value=repr(value))
    problem = timer_problem(value, kind, years)
    if problem:
        raise SandboxError(problem)


# --- environment and engine ----------------------------------------------------------------------------

def check_plain_data(items: Iterable[tuple[str, object]]) -> None:
    """Refuse labelled values that are not plain JSON data (DataNotJSONError), or too much of it in total
    (SandboxError)."""
    budget, stack = MAX_DATA, [(label, value) for label, value in items]
    while stack:
        label, value = stack.pop()
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise DataNotJSONError(f"{label} has a dict with a key that is not text; keys must be text")
            stack.extend((label, item) for item in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((label, item) for item in value)
        elif not (value is None or isinstance(value, (str, bool, int, float))):
            raise DataNotJSONError(f"{label} holds a {type(value).__name__}: task data can only hold text, "
                                   "numbers, true/false, None, lists and dicts")
        budget -= len(value) + 1 if isinstance(value, str) else 1
        if budget < 0:
            raise SandboxError(f"the data is too large (over {MAX_DATA:,} items and characters)")


def _with_line(exc: SandboxError) -> SandboxError:
    if exc.line is None:
        lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
                 if frame.filename == FILENAME]
        exc.line = lines[-1] if lines else None
    return exc


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, sandboxed, with the contract of its TaskDataEnvironment."""

    def __init__(self) -> None:
        super().__init__(dict(HELPERS))

    def _namespace(self, context: dict[str, Any], external: dict[str, Any]) -> dict[str, Any]:
        steps = _Steps()
        return {**self.globals, **external, **context, **_GUARDS,
                "_getiter_": steps.getiter, "_tick_": steps.tick}

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        """The value of `expression` over the task data `context` (and data objects, `external_context`)."""
        compiled = _compiled("eval", expression)
        if compiled.literal is not None:
            return compiled.literal
        clash = sorted(compiled.helpers_used & context.keys())
        if clash:
            raise SandboxError(f"task data field {clash[0]!r} has the name of the helper {clash[0]}(); "
                               "rename the field")
        try:
            assert compiled.code is not None  # only a literal has no code, and it returned above
            result = eval(compiled.code, self._namespace(context, external_context or {}))  # noqa: S307
        except SandboxError as exc:
            raise _with_line(exc) from exc
        check_plain_data([("the expression's value", result)])
        return result

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        """Run `script` on the task data `context`, which then holds the script's variables (plain data)."""
        compiled, external = _compiled("exec", script), external_context or {}
        clash = sorted((self.globals.keys() | external.keys() | GUARD_NAMES) & context.keys())
        if clash:
            raise SandboxError(f"task data field(s) {', '.join(map(repr, clash))} have the name of a helper; "
                               "rename them")
        namespace = self._namespace(context, external)
        try:
            assert compiled.code is not None  # a script always compiles to code
            exec(compiled.code, namespace)  # noqa: S102
        except SandboxError as exc:
            raise _with_line(exc) from exc
        data = {key: value for key, value in namespace.items() if not callable(value)
                and key not in GUARD_NAMES and key not in external and key not in self.globals}
        check_plain_data((f"task data field {key!r}", value) for key, value in data.items())
        context.clear()
        context.update(data)
        return True


class BoundedEnvironment(SandboxEnvironment):
    """The sandbox behind OS limits: each expression and script runs in an evaluation worker process
    (engine.expressions.evalpool) with bounded CPU time, memory and wall time, except expressions that
    `is_cheap`
    proves cheap, which run here. Refusals at compile time are raised here, before any worker is asked.
    A script's changes to data objects (`external_context`) are not carried back: scripts in Elevflow's
    routines get none.

    `workers` gives the pool to ask (the engine's, `Engine.pool`); without it, only what runs here runs,
    and anything else is refused (a script engine that only loads and checks routines needs no more)."""

    def __init__(self, workers: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.workers = workers

    def _pool(self) -> Any:
        if self.workers is None:
            raise SandboxError("no evaluation workers here: this script engine only loads and checks "
                               "routines")
        return self.workers()

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        compiled = _compiled("eval", expression)
        if compiled.literal is not None or compiled.cheap:
            return super().evaluate(expression, context, external_context)
        return self._pool().call("eval", expression, context, external_context or {})

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        _compiled("exec", script)
        data = self._pool().call("exec", script, context, external_context or {})
        context.clear()
        context.update(data)
        return True


_TIMER_KINDS: dict[type, TimerKind] = {
    DurationTimerEventDefinition: "timeDuration", TimeDateEventDefinition: "timeDate",
    CycleTimerEventDefinition: "timeCycle"}


def _check_bounds(spec: Any, expression: str, value: Any, limits: bounds.Bounds) -> None:
    """Refuse a timer value or a multi-instance cardinality beyond the engine's bounds
    (elevflow.engine.expressions.bounds)
    before SpiffWorkflow works with it: a computed ``P999999999Y`` or a cardinality of 10,000."""
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition) and expression == definition.expression:
        if not isinstance(value, str):
            raise SandboxError("timer.not_text", value=repr(value))
        problem = timer_problem(value, _TIMER_KINDS.get(type(definition)), limits.timer_years)
        if problem:
            raise SandboxError(problem)
    elif isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
        bounds.check_cardinality(value, spec, limits.loop_rounds)


class SandboxScriptEngine(PythonScriptEngine):
    """A PythonScriptEngine whose errors keep the cause's message (SpiffWorkflow's drops it for expressions).

    Any failure is raised as SpiffWorkflow's WorkflowTaskException: the message ends with the cause's,
    `error_type` names the cause's class, `line_number` is set where known (else 0), `task` is the task
    and ``__cause__`` is the original exception: a SandboxError for every refusal. `bounds` are the
    organiser's limits that computed timers and cardinalities (and SpiffWorkflow's loops,
    elevflow.engine.expressions.bounds)
    are held to.
    """

    def __init__(self, environment: BoundedEnvironment, limits: bounds.Bounds = bounds.DEFAULT) -> None:
        super().__init__(environment=environment)
        self.bounds = limits

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
            _check_bounds(task.task_spec, expression, value, self.bounds)
            return value
        except Exception as exc:
            what = f"Error evaluating expression {expression!r}"
            raise self._task_error(task, expression, exc, what) from exc

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as exc:
            raise self._task_error(task, script, exc, "Error in script") from exc

    def _task_error(self, task: Any, source: str, exc: Exception, what: str) -> WorkflowTaskException:
        if isinstance(exc, SandboxError):
            line, detail = exc.line, str(exc)
        elif isinstance(exc, RemoteError):  # raised in an evaluation worker
            line, detail = exc.line, f"{exc.kind}: {exc}"
        else:
            line = self.get_error_line_number_and_content(source, exc)[0]
            detail = f"{type(exc).__name__}: {exc}"
        lines = source.splitlines()
        where = f" on line {line}" if line and len(lines) > 1 else ""
        error_line = lines[line - 1] if line and line <= len(lines) else ""
        return WorkflowTaskException(f"{what}{where}: {detail}", task=task, exception=exc,
                                     line_number=line or 0, error_line=error_line)


bounds.install()


def script_engine(workers: Callable[[], Any] | None = None,
                  limits: bounds.Bounds = bounds.DEFAULT) -> SandboxScriptEngine:
    """A sandboxed script engine that evaluates in `workers` (Engine.pool) under `limits`; each Engine
    makes one (`Engine.script_engine`). Without workers it only loads and checks routines."""
    return SandboxScriptEngine(BoundedEnvironment(workers), limits)
