"""Task and case data must stay plain JSON: objects, arrays, strings, numbers, booleans and null."""
from __future__ import annotations

import math
from typing import Any

from .errors import DataNotJSONError

_SCALARS = (str, bool, int, type(None))


def ensure_json(value: Any, where: str, path: str = "") -> None:
    """Raise DataNotJSONError naming the key path if `value` holds anything but plain JSON."""
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is float:
        if not math.isfinite(value):
            raise DataNotJSONError(f"{where}: {path or 'value'} is {value}, which JSON cannot hold")
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise DataNotJSONError(f"{where}: key {key!r} in {path or 'data'} is not a string")
            ensure_json(item, where, f"{path}.{key}" if path else key)
        return
    if kind is list:
        for index, item in enumerate(value):
            ensure_json(item, where, f"{path}[{index}]")
        return
    raise DataNotJSONError(f"{where}: {path or 'value'} holds a {kind.__name__}, which is not JSON "
                           "(use strings for dates, lists instead of sets or tuples)")
