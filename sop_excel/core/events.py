"""Disruptions as data: the Events table checked, and turned into what the supply view plans with.

An event is one row a planner types (or ``sop-excel add-event`` appends):

* **Resource down** from a day to a day (or for N working days): the resource makes nothing.
* **Reduced rate**: the resource works at ``rate`` (50% = half its hours) on those days.
* **Receipt delayed**: the supplier receipts of an item due between the two days (one day when
  To is empty) arrive ``delay_days`` calendar days later.
* **Item blocked**: the item is neither made nor received on those days (a quality hold, a
  supplier or tooling problem); what was due arrives the day after the block.

Every status counts except *Cancelled* (an event that is Closed still happened). Pure: frames in,
frames out; problems are raised at once, each at the place ``locate`` names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

import numpy as np
import pandas as pd

from sop_excel.core.drift import WorkCalendar
from sop_excel.errors import CellProblem, InputError

__all__ = [
    "BLOCKED",
    "DELAYED",
    "DOWN",
    "KINDS",
    "RATE",
    "STATUSES",
    "check_events",
    "event_kind",
    "event_status",
    "next_event_id",
]

DOWN, RATE, DELAYED, BLOCKED = "Resource down", "Reduced rate", "Receipt delayed", "Item blocked"
KINDS = (DOWN, RATE, DELAYED, BLOCKED)
STATUSES = ("Open", "In progress", "Closed", "Cancelled")
_RESOURCE_KINDS = (DOWN, RATE)
_ITEM_KINDS = (DELAYED, BLOCKED)
# which optional fields each kind takes (the others must be empty)
_TAKES = {
    DOWN: {"resource", "rate"},
    RATE: {"resource", "rate"},
    DELAYED: {"item", "delay_days"},
    BLOCKED: {"item"},
}
_FIELD_WORDS = {
    "resource": "Resource",
    "item": "Item",
    "rate": "Rate %",
    "delay_days": "Delay (days)",
}


def _norm(text: object) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text or "")).strip().lower()


def event_kind(text: object) -> str | None:
    """The kind as the table writes it, from any spelling (``resource_down``, ``Resource Down``)."""
    return {_norm(k): k for k in KINDS}.get(_norm(text))


def event_status(text: object) -> str | None:
    """The status as the table writes it (empty is Open); None for an unknown one."""
    if _norm(text) == "":
        return "Open"
    return {_norm(s): s for s in STATUSES}.get(_norm(text))


def next_event_id(ids: pd.Series) -> str:
    """``E<n>`` one above the highest ``E<n>`` in use."""
    nums = [
        int(m.group(1)) for v in ids.astype(str) if (m := re.fullmatch(r"\s*[Ee](\d{1,9})\s*", v))
    ]
    return f"E{max(nums, default=0) + 1}"


def _shown(v: object) -> object:
    """A value as a message shows it: a date as 2026-11-20, a whole number without its .0."""
    if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "strftime"):
        return f"{pd.Timestamp(v):%Y-%m-%d}"
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _blank(v: object) -> bool:
    return (
        v is None
        or v is pd.NaT
        or (isinstance(v, float) and np.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def check_events(
    events: pd.DataFrame,
    *,
    items: set[str],
    resources: set[str],
    calendar: WorkCalendar,
    locate: Callable[[int, str], str],
    summary: str = "Sheet 'Events' has events sop-excel cannot use",
) -> pd.DataFrame:
    """The events that count, checked, with their last day worked out.

    Args:
        events: the Events table (``id, kind, resource, item, start, end, working_days, rate,
            delay_days, owner, status, comment``).
        items, resources: the codes on the Items sheet, and the resources of Items and Capacity.
        calendar: working days (for "N working days" and labels).
        locate: ``(row position, field) -> where``, e.g. "Sheet 'Events', cell E5".

    Returns:
        The rows whose status is not Cancelled, with ``kind`` and ``status`` spelled as the table
        lists them, ``end`` filled (From plus the working days, else From), and ``label``: the
        event in words for exception reasons ("LDS-PA1 down 3 working days from 2026-11-20 (E1)").

    Raises:
        InputError: every problem at once (unknown kind, status, resource or item; no From; To
            before From; To and Working days both given; a rate outside 0-100%; a delay that is
            not a whole number of days; a value in a column the kind does not take).
    """
    problems: list[CellProblem] = []
    out = []
    for pos, r in enumerate(events.itertuples(index=False)):

        def bad(field: str, value: object, message: str, fix: str) -> None:
            problems.append(CellProblem(locate(pos, field), _shown(value), message, fix))  # noqa: B023 - used at once

        kind = event_kind(r.kind)
        if kind is None:
            bad("kind", r.kind, "is not an event kind", f"Use one of {', '.join(KINDS)}.")
        status = event_status(r.status)
        if status is None:
            bad(
                "status",
                r.status,
                "is not an event status",
                f"Use one of {', '.join(STATUSES)} (empty is Open).",
            )
        start, end, days = r.start, r.end, r.working_days
        if _blank(start):
            bad("start", None, "From is empty", "Type the event's first day (YYYY-MM-DD).")
        if not _blank(end) and not _blank(days):
            bad(
                "working_days",
                days,
                "is given with a To date",
                "Give either To or Working days, not both.",
            )
        if not _blank(days) and (float(days) < 1 or not float(days).is_integer()):
            bad(
                "working_days",
                days,
                "is not a whole number of days of at least 1",
                "Type e.g. 3, or clear it.",
            )
        elif not _blank(start) and not _blank(end) and pd.Timestamp(end) < pd.Timestamp(start):
            bad(
                "end",
                end,
                f"is before From ({pd.Timestamp(start):%Y-%m-%d})",
                "Correct the dates: an event ends on or after the day it starts.",
            )
        if kind is not None:
            for field in ("resource", "item", "rate", "delay_days"):
                value = getattr(r, field)
                if field not in _TAKES[kind] and not _blank(value):
                    bad(
                        field,
                        value,
                        f"does not apply to {kind}",
                        f"Clear {_FIELD_WORDS[field]} for this kind of event.",
                    )
        if kind in _RESOURCE_KINDS:
            if _blank(r.resource):
                bad(
                    "resource",
                    None,
                    "Resource is empty",
                    "Type the resource (a Resource on the Items or Capacity sheet).",
                )
            elif str(r.resource) not in resources:
                bad(
                    "resource",
                    r.resource,
                    "is not a resource on the Items or Capacity sheet",
                    "Check the code, or add the resource's capacity on the Capacity sheet.",
                )
        if kind == DOWN and not _blank(r.rate) and float(r.rate) != 0:
            bad(
                "rate",
                r.rate,
                "is given for a resource that is down",
                "Leave Rate % empty (down is 0%), or make the event a Reduced rate.",
            )
        if kind == RATE:
            if _blank(r.rate):
                bad(
                    "rate",
                    None,
                    "Rate % is empty",
                    "Type the share of its hours the resource still works, e.g. 50%.",
                )
            elif not 0 <= float(r.rate) < 1:
                bad(
                    "rate",
                    r.rate,
                    "is not from 0% to below 100%",
                    "Type the share of its hours the resource still works, e.g. 50% (0% is down).",
                )
        if kind in _ITEM_KINDS:
            if _blank(r.item):
                bad("item", None, "Item is empty", "Type the item (a code on the Items sheet).")
            elif str(r.item) not in items:
                bad(
                    "item",
                    r.item,
                    "is not an item on the Items sheet",
                    "Check the code, or add the item to Items first.",
                )
        if kind == DELAYED and (
            _blank(r.delay_days)
            or float(r.delay_days) < 1
            or not float(r.delay_days).is_integer()
            or float(r.delay_days) > 366
        ):
            bad(
                "delay_days",
                None if _blank(r.delay_days) else r.delay_days,
                "is not a delay of 1 to 366 days"
                if not _blank(r.delay_days)
                else "Delay (days) is empty",
                "Type by how many calendar days the receipts come later, e.g. 7.",
            )
        out.append((kind, status))
    if problems:
        raise InputError(summary, problems)
    frame = events.assign(kind=[k for k, _ in out], status=[s for _, s in out])
    frame = frame[frame["status"] != "Cancelled"].copy()
    frame["start"] = pd.to_datetime(frame["start"]).dt.normalize()
    frame["end"] = [
        _last_day(s, e, d, calendar)
        for s, e, d in zip(frame["start"], frame["end"], frame["working_days"], strict=True)
    ]
    frame["label"] = [_label(r) for r in frame.itertuples(index=False)]
    return frame.reset_index(drop=True)


def _last_day(
    start: pd.Timestamp, end: object, days: object, calendar: WorkCalendar
) -> pd.Timestamp:
    """To as typed; else the N-th working day from From (From counts when it is one); else From."""
    if not _blank(end):
        return pd.Timestamp(end).normalize()
    if _blank(days):
        return start
    cal = np.busdaycalendar(
        weekmask=calendar.weekmask,
        holidays=np.array(sorted(calendar.holidays), dtype="datetime64[D]"),
    )
    first = np.busday_offset(np.datetime64(start.date(), "D"), 0, roll="forward", busdaycal=cal)
    return pd.Timestamp(
        np.busday_offset(first, int(float(cast(float, days))) - 1, roll="forward", busdaycal=cal)
    )


def _label(r: object) -> str:
    start, end = r.start, r.end  # type: ignore[attr-defined]
    dates = f"on {start:%Y-%m-%d}" if end == start else f"from {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    span = dates
    if not _blank(r.working_days):  # type: ignore[attr-defined]
        span = f"{int(float(r.working_days))} working days from {start:%Y-%m-%d}"  # type: ignore[attr-defined]
    kind = r.kind  # type: ignore[attr-defined]
    if kind == DOWN:
        text = f"{r.resource} down {span}"  # type: ignore[attr-defined]
    elif kind == RATE:
        text = f"{r.resource} at {float(r.rate):.0%} {span}"  # type: ignore[attr-defined]
    elif kind == DELAYED:
        text = f"receipts of {r.item} due {dates} {int(float(r.delay_days))} days late"  # type: ignore[attr-defined]
    else:
        text = f"{r.item} blocked {span}"  # type: ignore[attr-defined]
    ident = str(r.id).strip() if not _blank(r.id) else ""  # type: ignore[attr-defined]
    return text + (f" ({ident})" if ident else "")
