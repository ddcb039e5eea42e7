"""The execution basis cache: what the S&OE commands plan against (the final forecast, the
plan of record, the snapshots), kept on the hidden Basis sheet with the fingerprint of the
S&OP sheets it was computed from, so a daily refresh need not read them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.errors import InputError, LayoutError
from sop_excel.models import Settings
from sop_excel.workbook.io import PackageIO, WorkbookIO
from sop_excel.workbook.safe_save import no_backup
from sop_excel.workbook.tables import read_frame, rows_for, write_frame
from sop_excel.workbook.zip_io.parts import SavedStamp

_logger = logging.getLogger(__name__)

__all__ = [
    "BASIS_SOURCES",
    "BASIS_VERSION",
    "basis_key",
    "keep_basis",
    "kept_basis",
    "kept_following",
    "latest_lock",
    "read_final",
    "save_keeping_basis",
    "workbook_basis",
    "write_basis",
]


def latest_lock(
    book: WorkbookIO, locked_plan: Callable[[], pd.DataFrame] | None = None
) -> tuple[pd.DataFrame | None, str, str]:
    """(the plan of record (tblLockedPlan, or what ``locked_plan`` gives), its label "v3 locked
    (Base)", its scenario), or (None, "", "")."""
    locks = read_frame(book, T.LOCKS)
    if locks.empty:
        return None, "", ""
    last = locks.sort_values("version").iloc[-1]
    locked = locked_plan() if locked_plan is not None else read_frame(book, T.LOCKED_PLAN)
    return locked, f"v{int(last['version'])} locked ({last['scenario']})", str(last["scenario"])


def read_final(book: WorkbookIO, items: pd.DataFrame) -> pd.DataFrame:
    """The consensus forecast from the planner's current inputs, for S&OE to plan against.

    The S&OE commands (refresh-actuals, flag-drift) leave the S&OP tables as they are: those
    change with refresh-forecast, compare-scenarios and new-scenario, never with actuals.
    """
    return pipeline.final_forecast(
        items,
        read_frame(book, T.FORECAST),
        read_frame(book, T.INPUTS),
        read_frame(book, T.FAMILY_TARGETS),
    )


# What the execution basis is computed from; its fingerprint says whether the Basis sheet still holds.
BASIS_SOURCES = [
    T.FORECAST,
    T.INPUTS,
    T.FAMILY_TARGETS,
    T.LOCKS,
    T.LOCKED_PLAN,
    T.SNAPSHOTS,
    T.HISTORY,
]


BASIS_VERSION = "3"  # 2: the next month's plan (close-month); 3: the interval spread and the locked scenario (supply)


def basis_key(book: WorkbookIO, settings: Settings) -> dict[str, str] | None:
    """What the Basis sheet must say to be used: the S&OP sheets' fingerprint (the zip side reads
    it from the file's directory) and the settings the basis depends on. None where the side
    cannot fingerprint (live Excel, openpyxl) or the workbook has no Basis sheet."""
    if not isinstance(book, PackageIO) or T.BASIS_KEY not in book.table_names():
        return None
    sheets = book.content_stamp(BASIS_SOURCES)
    if sheets is None:
        return None
    return _key(settings, sheets)


def _key(settings: Settings, sheets: str) -> dict[str, str]:
    return {
        "version": BASIS_VERSION,
        "month": f"{settings.as_of:%Y-%m}",
        "bias window": str(settings.bias_window),
        "tracking limit": repr(float(settings.tracking_limit)),
        "sheets": sheets,
    }


def workbook_basis(
    book: WorkbookIO,
    settings: Settings,
    items: pd.DataFrame,
    final: pd.DataFrame | None = None,
    state: dict[str, bool] | None = None,
) -> pipeline.ExecutionBasis:
    """The execution basis: from the Basis sheet when its fingerprint matches the S&OP sheets
    as saved, else computed from them (Forecast, Inputs, Plan of record, Snapshots, History)
    and kept on the Basis sheet for the next refresh. ``final``: a consensus just computed
    (lock-plan), which the basis is computed from.

    At 10,000 items the S&OP sheets hold about 11 million cells; the Basis sheet a few rows per
    item. A planner's edit to any of them (in Excel or here) changes the fingerprint.
    """
    key = basis_key(book, settings) if final is None else None
    kept = kept_basis(book, key) if key is not None else None
    if state is not None:
        state["kept"] = kept is not None  # the S&OP sheets are as sop-excel last kept them
    if kept is not None:
        return kept
    locked, label, scenario = latest_lock(book)
    basis = pipeline.execution_basis(
        settings,
        final if final is not None else read_final(book, items),
        locked,
        label,
        read_frame(book, T.SNAPSHOTS),
        read_frame(book, T.HISTORY),
        lock_scenario=scenario,
    )
    if key is not None:
        write_basis(book, basis, key)
    return basis


def kept_basis(book: WorkbookIO, key: dict[str, str]) -> pipeline.ExecutionBasis | None:
    """The basis on the Basis sheet, if its key holds for ``key`` (the file and settings as they
    are). A Basis sheet that cannot be read (edited by some tool) is no basis: it is computed
    again and written over, never an error (the planner did not type it)."""
    try:
        kept = read_frame(book, T.BASIS_KEY)
        said = dict(zip(kept["key"].astype(str), kept["value"].astype(str), strict=True))
        if "plan source" not in said or any(said.get(k) != v for k, v in key.items()):
            return None
        basis = pipeline.ExecutionBasis(
            read_frame(book, T.BASIS_ITEMS),
            read_frame(book, T.BASIS_MONTHS),
            said["plan source"],
            scenario=said.get("plan scenario", ""),
        )
    except (InputError, LayoutError) as exc:
        _logger.warning(
            "%s: the Basis sheet cannot be read (%s); computing the execution basis again",
            book.name,
            exc,
        )
        return None
    _logger.debug("%s: execution basis from the Basis sheet", book.name)
    return basis


def write_basis(book: WorkbookIO, basis: pipeline.ExecutionBasis, key: dict[str, str]) -> None:
    tables = set(book.table_names())
    for name, frame in basis.frames().items():
        if name in tables:  # a workbook made before the following month's tables lacks them
            write_frame(book, name, frame)
    write_frame(book, T.BASIS_KEY, _key_frame(book, basis, key))


def _key_frame(
    book: WorkbookIO, basis: pipeline.ExecutionBasis, key: dict[str, str]
) -> pd.DataFrame:
    f = basis.following if T.BASIS_NEXT_ITEMS in book.table_names() else None
    extra = {
        "plan source": basis.source,
        "plan scenario": basis.scenario,
        **(
            {
                "next month": f"{f.month:%Y-%m}",
                "next plan source": f.source,
                "next plan scenario": f.scenario,
            }
            if f is not None
            else {}
        ),
    }
    return pd.DataFrame({"key": [*key, *extra], "value": [*key.values(), *extra.values()]})


def kept_following(
    book: WorkbookIO, key: dict[str, str] | None, month: pd.Timestamp
) -> pipeline.BasisPlan | None:
    """The plan side of ``month`` kept with the basis (:attr:`ExecutionBasis.following`), if
    the basis's key holds for ``key`` (the file and settings as they are) and it is that month's."""
    if key is None or T.BASIS_NEXT_ITEMS not in book.table_names():
        return None
    try:
        kept = read_frame(book, T.BASIS_KEY)
        said = dict(zip(kept["key"].astype(str), kept["value"].astype(str), strict=True))
        if said.get("next month") != f"{month:%Y-%m}" or any(
            said.get(k) != v for k, v in key.items()
        ):
            return None
        return pipeline.BasisPlan(
            read_frame(book, T.BASIS_NEXT_ITEMS),
            read_frame(book, T.BASIS_NEXT_MONTHS),
            said.get("next plan source", ""),
            month,
            said.get("next plan scenario", ""),
        )
    except (InputError, LayoutError) as exc:
        _logger.warning(
            "%s: the Basis sheet cannot be read (%s); close-month reads the S&OP sheets",
            book.name,
            exc,
        )
        return None


def keep_basis(
    book: WorkbookIO,
    settings: Settings,
    basis: pipeline.ExecutionBasis | Callable[[], pipeline.ExecutionBasis],
) -> bool:
    """After a save that changed what the execution basis comes from (refresh-forecast,
    lock-plan, a new workbook), or rewrote those sheets with what they held (compare-scenarios):
    keep ``basis`` on the Basis sheet with the fingerprint of the file as saved (a second, small
    save), so the next refresh-actuals reads it instead of the S&OP sheets. Only a cache: where it cannot be kept (live Excel, openpyxl, no Basis sheet)
    or keeping it fails, nothing changes but the next refresh's time. True if kept.
    ``basis`` may be the call that computes it (its errors, too, only cost the cache).
    """
    try:
        key = basis_key(book, settings)
        if key is None:
            return False
        write_basis(book, basis() if callable(basis) else basis, key)
        with no_backup():  # the command's own save kept the version from before it
            book.save()
    except Exception as exc:  # noqa: BLE001 - a cache: the command's own work is saved already
        _logger.warning(
            "%s: the execution basis was not kept (%s); the next refresh-actuals computes it",
            book.name,
            exc,
        )
        return False
    return True


def save_keeping_basis(
    book: WorkbookIO,
    settings: Settings,
    basis: pipeline.ExecutionBasis | Callable[[], pipeline.ExecutionBasis],
) -> bool:
    """``book.save()``, keeping ``basis`` as :func:`keep_basis` does, in that same save where
    the side can fingerprint the S&OP sheets as the save writes them (the zip side: the key's
    ``sheets`` is a :class:`~sop_excel.workbook.zip_io.parts.SavedStamp`, made from the CRC-32
    of each part once written, before the Basis sheet is written): one save, not two. Elsewhere
    (live Excel, openpyxl, no Basis sheet) :func:`keep_basis` after the save. True if kept.

    Only a cache: a basis that cannot be computed or queued is not kept (the key left so that
    it holds for no file), the command's writes are saved all the same.
    """
    try:
        stamp = None
        if isinstance(book, PackageIO) and T.BASIS_KEY in book.table_names():
            if book.content_stamp([]) is not None:  # the side can fingerprint its own save
                stamp = SavedStamp(BASIS_SOURCES)
    except Exception:  # noqa: BLE001 - asked of the side as basis_key asks it: fall through
        stamp = None
    if stamp is None:
        book.save()
        return keep_basis(book, settings, basis)
    kept = False
    try:
        made = basis() if callable(basis) else basis
        key = _key(settings, stamp)
        frame = _key_frame(book, made, key)
        # first a key that holds for no file: a basis written in part is never used
        write_frame(book, T.BASIS_KEY, frame.assign(value=""))
        write_basis(book, made, key)  # the key as text: the stamp's placeholder
        rows = rows_for(T.BASIS_KEY, frame)  # rows, not a frame: the stamp is a cell of its own
        if sum(isinstance(v, SavedStamp) for r in rows for v in r) != 1:
            raise ValueError("the key's rows do not hold its fingerprint cell")
        book.write_table(T.BASIS_KEY, rows)  # the save fills the fingerprint in
        kept = True
    except Exception as exc:  # noqa: BLE001 - a cache: the command's own writes are saved
        _logger.warning(
            "%s: the execution basis was not kept (%s); the next refresh-actuals computes it",
            book.name,
            exc,
        )
    book.save()
    return kept
