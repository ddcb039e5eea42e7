"""How a user's file writes numbers and dates: one set of rules for every reader.

Exports written in one locale are read in another every day: ``6,5`` is six and a half in
Germany and sixty-five nowhere; ``1.254`` is a thousand and more in Germany and one and a bit in
the UK; ``03/04/2026`` is the 3rd of April in Europe and the 4th of March in the US; a date
column may hold Excel serial numbers (46345) or ``20261119``. sop-excel reads each of them right
or refuses them, never guesses:

* **Detected where unambiguous, and said**: a file whose numbers include ``6,5`` or
  ``1.234,5`` uses decimal commas; one with ``6.5`` or ``1,234.5`` decimal points; a date column
  with ``19/11/2026`` is day-first; one with ``11/19/2026`` month-first; a number in a date
  column is an Excel serial date (1950 to 2199) or YYYYMMDD. The reader's summary says which
  ("numbers read with decimal comma", "dates read as day/month/year").
* **Refused where ambiguous**, with the file, row and column, and the option that settles it:
  a file whose only separators are ``1.254`` or ``1,254`` (a thousands separator or a decimal
  one?), a file mixing ``6.5`` and ``6,5``, dates that are all ``03/04/2026``-like.
  The options: ``--decimal point|comma`` and ``--date-format DMY|MDY`` on the command line (the
  mapping file's ``decimal`` and ``date_format``; Settings > Actuals format for refresh-actuals).

A month column (history, budget, capacity) holds the first day of each month; there a
``01/03/2024``-style date that is the first of a month only when read day-first is read
day-first (and said so).

The rules work on a column's distinct values (``pd.factorize``), so two million transaction
lines with a few thousand distinct quantities and dates cost a few thousand parses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError

__all__ = [
    "DATE_ORDERS",
    "DECIMALS",
    "MAX_NUMBER",
    "Column",
    "Conventions",
    "parse_date_option",
    "parse_decimal_option",
    "read_dates",
    "read_numbers",
    "serial_to_dates",
]

DECIMALS = ("point", "comma")
DATE_ORDERS = ("DMY", "MDY")
MAX_NUMBER = 1e12
"""Larger numbers are refused: no quantity, price or budget of a planning workbook is a
trillion or more, and 1e308 would make every sum infinite (issue 18)."""

# Excel serial numbers read as dates: 1950-01-01 .. 2199-12-31 (1900 date system)
SERIAL_MIN, SERIAL_MAX = 18264, 109572
_EXCEL_EPOCH = {False: pd.Timestamp("1899-12-30"), True: pd.Timestamp("1904-01-01")}
_YEARS = (1900, 2200)


@dataclass(frozen=True)
class Conventions:
    """What the user said about a file's numbers and dates (None: detect).

    ``hint`` is how to say it, for the messages: ``--decimal comma`` on the command line,
    Settings > Actuals format in the workbook.
    """

    decimal: str | None = None
    date_order: str | None = None
    decimal_hint: str = "--decimal point or --decimal comma"
    date_hint: str = "--date-format DMY or --date-format MDY"


@dataclass
class Column:
    """A column of raw values (text from CSV, typed cells from xlsx or SQL) and where each is."""

    name: str
    values: pd.Series
    where: Callable[[int], str]
    month: bool = False  # a month column: its dates are the first of a month
    label: str = field(default="")


def parse_decimal_option(text: str) -> str:
    """``point``/``comma`` from what a user may write (``.``, ``,``, ``dot``, ``point``, ``comma``)."""
    t = str(text).strip().lower()
    if t in {".", "point", "dot", "period"}:
        return "point"
    if t in {",", "comma"}:
        return "comma"
    raise ValueError(f"{text!r} is not a decimal separator; write point or comma")


def parse_date_option(text: str) -> str:
    """``DMY``/``MDY`` from ``DMY``, ``dd/mm/yyyy``, ``D.M.Y``, ``MM/DD/YYYY``..."""
    letters = "".join(ch for ch in str(text).upper() if ch in "DMY")
    order = "".join(dict.fromkeys(letters))
    if order in DATE_ORDERS:
        return order
    raise ValueError(
        f"{text!r} is not a date order; write DMY (day/month/year) or MDY (month/day/year)"
    )


# -- numbers ----------------------------------------------------------------------------------
_SPACES = re.compile(r"[\s\u00a0\u202f'\u2019]")
_CURRENCY = re.compile(r"^[€$£¥]|[€$£¥]$")
_NUM_CLASSES = {  # class -> (pattern, evidence: "point" / "comma" / None / "ambiguous")
    "int": (r"\d+", None),
    "amb_dot": (r"[1-9]\d{0,2}\.\d{3}", "ambiguous"),
    "amb_comma": (r"[1-9]\d{0,2},\d{3}", "ambiguous"),
    "grp_dot": (r"[1-9]\d{0,2}(?:\.\d{3}){2,}", "comma"),
    "grp_comma": (r"[1-9]\d{0,2}(?:,\d{3}){2,}", "point"),
    "eu_full": (r"[1-9]\d{0,2}(?:\.\d{3})+,\d+", "comma"),
    "us_full": (r"[1-9]\d{0,2}(?:,\d{3})+\.\d+", "point"),
    "dec_dot": (r"\d*\.\d+|\d+\.", "point"),
    "dec_comma": (r"\d*,\d+|\d+,", "comma"),
    "exp": (r"(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+", None),
}
_VALID_UNDER = {  # which classes are numbers under each convention, and how to make them floats
    "point": {
        "int": "",
        "amb_dot": "",
        "amb_comma": ",",
        "grp_comma": ",",
        "us_full": ",",
        "dec_dot": "",
        "exp": "",
    },
    "comma": {
        "int": "",
        "amb_comma": "swap",
        "dec_comma": "swap",
        "amb_dot": ".",
        "grp_dot": ".",
        "eu_full": "eu",
        "exp": "",
    },
}


def _number_parts(uniq: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(class of each distinct text, its core digits, its sign) for distinct stripped texts."""
    core = uniq.str.replace(_SPACES, "", regex=True).str.replace(_CURRENCY, "", regex=True)
    neg = core.str.startswith("-") | (core.str.endswith("-") & (core.str.len() > 1))
    core = core.str.replace(r"^[+-]|-$", "", regex=True)
    cls = pd.Series("bad", index=uniq.index, dtype=object)
    for name, (pattern, _) in _NUM_CLASSES.items():
        hit = (cls == "bad") & core.str.fullmatch(pattern).fillna(False).astype(bool)
        cls[hit] = name
    return cls, core, neg


