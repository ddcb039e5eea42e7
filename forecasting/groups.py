"""Seasonal profiles of groups of items (a family, a site): the classic planning practice.

An item with a short or noisy history cannot tell its season from noise; its family can. A
group's profile pools the seasonal patterns of its items that have two seasons or more of
positive history, by calendar month, and is shrunk toward no season by how consistently the
items agree (the same credibility rule as an item's own pattern, see
``seasonality.seasonal_profile``). Each item then shrinks its own pattern toward its group's
instead of toward none; items too short for a pattern of their own, new items included, take
the group's. An item's own pattern is left out of the profile it is shrunk toward when the
group has three contributors or more, so an item is not compared with itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forecasting._types import FloatArray
from forecasting.seasonality import seasonal_profile

__all__ = ["GroupProfile", "group_profiles"]

_YEARS = 5  # the latest five years of each item make its contribution


@dataclass
class GroupProfile:
    """A group's seasonal indices by calendar position (``month % m``) and their story."""

    indices: FloatArray
    items: int
    months: int
    weight: float
    by_item: dict[str, FloatArray]  # leave-one-out profiles of the contributing items

    def for_item(self, uid: str) -> FloatArray:
        """The profile an item is shrunk toward (its own pattern left out when it can be)."""
        return self.by_item.get(uid, self.indices)


def _shrunk(logs: FloatArray) -> tuple[FloatArray, float]:
    """Mean log indices of the items, shrunk toward none by the items' agreement.

    F = variance of the mean profile across positions over the mean sampling variance of
    one position's mean (the spread of the items around it over their number); weight
    max(0, 1 - 1/F), as for one item's own pattern.
    """
    k = logs.shape[0]
    mean = logs.mean(axis=0)
    if k < 2:
        return mean, 1.0
    se2 = float(np.mean(logs.var(axis=0, ddof=1) / k))
    between = float(np.mean((mean - mean.mean()) ** 2))
    if se2 <= 0:
        return mean, 1.0 if between > 0 else 0.0
    f_stat = between / se2
    weight = max(0.0, 1.0 - 1.0 / f_stat) if f_stat > 0 else 0.0
    return weight * mean, weight


def group_profiles(
    series: Sequence[tuple[str, int, FloatArray]],
    groups: Mapping[str, str],
    season_length: int = 12,
) -> dict[str, GroupProfile]:
    """Each group's multiplicative seasonal profile by calendar position.

    Args:
        series: ``(item, first month, history)`` per item; the first month counts months
            from year 0 (``year * 12 + month - 1``); NaN = no data.
        groups: item -> group name; items without a group contribute to none.
        season_length: months per season.

    Returns:
        group -> profile, for groups with at least one contributing item and a pattern the
        items agree on (weight above 0); an empty dict when no group has one.
    """
    m = season_length
    if m < 2:
        return {}
    logs: dict[str, list[tuple[str, FloatArray, int]]] = {}
    for uid, start, y in series:
        group = groups.get(uid)
        if group is None or group == "":
            continue
        y = np.asarray(y, dtype=float)
        valid = np.flatnonzero(~np.isnan(y))
        if valid.size < 2 * m:
            continue
        y = y[valid[0] : valid[-1] + 1]
        begin = start + int(valid[0])
        if np.any(np.isnan(y)):
            idx = np.arange(y.size)
            ok = ~np.isnan(y)
            y = np.interp(idx, idx[ok], y[ok])
        cut = max(0, y.size - _YEARS * m)
        y, begin = y[cut:], begin + cut
        if y.size < 2 * m or y.min() <= 0:
            continue  # zeros or returns: an additive pattern that cannot be pooled by ratio
        prof = seasonal_profile(y, m, multiplicative=True)
        if prof is None or not prof.multiplicative:
            continue
        cal = np.empty(m)
        cal[(begin + np.arange(m)) % m] = np.log(prof.own)  # position t % m -> calendar
        logs.setdefault(str(group), []).append((uid, cal - cal.mean(), y.size))
    out: dict[str, GroupProfile] = {}
    for group, rows in logs.items():
        arr = np.array([r[1] for r in rows])
        mean, weight = _shrunk(arr)
        if weight <= 0:
            continue
        by_item: dict[str, FloatArray] = {}
        if len(rows) >= 3:
            for i, (uid, _, _) in enumerate(rows):
                rest, w = _shrunk(np.delete(arr, i, axis=0))
                by_item[uid] = np.exp(rest - rest.mean())
        months = int(np.median([r[2] for r in rows]))
        out[group] = GroupProfile(np.exp(mean - mean.mean()), len(rows), months, weight, by_item)
    return out
