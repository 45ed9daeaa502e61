"""Task and case data must stay plain JSON: objects, arrays, strings, numbers, booleans and null.

Plain JSON that every part of Elevflow can store and hash, on both databases: integers within 64 bits
(what the audit digest and PostgreSQL's bigint hold), no NUL character in a string or key (PostgreSQL's
text cannot hold one), and at most MAX_DEPTH levels of nesting (no form is deeper; a deeper document
would only exhaust the stack of whatever walks it).
"""
from __future__ import annotations

import json
import math
from typing import Any

from ..errors import DataNotJSONError

_SCALARS = (bool, type(None))
MAX_DEPTH = 32
MIN_INT, MAX_INT = -(2**63), 2**63 - 1


def ensure_json(value: Any, where: str, path: str = "", depth: int = 0) -> None:
    """Raise DataNotJSONError naming the key path if `value` holds anything but plain JSON."""
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise DataNotJSONError(f"{where}: {path or 'value'} holds a NUL character, which cannot be "
                                   "stored", path)
        return
    if kind in _SCALARS:
        return
    if kind is int:
        if not MIN_INT <= value <= MAX_INT:
            raise DataNotJSONError(f"{where}: {path or 'value'} is a number too large to store "
                                   f"(at most {len(str(MAX_INT))} digits)", path)
        return
    if kind is float:
        if not math.isfinite(value):
            raise DataNotJSONError(f"{where}: {path or 'value'} is {value}, which JSON cannot hold", path)
        return
    if depth >= MAX_DEPTH and kind in (dict, list):
        raise DataNotJSONError(f"{where}: {path or 'data'} is nested deeper than {MAX_DEPTH} levels", path)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise DataNotJSONError(f"{where}: key {key!r} in {path or 'data'} is not a string")
            if "\x00" in key:
                raise DataNotJSONError(f"{where}: a key in {path or 'data'} holds a NUL character", path)
            ensure_json(item, where, f"{path}.{key}" if path else key, depth + 1)
        return
    if kind is list:
        for index, item in enumerate(value):
            ensure_json(item, where, f"{path}[{index}]", depth + 1)
        return
    raise DataNotJSONError(f"{where}: {path or 'value'} holds a {kind.__name__}, which is not JSON "
                           "(use strings for dates, lists instead of sets or tuples)")


def within_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests at most `limit` levels (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return False
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value has a NUL character in any string or key (checked without recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads(text: str | bytes, where: str, limit: int = MAX_DEPTH) -> Any:
    """Parse JSON text that must nest at most `limit` levels. Invalid JSON raises json.JSONDecodeError as
    json.loads does; too deep a document raises DataNotJSONError (whatever the parser's own limit)."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    else:
        deep = not within_depth(value, limit)
    if deep:
        raise DataNotJSONError(f"{where} is nested deeper than {limit} levels")
    return value