def _to_float(core: pd.Series, cls: pd.Series, decimal: str) -> np.ndarray:
    out = np.full(len(core), np.nan)
    for name, how in _VALID_UNDER[decimal].items():
        m = (cls == name).to_numpy()
        if not m.any():
            continue
        c = core[m]
        if how == ",":
            c = c.str.replace(",", "", regex=False)
        elif how == ".":
            c = c.str.replace(".", "", regex=False)
        elif how == "swap":
            c = c.str.replace(",", ".", regex=False)
        elif how == "eu":
            c = c.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        out[m] = pd.to_numeric(c, errors="coerce").to_numpy(dtype=float)
    return out


def distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """The text values of a column as codes into its distinct stripped texts.

    Returns (mask of text values, code of each value (-1 where not text), the distinct texts,
    stripped). Work is per distinct value, not per row (two million order lines hold a few
    thousand distinct dates and quantities).
    """
    arr = values.to_numpy(dtype=object)
    raw_codes, raw_uniq = pd.factorize(arr, use_na_sentinel=True)
    is_str = np.fromiter((isinstance(u, str) for u in raw_uniq), dtype=bool, count=len(raw_uniq))
    safe = np.where(raw_codes >= 0, raw_codes, 0)
    text = (raw_codes >= 0) & (is_str[safe] if len(is_str) else np.zeros(len(arr), dtype=bool))
    stripped = [u.strip() if isinstance(u, str) else "" for u in raw_uniq]
    new_codes, uniq = (
        pd.factorize(pd.Series(stripped, dtype=object))
        if stripped
        else (np.zeros(0, dtype=np.intp), [])
    )
    codes = np.full(len(arr), -1, dtype=np.intp)
    if len(new_codes):
        codes[text] = new_codes[raw_codes[text]]
    return text, codes, pd.Series(list(uniq), dtype=object)


