"""One item's task, from its raw monthly history to its forecast: what the local engine's
processes and the Dask engine's workers run (``engine`` and ``distributed`` both import it;
neither imports the other at module level)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from forecasting._types import FloatArray
from forecasting.cleansing import clean_item, outlier_cap
from forecasting.selection import ItemResult, ItemSpec, forecast_item

__all__ = ["item_task", "month_name"]


def month_name(index: int) -> str:
    """``YYYY-MM`` of a month counted from year 0 (``year * 12 + month - 1``)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months_list(positions: np.ndarray, start: int | None, most: int = 6) -> str:
    """The months at ``positions`` of a history starting at month ``start``, by name."""
    if start is None:
        names = [f"month {int(i) + 1}" for i in positions[:most]]
    else:
        names = [month_name(start + int(i)) for i in positions[:most]]
    more = f" and {positions.size - most} more" if positions.size > most else ""
    return ", ".join(names) + more


def item_task(
    uid: str, y: FloatArray, spec: ItemSpec, clean: dict[str, Any]
) -> tuple[str, ItemResult]:
    """One item from its raw monthly history to its forecast (see ``ItemSpec`` for the
    months kept as they are, the first month's name and the group's seasonal profile)."""
    keep, start, calendar_prior = spec.keep, spec.start, spec.calendar_prior
    if np.any(y < 0):
        spec.notes.append(f"{int(np.sum(y < 0))} negative months (returns) counted as 0")
    cs = clean_item(y, keep, clean)
    x = cs.y_clean
    first = np.flatnonzero(~np.isnan(x))
    x = x[first[0] :] if first.size else x[:0]
    x = x[~np.isnan(x)]  # months excluded when fill_missing is False
    x = np.maximum(x, 0.0)
    flags = np.array(cs.flags, dtype=object)
    fixed = np.flatnonzero(flags == "outlier")
    if fixed.size:
        spec.notes.append(
            f"{fixed.size} outlier month{'s' * (fixed.size > 1)} corrected "
            f"({_months_list(fixed, start)})"
        )
    odd = np.flatnonzero(flags == "unusual")
    if odd.size:
        spec.notes.append(
            f"{odd.size} more unusual month{'s' * (odd.size > 1)} kept as "
            f"{'they are' if odd.size > 1 else 'it is'} ({_months_list(odd, start)}; "
            f"at most {outlier_cap(int(np.sum(~np.isnan(y))))} corrected)"
        )
    if cs.note:
        spec.notes.append(cs.note)
    if cs.n_missing and first.size:
        verb = "filled" if clean.get("fill_missing", True) else "excluded"
        spec.notes.append(f"{cs.n_missing} month{'s' * (cs.n_missing > 1)} without data {verb}")
    m = spec.season_length
    if calendar_prior is not None and first.size and start is not None and m >= 2:
        begin = start + int(first[0])
        spec.prior = np.asarray(calendar_prior, dtype=float)[(begin + np.arange(m)) % m]
    if spec.like is not None:
        lc = clean_item(spec.like, None, clean).y_clean
        spec.like = np.maximum(lc[~np.isnan(lc)], 0.0)
    with warnings.catch_warnings():
        # numerical warnings from scipy/statsmodels on flat or short series: failures are
        # recorded per item as fallbacks instead (issue 3)
        warnings.simplefilter("ignore")
        return uid, forecast_item(x, spec)
