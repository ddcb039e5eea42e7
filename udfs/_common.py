"""What every worksheet function shares: registration, a cache, short error messages, conversion.

A UDF is ``convert -> call the core -> return an array``. This module holds the convert part and
the ``udf`` decorator, which:

- registers the function with xlwings (``@xw.func(category="sop-excel")``; on Linux xlwings'
  decorators do nothing, so the function stays plain Python and is tested as such);
- gives xlwings only the first line of the docstring, because that is what the Function
  Wizard shows a planner (xlwings passes the whole ``__doc__``, cut at 255 characters);
- turns any exception into a one-line message in the cell (xlwings would otherwise put the
  raw error text there);
- serves a repeated call with unchanged input from a cache keyed on the arguments.

Nothing here holds a planning rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import xlwings as xw

__all__ = [
    "CATEGORY",
    "REGISTRY",
    "UdfError",
    "cache_clear",
    "cache_info",
    "column",
    "day",
    "flag",
    "matrix",
    "month",
    "number",
    "text",
    "to_excel",
    "udf",
    "whole",
]

CATEGORY = "sop-excel"
CACHE_SIZE = 256
MAX_MESSAGE = 120

REGISTRY: dict[str, Callable[..., Any]] = {}
"""Excel name -> the registered function (xlwings keeps no record on Linux; tests use this)."""


class UdfError(ValueError):
    """A bad argument, told to the planner in the cell."""


_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}


def cache_clear() -> None:
    with _lock:
        _cache.clear()
        _stats.update(hits=0, misses=0)


def cache_info() -> dict[str, int]:
    with _lock:
        return {**_stats, "size": len(_cache)}


def _key(v: Any) -> Any:
    """A hashable, value-equal key for what Excel hands over (nested lists, NaN, dates)."""
    if isinstance(v, list | tuple):
        return tuple(_key(x) for x in v)
    if isinstance(v, float) and math.isnan(v):
        return ("nan",)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return ("num", float(v))  # Excel hands over 3.0 where Python says 3
    if isinstance(v, bool | str | dt.date | type(None)):
        return (type(v).__name__, v)
    return ("repr", repr(v))


def _message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not isinstance(exc, UdfError):
        text = f"{type(exc).__name__}: {text}" if not isinstance(exc, ValueError) else text
    text = "Error: " + text
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def udf(f: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``f`` as an Excel worksheet function (see the module docstring)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (f.__name__, _key(list(args)), _key(sorted(kwargs.items())))
        with _lock:
            if key in _cache:
                _cache.move_to_end(key)
                _stats["hits"] += 1
                return _cache[key]
            _stats["misses"] += 1
        try:
            result = f(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a cell shows a message, never a traceback
            return [[_message(exc)]]
        with _lock:
            _cache[key] = result
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return result

    doc = (f.__doc__ or "").strip().splitlines()
    wrapper.__doc__ = doc[0].strip() if doc else f.__name__
    registered = xw.func(category=CATEGORY)(wrapper)
    REGISTRY[f.__name__] = registered
    return registered


# --- conversion: what Excel hands over -> plain Python/numpy --------------------------------


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def matrix(values: Any, what: str) -> list[list[Any]]:
    """A range as a 2-D list (a single cell or a 1-D list is accepted too)."""
    if values is None:
        raise UdfError(f"{what} is empty")
    if not isinstance(values, list | tuple):
        return [[values]]
    if values and not isinstance(values[0], list | tuple):
        return [[v] for v in values]
    return [list(r) for r in values]


def number(v: Any, what: str, *, blank: float | None = None) -> float:
    """One cell as a number; text that is a number is accepted, other text is refused."""
    if _blank(v):
        if blank is None:
            raise UdfError(f"{what} is empty")
        return blank
    if isinstance(v, bool):
        raise UdfError(f"{what} must be a number, not {v}")
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v).strip().rstrip("%")) / (100 if str(v).strip().endswith("%") else 1)
    except ValueError:
        raise UdfError(f"{what} must be a number, not '{str(v)[:20]}'") from None


def whole(v: Any, what: str, lo: int, hi: int, default: int) -> int:
    """A whole number from ``lo`` to ``hi`` (blank: ``default``)."""
    x = number(v, what, blank=float(default))
    if not x.is_integer() or not lo <= x <= hi:
        raise UdfError(f"{what} must be a whole number from {lo} to {hi}")
    return int(x)


def column(values: Any, what: str, *, blanks: bool = True) -> np.ndarray:
    """A one-row or one-column range as a float vector; blank cells become NaN."""
    m = matrix(values, what)
    if len(m) > 1 and len(m[0]) > 1:
        raise UdfError(f"{what} must be one row or one column")
    flat = [v for r in m for v in r]
    out = np.array([number(v, what, blank=math.nan) for v in flat], dtype=float)
    if not blanks and np.isnan(out).any():
        raise UdfError(f"{what} has blank cells")
    return out


def text(v: Any, what: str, default: str) -> str:
    if _blank(v):
        return default
    if isinstance(v, list | tuple):
        raise UdfError(f"{what} must be one cell")
    return str(v).strip()


def to_excel(v: Any) -> Any:
    """A value Excel shows well: NaN/inf -> empty, numpy scalars -> Python, Timestamps -> datetime."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    return v


_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def day(v: Any, what: str) -> dt.datetime:
    """A date cell (a date, an Excel serial number or ISO text) as a datetime at midnight."""
    if isinstance(v, dt.date):
        d = v
    elif isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v < 2958466:
        d = _EXCEL_EPOCH + dt.timedelta(days=float(v))
    elif isinstance(v, str) and v.strip():
        try:
            d = dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            raise UdfError(f"{what} must be a date, not '{v[:20]}'") from None
    else:
        raise UdfError(f"{what} must be a date")
    return dt.datetime(d.year, d.month, d.day)


def month(v: Any, what: str) -> dt.datetime:
    """A date cell as the first day of its month."""
    return day(v, what).replace(day=1)


def flag(v: Any, what: str, default: bool) -> bool:
    """TRUE/FALSE (or 1/0, yes/no) from a cell."""
    if _blank(v):
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return bool(v)
    low = str(v).strip().lower()
    if low in {"true", "yes", "y", "1"}:
        return True
    if low in {"false", "no", "n", "0"}:
        return False
    raise UdfError(f"{what} must be TRUE or FALSE")
