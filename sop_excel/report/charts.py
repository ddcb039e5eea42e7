"""The meeting pack's charts, drawn with matplotlib on a figure it is given (no pyplot, so no
global backend: the PDF and PNG renderers use Agg's canvas, the HTML renderer SVG).

Each function draws into ``rect`` (left, bottom, width, height as figure fractions) and keeps
its axis labels inside it. Sizes are for A4 landscape read on paper or a projector: tick labels
9 pt, lines 1.8 pt, a scenario in its own colour on every page (``blocks.scenario_colours``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sop_excel.report.blocks import BUDGET_COLOUR, OVERLOAD_COLOUR

__all__ = [
    "accuracy_by_lag",
    "below_safety_by_month",
    "cumulative_gap",
    "family_panels",
    "resource_panels",
    "revenue_by_month",
    "utilisation_heatmap",
]

Rect = tuple[float, float, float, float]
TICK, LABEL, LINE = 9, 9.5, 1.8
HISTORY_COLOUR, FORECAST_COLOUR = (
    "#404040",
    "#1F4E78",
)  # the workbook's header blue for the consensus


def _axes(
    fig: Figure,
    rect: Rect,
    left: float = 0.8,
    bottom: float = 0.45,
    right: float = 0.15,
    top: float = 0.15,
) -> Any:
    """Axes inside ``rect`` leaving margins (inches) for tick labels."""
    w_in, h_in = fig.get_size_inches()
    x, y, w, h = rect
    ax = fig.add_axes(
        (
            x + left / w_in,
            y + bottom / h_in,
            max(w - (left + right) / w_in, 0.05),
            max(h - (bottom + top) / h_in, 0.05),
        )
    )
    ax.tick_params(labelsize=TICK)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#D9D9D9", linewidth=0.6)
    ax.set_axisbelow(True)
    return ax


def _scaled(ax: Any, peak: float, unit: str) -> None:
    """Y ticks in the workbook's #,##0 style, in thousands or millions when the numbers are big
    (the unit is said on the axis)."""
    peak = abs(peak) if np.isfinite(peak) else 0.0
    factor, word = (
        (1e6, "million") if peak >= 2e6 else (1e3, "thousand") if peak >= 2e4 else (1.0, "")
    )
    digits = 1 if factor > 1 and peak / factor < 10 else 0
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / factor:,.{digits}f}"))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    label = f"{unit} ({word})" if word else unit
    if label:
        ax.set_ylabel(label, fontsize=LABEL)


def _months_axis(ax: Any) -> None:
    lo, hi = ax.dataLim.intervalx
    span = (hi - lo) / 30.4  # months the data covers
    locator = (
        mdates.MonthLocator(interval=1 if span <= 8 else 2)
        if span <= 14
        else mdates.AutoDateLocator(minticks=4, maxticks=9)
    )
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def _x(months: Sequence[Any]) -> np.ndarray:
    return pd.to_datetime(pd.Series(months)).to_numpy()


def _legend_top(entries: int, ncol: int) -> float:
    """Inches above the axes for a legend of ``entries`` in ``ncol`` columns."""
    return 0.12 + 0.22 * -(-max(entries, 1) // ncol)


def _legend(ax: Any, ncol: int = 4) -> None:
    """The legend above the plot, clear of the lines."""
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            fontsize=TICK,
            frameon=False,
            ncol=ncol,
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            handlelength=1.8,
            borderaxespad=0.2,
        )


def _label(text: object) -> str:
    """A name as a label: a '$' is text, not the start of a formula (matplotlib's mathtext)."""
    return str(text).replace("$", r"\$")


def revenue_by_month(
    fig: Figure,
    rect: Rect,
    *,
    months: list,
    series: list[tuple[str, list, str]],
    budget: list | None,
    unit: str,
) -> None:
    """Revenue per month of each scenario (its colour) and the budget (grey, dashed; months
    without a budget are left out)."""
    ax = _axes(fig, rect, top=_legend_top(len(series) + (budget is not None), 3))
    x = _x(months)
    peak = 0.0
    for name, values, colour in series:
        v = np.asarray(values, dtype=float)
        ax.plot(x, v, color=colour, linewidth=LINE, label=_label(name))
        peak = max(peak, np.nanmax(v, initial=0.0))
    if budget is not None:
        b = np.asarray(budget, dtype=float)
        ax.plot(x, b, color=BUDGET_COLOUR, linewidth=LINE, linestyle=(0, (4, 2)), label="Budget")
    _months_axis(ax)
    _scaled(ax, peak, unit)
    ax.set_ylim(bottom=0, top=peak * 1.08 if peak > 0 else 1)
    _legend(ax, ncol=3)


def cumulative_gap(
    fig: Figure, rect: Rect, *, months: list, series: list[tuple[str, list, str]], unit: str
) -> None:
    """Gap to budget added up month by month, per scenario: where a line ends above zero the
    scenario closes the gap over the months with a budget."""
    ax = _axes(fig, rect, top=_legend_top(len(series), 3))
    x = _x(months)
    lo, hi = 0.0, 0.0
    for name, values, colour in series:
        v = np.cumsum(np.nan_to_num(np.asarray(values, dtype=float)))
        ax.plot(x, v, color=colour, linewidth=LINE, label=_label(name))
        lo, hi = min(lo, float(v.min(initial=0))), max(hi, float(v.max(initial=0)))
    ax.axhline(0, color="#000000", linewidth=0.9)
    _months_axis(ax)
    _scaled(ax, max(abs(lo), abs(hi)), unit)
    span = (hi - lo) or 1.0
    ax.set_ylim(lo - 0.05 * span, hi + 0.08 * span)
    _legend(ax, ncol=3)


def family_panels(fig: Figure, rect: Rect, *, panels: list[dict], cols: int, unit: str) -> None:
    """One small chart per family: history, the final forecast with its 80% band, and the
    budget volume where there is one."""
    n = len(panels)
    rows = max(1, -(-n // cols))
    x0, y0, w, h = rect
    cw, ch = w / cols, h / rows
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        cell = (x0 + c * cw, y0 + (rows - 1 - r) * ch, cw, ch)
        ax = _axes(fig, cell, left=0.7, bottom=0.35, right=0.2, top=0.42)
        ax.set_title(_label(p["title"]), fontsize=10.5, fontweight="bold", loc="left", pad=14)
        ax.text(
            0,
            1.015,
            p["subtitle"],
            transform=ax.transAxes,
            fontsize=8.5,
            color="#404040",
            va="bottom",
        )
        hx, fx = _x(p["hist_months"]), _x(p["fc_months"])
        ax.plot(
            hx,
            np.asarray(p["history"], dtype=float),
            color=HISTORY_COLOUR,
            linewidth=1.4,
            label="History",
        )
        if len(fx):
            ax.fill_between(
                fx,
                np.asarray(p["lo"], dtype=float),
                np.asarray(p["hi"], dtype=float),
                color=FORECAST_COLOUR,
                alpha=0.18,
                linewidth=0,
                label="80% band",
            )
            ax.plot(
                fx,
                np.asarray(p["final"], dtype=float),
                color=FORECAST_COLOUR,
                linewidth=LINE,
                label="Final forecast",
            )
        if p.get("budget_months") is not None and len(p["budget_months"]):
            ax.plot(
                _x(p["budget_months"]),
                np.asarray(p["budget"], dtype=float),
                color=BUDGET_COLOUR,
                linewidth=1.2,
                linestyle=(0, (4, 2)),
                label="Budget",
            )
        peak = np.nanmax(
            np.concatenate(
                [np.asarray(p[k_], dtype=float) for k_ in ("history", "hi", "final") if len(p[k_])]
                or [np.zeros(1)]
            )
        )
        _months_axis(ax)
        _scaled(ax, peak, unit)  # each panel its own scale, so each says its unit
        ax.set_ylim(bottom=0, top=max(peak, 1.0) * 1.12)
        if k == 0:
            ax.legend(fontsize=8, frameon=False, ncol=4, loc="lower left", handlelength=1.6)


_HEAT = LinearSegmentedColormap.from_list("load", ["#F2F6FA", "#9DC3E6", "#2E75B6"])


def utilisation_heatmap(
    fig: Figure,
    rect: Rect,
    *,
    resources: list[str],
    months: list,
    utilisation: np.ndarray,
    overload: np.ndarray,
) -> None:
    """Load as a share of capacity per resource (rows) and month (columns), the figure in each
    cell; overloaded cells red. NaN: no load that month."""
    n_rows = max(len(resources), 1)
    w_in, h_in = fig.get_size_inches()
    longest = max((len(r) for r in resources), default=4)
    ax = _axes(fig, rect, left=min(0.15 + 0.075 * longest, 2.2), bottom=0.35, right=0.1, top=0.1)
    ax.grid(False)
    u = np.asarray(utilisation, dtype=float)
    shown = np.where(np.isfinite(u), np.clip(u, 0, 1.0), np.nan)
    ax.imshow(shown, aspect="auto", cmap=_HEAT, vmin=0, vmax=1.0, interpolation="nearest")
    over = np.asarray(overload, dtype=bool)
    if over.any():
        rgba = np.zeros((*over.shape, 4))
        rgba[over] = (0.753, 0.0, 0.0, 1.0)
        ax.imshow(rgba, aspect="auto", interpolation="nearest")
    cell_h_pt = ax.get_position().height * h_in * 72 / n_rows
    cell_w_pt = ax.get_position().width * w_in * 72 / max(len(months), 1)
    size = min(8.5, cell_h_pt * 0.6, cell_w_pt / 3.2)
    if size >= 5.5:
        for (i, j), v in np.ndenumerate(u):
            if np.isnan(v):
                continue
            text = "no cap." if np.isinf(v) else f"{v:.0%}"
            dark = over[i, j] or (np.isfinite(v) and v > 0.7)
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=size,
                color="#FFFFFF" if dark else "#1F1F1F",
                fontweight="bold" if over[i, j] else "normal",
            )
    ax.set_yticks(
        range(len(resources)),
        [_label(r) for r in resources],
        fontsize=min(TICK, max(cell_h_pt * 0.7, 5)),
    )
    labels = [
        f"{pd.Timestamp(m):%b}\n{pd.Timestamp(m):%Y}"
        if k == 0 or pd.Timestamp(m).month == 1
        else f"{pd.Timestamp(m):%b}"
        for k, m in enumerate(months)
    ]
    ax.set_xticks(range(len(months)), labels, fontsize=8)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def resource_panels(fig: Figure, rect: Rect, *, panels: list[dict], unit: str = "hours") -> None:
    """Per resource: each scenario's load (its colour) against capacity (black; a scenario
    whose capacity differs, dotted in its colour); overloaded months marked red. One legend
    above the panels."""
    n = len(panels)
    x0, y0, w, h = rect
    names = list(dict.fromkeys(name for p in panels for name, *_ in p["series"]))
    colours = {name: colour for p in panels for name, _l, _c, colour in p["series"]}
    ncol = min(len(names) + 2, 4)
    top = _legend_top(len(names) + 2, ncol) / fig.get_size_inches()[1]
    cols = 1 if n == 1 else 2
    rows = -(-n // cols)
    cw, ch = w / cols, (h - top) / rows
    for k, p in enumerate(panels):
        r, c = divmod(k, cols)
        ax = _axes(
            fig, (x0 + c * cw, y0 + (rows - 1 - r) * ch, cw, ch), left=0.75, bottom=0.35, top=0.3
        )
        ax.set_title(_label(p["resource"]), fontsize=10, fontweight="bold", loc="left")
        x = _x(p["months"])
        peak = 0.0
        first_cap = np.asarray(p["series"][0][2], dtype=float)
        for name, load, cap, colour in p["series"]:
            ld, cp = np.asarray(load, dtype=float), np.asarray(cap, dtype=float)
            ax.plot(x, ld, color=colour, linewidth=LINE)
            over = ld > cp + 1e-9
            if over.any():
                ax.scatter(x[over], ld[over], s=28, color=OVERLOAD_COLOUR, zorder=5)
            if name != p["series"][0][0] and not np.allclose(
                np.nan_to_num(cp), np.nan_to_num(first_cap)
            ):
                ax.step(x, cp, where="mid", color=colour, linewidth=1.2, linestyle=":")
            peak = max(peak, np.nanmax(ld, initial=0), np.nanmax(cp, initial=0))
        ax.step(x, first_cap, where="mid", color="#000000", linewidth=1.3)
        _months_axis(ax)
        _scaled(ax, peak, unit)
        ax.set_ylim(bottom=0, top=max(peak, 1.0) * 1.1)
    handles = [Line2D([], [], color=colours[nm], linewidth=LINE) for nm in names]
    handles += [
        Line2D([], [], color="#000000", linewidth=1.3),
        Line2D([], [], color=OVERLOAD_COLOUR, marker="o", linestyle="none"),
    ]
    fig.legend(
        handles,
        [_label(nm) for nm in names] + ["Capacity", "Overloaded month"],
        loc="upper left",
        bbox_to_anchor=(x0, y0 + h),
        bbox_transform=fig.transFigure,
        ncol=ncol,
        fontsize=TICK,
        frameon=False,
        handlelength=1.8,
    )


def accuracy_by_lag(
    fig: Figure,
    rect: Rect,
    *,
    lags: list[int],
    naive: list,
    stat: list,
    final: list,
    months: list[int],
) -> None:
    """Weighted MAPE of naive, statistical and final forecasts by lag (bars); lower is better."""
    ax = _axes(fig, rect, left=0.7, bottom=0.55, top=_legend_top(3, 3))
    x = np.arange(len(lags))
    width = 0.26
    for off, values, colour, label in (
        (-width, naive, "#A6A6A6", "Naive"),
        (0.0, stat, "#9DC3E6", "Statistical"),
        (width, final, FORECAST_COLOUR, "Final"),
    ):
        v = np.asarray(values, dtype=float)
        bars = ax.bar(x + off, v, width=width * 0.95, color=colour, label=label)
        for b, val in zip(bars, v, strict=True):
            if np.isfinite(val):
                ax.text(
                    b.get_x() + b.get_width() / 2,
                    val,
                    f" {val:.1%}",
                    ha="center",
                    va="bottom",
                    fontsize=7.5,
                    rotation=90 if len(lags) > 3 else 0,
                )
    ax.set_xticks(
        x, [f"lag {lag}\n{m} mo." for lag, m in zip(lags, months, strict=True)], fontsize=8.5
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0%}"))
    top = np.nanmax(np.asarray([*naive, *stat, *final], dtype=float), initial=0.1)
    ax.set_ylim(0, top * (1.3 if len(lags) > 3 else 1.12))
    ax.set_ylabel("WMAPE (lower is better)", fontsize=LABEL)
    _legend(ax, ncol=3)


def below_safety_by_month(fig: Figure, rect: Rect, *, months: list, below: list, out: list) -> None:
    """How many items are below safety stock, and how many out of stock, each month (bars)."""
    ax = _axes(fig, rect, left=0.55, bottom=0.4, top=_legend_top(2, 2))
    x = _x(months)
    width = np.timedelta64(20, "D")  # a bar of 20 days in each month
    ax.bar(x, below, width=width, color="#F4B183", label="Below safety stock")
    ax.bar(x, out, width=width, color=OVERLOAD_COLOUR, label="Out of stock")
    _months_axis(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(max(below, default=0), 1) * 1.1)
    _legend(ax, ncol=2)