__all__ += ["distinct_text"]


def _is_text(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.notna().to_numpy()
    return np.fromiter(
        (isinstance(v, str) for v in values.to_numpy(dtype=object)), dtype=bool, count=len(values)
    )


def _blank(v: object) -> bool:
    return (
        v is None
        or v is pd.NaT
        or v is pd.NA
        or (isinstance(v, float) and np.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def read_numbers(
    columns: Sequence[Column], conventions: Conventions, *, label: str
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Numbers of several columns of one file, read by one decimal convention.

    Args:
        columns: the file's number columns (raw values: text, or numbers from typed cells).
        conventions: ``decimal`` as the user said it (None: detect from the file).
        label: the file in messages ("File items.csv").

    Returns:
        (per column: floats, NaN where empty or not a number; per column: a mask of values that
        are not numbers (empty is not flagged); what was noticed, for the summary).

    Raises:
        InputError: the file mixes decimal points and commas, or its numbers read two ways
            and nothing in it says which (``1.254``); named by row and column.
    """
    parsed = []
    evidence: dict[str, tuple[Column, int, str] | None] = {"point": None, "comma": None}
    ambiguous: list[tuple[Column, int, str, int]] = []
    grouping = False
    for col in columns:
        s = col.values
        text, codes, uniq = (
            distinct_text(s)
            if s.dtype.kind not in "iuf"  # a number column (SQL, typed cells) holds no text
            else (
                np.zeros(len(s), dtype=bool),
                np.full(len(s), -1, dtype=np.intp),
                pd.Series([], dtype=object),
            )
        )
        cls, core, neg = _number_parts(uniq.astype(str)) if len(uniq) else (uniq, uniq, uniq)
        parsed.append((col, s, text, codes, uniq, cls, core, neg))
        for kind in ("point", "comma"):
            if evidence[kind] is None and len(cls):
                kinds = cls.map(lambda k: _NUM_CLASSES.get(k, ("", ""))[1])
                hits = np.flatnonzero((kinds == kind).to_numpy(bool))
                if len(hits):
                    first = int(np.flatnonzero(np.isin(codes, hits))[0])
                    evidence[kind] = (col, first, str(uniq.iloc[codes[first]]))
        if len(cls):
            amb = np.flatnonzero(cls.isin(["amb_dot", "amb_comma"]).to_numpy(bool))
            if len(amb):
                ambiguous += _per_value(col, codes, uniq, amb)
            grouping = grouping or bool(
                cls.isin(["grp_dot", "grp_comma", "eu_full", "us_full"]).any()
            )
    decimal = conventions.decimal
    notes: list[str] = []
    if decimal is None:
        if evidence["point"] and evidence["comma"]:
            (c1, p1, v1), (c2, p2, v2) = evidence["point"], evidence["comma"]
            raise InputError(
                f"{label} mixes decimal points ({c1.where(p1)}: {v1!r}) and decimal commas "
                f"({c2.where(p2)}: {v2!r}). Export it again with one number format, or say which "
                f"the file uses with {conventions.decimal_hint}; values in the other format are "
                "then reported one by one."
            )
        if evidence["comma"]:
            decimal = "comma"
        elif evidence["point"]:
            decimal = "point"
        elif ambiguous:
            raise InputError(
                f"{label} has numbers that read two ways",
                [
                    CellProblem(
                        col.where(pos),
                        value,
                        f"could be {_as_thousands(value)} (thousands separator) or "
                        f"{_as_decimal(value)} (decimal separator){_alike(n)}",
                        f"Say which with {conventions.decimal_hint}.",
                    )
                    for (col, pos, value), n in _distinct(ambiguous)
                ],
            )
        else:
            decimal = "point"  # nothing in the file tells them apart: no value changes meaning
        if evidence["comma"]:
            _, _, example = evidence["comma"]
            notes.append(
                f"numbers read with decimal comma (e.g. {example!r} = "
                f"{_fmt(_to_float(*_one(example), 'comma'))})"
            )
        elif ambiguous or grouping:
            shown = ambiguous[0][2] if ambiguous else None
            notes.append(
                "numbers read with decimal point and ',' as thousands separator"
                + (f" (e.g. {shown!r} = {_fmt(_to_float(*_one(shown), 'point'))})" if shown else "")
            )
    else:
        notes.append(f"numbers read with decimal {decimal} (as told)")
    values, bad = [], []
    for _col, s, text, codes, uniq, cls, core, neg in parsed:
        out = np.full(len(s), np.nan)
        flag = np.zeros(len(s), dtype=bool)
        if len(uniq):
            u_val = _to_float(core, cls, decimal)
            u_val = np.where(neg.to_numpy(bool), -u_val, u_val)
            blank_u = (uniq.astype(str).str.len() == 0).to_numpy()
            pos = np.flatnonzero(text)
            out[pos] = u_val[codes[pos]]
            flag[pos] = np.isnan(u_val[codes[pos]]) & ~blank_u[codes[pos]]
        other = ~text & s.notna().to_numpy()
        if other.any() and s.dtype.kind in "iuf":  # numbers already; NaN is not in ``other``
            out[other] = s.to_numpy(dtype=float, na_value=np.nan)[other]
        elif other.any():
            nums = np.array(
                [
                    float(v)
                    if isinstance(v, (int, float, np.integer, np.floating))
                    and not isinstance(v, (bool, np.bool_))
                    else np.nan
                    for v in s[other].to_numpy(dtype=object)
                ],
                dtype=float,
            )
            out[other] = nums
            flag[other] = np.isnan(nums) & ~np.array(
                [_blank(v) for v in s[other].to_numpy(dtype=object)]
            )
        flag |= np.isinf(out)
        out[np.isinf(out)] = np.nan
        values.append(out)
        bad.append(flag)
    return values, bad, notes


def _per_value(
    col: Column, codes: np.ndarray, uniq: pd.Series, which: np.ndarray
) -> list[tuple[Column, int, str, int]]:
    """(column, first row position, value, how many rows hold it) for these distinct values."""
    pos = np.flatnonzero(np.isin(codes, which))
    found, first, count = np.unique(codes[pos], return_index=True, return_counts=True)
    return [
        (col, int(pos[i]), str(uniq.iloc[u]), int(n))
        for u, i, n in zip(found, first, count, strict=True)
    ]


def _distinct(
    found: list[tuple[Column, int, str, int]],
) -> list[tuple[tuple[Column, int, str], int]]:
    """Each value once (its first place) with how many places hold it, in row order."""
    order: dict[int, int] = {}
    for col, *_ in found:
        order.setdefault(id(col), len(order))
    return [
        ((col, pos, value), n)
        for col, pos, value, n in sorted(found, key=lambda f: (f[1], order[id(f[0])]))
    ]


def _alike(n: int) -> str:
    return f" (and {n - 1:,} more row{'s' if n > 2 else ''} with this value)" if n > 1 else ""


def _one(text: str) -> tuple[pd.Series, pd.Series]:
    cls, core, _ = _number_parts(pd.Series([text], dtype=object))
    return core, cls


def _fmt(values: np.ndarray) -> str:
    return f"{float(values[0]):.15g}"


def _as_thousands(text: str) -> str:
    return text.replace(".", "").replace(",", "")


def _as_decimal(text: str) -> str:
    return text.replace(",", ".")


def too_large(values: np.ndarray) -> np.ndarray:
    """Values at or beyond :data:`MAX_NUMBER` (either sign)."""
    return np.abs(np.nan_to_num(values, nan=0.0)) >= MAX_NUMBER


__all__ += ["too_large"]


# -- dates ------------------------------------------------------------------------------------
_DATE_CLASSES = {  # class -> regex with named groups
    "ymd": r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T].*)?",
    "ym": r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})",
    "my": r"(?P<m>\d{1,2})[-/.](?P<y>\d{4})",
    "ab": r"(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})(?:[ T,].*)?",
    "ymd8": r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})",
    "ym6": r"(?P<y>\d{4})(?P<m>\d{2})",
    "serial": r"(?P<s>\d{5,6}(?:\.\d+)?)",
}
_NAMED_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d.%b.%Y",
    "%d. %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%b %Y",
    "%B %Y",
    "%b-%Y",
    "%b-%y",
    "%B-%Y",
    "%Y-%b",
    "%b. %Y",
)
_GERMAN = {
    "januar": "january",
    "februar": "february",
    "märz": "march",
    "maerz": "march",
    "mär": "mar",
    "mrz": "mar",
    "mai": "may",
    "juni": "june",
    "juli": "july",
    "oktober": "october",
    "okt": "oct",
    "dezember": "december",
    "dez": "dec",
}
_GERMAN_RE = re.compile(
    r"\b(" + "|".join(sorted(_GERMAN, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def serial_to_dates(serial: np.ndarray, date1904: bool = False) -> pd.DatetimeIndex:
    """Excel serial numbers as days (fractions are times of day, dropped)."""
    days = np.floor(np.asarray(serial, dtype=float))
    return pd.DatetimeIndex(_EXCEL_EPOCH[date1904] + pd.to_timedelta(days, unit="D")).normalize()


def _valid_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> pd.DatetimeIndex:
    ok = (y >= _YEARS[0]) & (y < _YEARS[1]) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    frame = pd.DataFrame(
        {"year": np.where(ok, y, 2000), "month": np.where(ok, m, 1), "day": np.where(ok, d, 1)}
    )
    out = pd.to_datetime(frame, errors="coerce")
    out[~ok] = pd.NaT
    return pd.DatetimeIndex(out)


@dataclass
class _DateText:
    cls: pd.Series
    parts: dict[str, pd.Series]


def _date_parts(uniq: pd.Series) -> _DateText:
    cls = pd.Series("other", index=uniq.index, dtype=object)
    parts: dict[str, pd.Series] = {}
    for name, pattern in _DATE_CLASSES.items():
        open_ = (cls == "other").to_numpy()
        if not open_.any():
            break
        found = uniq[open_].str.extract(f"^{pattern}$")
        hit = found.notna().all(axis=1)
        if not hit.any():
            continue
        idx = found.index[hit]
        cls[idx] = name
        for g in found.columns:
            parts.setdefault(g, pd.Series(np.nan, index=uniq.index, dtype=object))
            parts[g][idx] = found.loc[idx, g]
    return _DateText(cls, parts)


def _num(parts: dict[str, pd.Series], g: str, idx: pd.Index) -> np.ndarray:
    return pd.to_numeric(parts[g][idx], errors="coerce").to_numpy(dtype=float)


def _year(y: np.ndarray) -> np.ndarray:
    return np.where(y < 100, np.where(y <= 68, 2000 + y, 1900 + y), y)


def read_dates(
    columns: Sequence[Column], conventions: Conventions, *, label: str, date1904: bool = False
) -> tuple[list[pd.Series], list[np.ndarray], list[str]]:
    """Dates (as days) of several columns of one file, read by one day/month order.

    Args:
        columns: the file's date columns (text, numbers, or date cells). ``Column.month`` marks a
            month column (its values are the first of a month).
        conventions: ``date_order`` as the user said it (None: detect).
        label: the file in messages.
        date1904: the xlsx workbook counts serial dates from 1904 (a Mac setting).

    Returns:
        (per column: day timestamps, NaT where empty or not a date; per column: a mask of
        values that are not dates (empty is not flagged); what was noticed).

    Raises:
        InputError: dates that read two ways (``03/04/2026``) and nothing says which, or a file
            mixing day-first and month-first dates.
    """
    notes: list[str] = []
    staged = []
    evidence: dict[str, tuple[Column, int, str] | None] = {"DMY": None, "MDY": None}
    ambiguous: list[tuple[Column, int, str, int]] = []
    serials = False
    numeric_dates = False
    two_digit = False
    # month columns hold the first of a month: ambiguous values all "01/mm" read day-first, all "mm/01" month-first
    month_rule = {"DMY": True, "MDY": True}
    for col in columns:
        s = col.values
        text, codes, uniq = distinct_text(s)
        dtext = _date_parts(uniq.astype(str)) if len(uniq) else _DateText(uniq, {})
        staged.append((col, s, text, codes, uniq, dtext))
        if not len(uniq):
            continue
        ab = dtext.cls == "ab"
        if ab.any():
            a = _num(dtext.parts, "a", ab[ab].index)
            b = _num(dtext.parts, "b", ab[ab].index)
            two_digit = two_digit or bool((dtext.parts["y"][ab[ab].index].str.len() == 2).any())
            for reading, hit in (("DMY", (a > 12) & (b <= 12)), ("MDY", (b > 12) & (a <= 12))):
                if evidence[reading] is None and hit.any():
                    u = int(ab[ab].index[np.flatnonzero(hit)[0]])
                    first = int(np.flatnonzero(codes == u)[0])
                    evidence[reading] = (col, first, str(uniq.iloc[u]))
            amb = (a <= 12) & (b <= 12) & (a != b)
            if amb.any():
                amb_u = ab[ab].index[np.flatnonzero(amb)].to_numpy()
                ambiguous += _per_value(col, codes, uniq, amb_u)
                month_rule["DMY"] &= bool(col.month and (a[amb] == 1).all())
                month_rule["MDY"] &= bool(col.month and (b[amb] == 1).all())
        serials = serials or bool((dtext.cls == "serial").any())
        numeric_dates = numeric_dates or bool(dtext.cls.isin(["ymd8", "ym6"]).any())
    order = conventions.date_order
    if order is None:
        if evidence["DMY"] and evidence["MDY"]:
            (c1, p1, v1), (c2, p2, v2) = evidence["DMY"], evidence["MDY"]
            raise InputError(
                f"{label} mixes day-first dates ({c1.where(p1)}: {v1!r}) and month-first dates "
                f"({c2.where(p2)}: {v2!r}). Export it again with one date format (YYYY-MM-DD is "
                f"best), or say which the file uses with {conventions.date_hint}; dates in the "
                "other order are then reported one by one."
            )
        if evidence["DMY"]:
            order = "DMY"
            notes.append(f"dates read as day/month/year (e.g. {evidence['DMY'][2]!r})")
        elif evidence["MDY"]:
            order = "MDY"
            notes.append(f"dates read as month/day/year (e.g. {evidence['MDY'][2]!r})")
        elif ambiguous and month_rule["DMY"] != month_rule["MDY"]:
            order = "DMY" if month_rule["DMY"] else "MDY"
            notes.append(
                f"dates read as {'day/month/year' if order == 'DMY' else 'month/day/year'}: "
                f"each is the first of a month that way (e.g. {ambiguous[0][2]!r})"
            )
        elif ambiguous:
            raise InputError(
                f"{label} has dates that read two ways",
                [
                    CellProblem(
                        col.where(pos),
                        value,
                        f"could be day/month/year or month/day/year{_alike(n)}",
                        f"Say which with {conventions.date_hint}, or export dates as YYYY-MM-DD.",
                    )
                    for (col, pos, value), n in _distinct(ambiguous)
                ],
            )
    else:
        notes.append(
            "dates read as "
            + ("day/month/year" if order == "DMY" else "month/day/year")
            + " (as told)"
        )
    if two_digit:
        notes.append("two-digit years read as 1969-2068")
    out_values, out_bad = [], []
    for _col, s, text, codes, uniq, dtext in staged:
        out = pd.Series(pd.NaT, index=range(len(s)), dtype="datetime64[us]")
        flag = np.zeros(len(s), dtype=bool)
        if len(uniq):
            u_dates, u_serial = _parse_unique(uniq, dtext, order, date1904)
            serials = serials or u_serial
            blank_u = (uniq.astype(str).str.len() == 0).to_numpy()
            pos = np.flatnonzero(text)
            vals = u_dates[codes[pos]]
            out.iloc[pos] = vals
            flag[pos] = pd.isna(vals) & ~blank_u[codes[pos]]
        other = ~text & s.notna().to_numpy()
        if other.any():
            raw = s[other].to_numpy(dtype=object)
            got, was_serial = _typed_dates(raw, date1904)
            serials = serials or was_serial
            out.iloc[np.flatnonzero(other)] = got
            flag[other] = pd.isna(got) & ~np.array([_blank(v) for v in raw])
        out_values.append(out.astype("datetime64[us]"))
        out_bad.append(flag)
    if serials:
        notes.append(
            "dates given as Excel serial numbers read as dates (e.g. 46345 = 2026-11-19)"
            + (" in the 1904 date system" if date1904 else "")
        )
    if numeric_dates:
        notes.append("dates given as YYYYMMDD or YYYYMM numbers read as dates")
    return out_values, out_bad, notes


def _parse_unique(
    uniq: pd.Series, dtext: _DateText, order: str | None, date1904: bool
) -> tuple[np.ndarray, bool]:
    out = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[us]")
    cls, parts = dtext.cls, dtext.parts
    for name in ("ymd", "ym", "my", "ymd8", "ym6", "ab"):
        idx = cls.index[(cls == name).to_numpy()]
        if not len(idx):
            continue
        y = _num(parts, "y", idx)
        if name in ("ymd", "ymd8"):
            m, d = _num(parts, "m", idx), _num(parts, "d", idx)
        elif name in ("ym", "my", "ym6"):
            m, d = _num(parts, "m", idx), np.ones(len(idx))
        else:
            a, b = _num(parts, "a", idx), _num(parts, "b", idx)
            y = _year(y)
            if order == "MDY":
                m, d = a, b
            elif order == "DMY":
                d, m = a, b
            else:  # no order needed: each value reads one way only (a == b, or one part > 12)
                d = np.where(b > 12, b, a)
                m = np.where(b > 12, a, b)
        out[idx] = _valid_ymd(y, m, d)
    serial = False
    late = cls.index[((cls == "ym6").to_numpy()) & out.isna().to_numpy()]  # 100000-109572: a serial
    cls = cls.copy()
    cls[late] = "serial"
    if len(late):
        parts = {
            **parts,
            "s": parts.get("s", pd.Series(np.nan, index=uniq.index, dtype=object)).copy(),
        }
        parts["s"][late] = uniq[late]
    idx = cls.index[(cls == "serial").to_numpy()]
    if len(idx):
        s = pd.to_numeric(parts["s"][idx], errors="coerce").to_numpy(dtype=float)
        ok = (s >= SERIAL_MIN) & (s <= SERIAL_MAX)
        got = pd.Series(pd.NaT, index=idx, dtype="datetime64[us]")
        got[ok] = serial_to_dates(s[ok], date1904)
        out[idx] = got
        serial = bool(ok.any())
    idx = cls.index[(cls == "other").to_numpy()]
    if len(idx):
        out[idx] = _named_dates(uniq[idx])
    return out.to_numpy(), serial


def _named_dates(text: pd.Series) -> pd.Series:
    """Dates with month names (``19 Nov 2026``, ``Nov 2026``, ``19. November 2026``, German too)."""
    t = text.str.replace(_GERMAN_RE, lambda m: _GERMAN[m.group(0).lower()], regex=True)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    has_letter = t.str.contains(r"[A-Za-z]", regex=True)
    for fmt in _NAMED_FORMATS:
        todo = out.isna() & has_letter
        if not todo.any():
            break
        got = pd.to_datetime(t[todo], format=fmt, errors="coerce")
        ok = got.notna() & (got.dt.year >= _YEARS[0]) & (got.dt.year < _YEARS[1])
        out[got.index[ok]] = got[ok]
    return out


def _typed_dates(raw: np.ndarray, date1904: bool) -> tuple[np.ndarray, bool]:
    """Date cells and numbers from typed sources (xlsx cells, SQL columns)."""
    out = np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[us]")
    serial = False
    for i, v in enumerate(raw):
        if isinstance(v, (dt.date, np.datetime64, pd.Timestamp)):
            ts = pd.Timestamp(v)
            if ts is not pd.NaT and _YEARS[0] <= ts.year < _YEARS[1]:
                out[i] = (ts.tz_localize(None) if ts.tzinfo else ts).normalize().to_datetime64()
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
            v, (bool, np.bool_)
        ):
            f = float(v)
            if SERIAL_MIN <= f <= SERIAL_MAX:
                out[i] = serial_to_dates(np.array([f]), date1904)[0].to_datetime64()
                serial = True
            elif f.is_integer() and 19000101 <= f < 22000101:
                d = _valid_ymd(
                    np.array([f // 10000]), np.array([f // 100 % 100]), np.array([f % 100])
                )[0]
                if d is not pd.NaT:
                    out[i] = d.to_datetime64()
    return out, serial
