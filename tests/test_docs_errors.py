"""docs/errors.md lists every message sop-excel can show: a message added to the code and not
to the page fails here.

The source is parsed with ``ast`` (nothing is imported or run). A *message* is the text given to:

- an error class: ``SopExcelError`` and its subclasses, ``DistributedError`` (the Dask engine),
  ``ModelError`` (shown in the Forecast sheet's Fallback column), ``UdfError`` (shown in a
  cell), argparse's ``ArgumentTypeError``;
- a ``CellProblem`` (its message and its fix), or a local helper that builds one;
- ``ValueError`` where the user sees it: the Settings and scenario-file validators and the
  scenario parent chain;
- the workbook guard's ``_corrupt``/``_too_big`` helpers;
- ``print(..., file=sys.stderr)`` in the CLI, the ``check`` command's problem lines and the
  run reports' warnings.

From each message the literal parts (the text between the ``{placeholders}`` of an f-string, or
around a ``+``) are taken; the first part of at least ``MIN_LITERAL`` characters, cut to
``PREFIX`` characters, must appear in docs/errors.md, where the variable parts are written as
``<placeholders>``. A message with no literal part that long (``f"{what} is empty"``) is
skipped. The reverse (everything on the page is still in the code) is not checked.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
SOURCES = ("sop_excel", "forecasting", "udfs")
MIN_LITERAL = 12
PREFIX = 30

ERROR_CLASSES = {
    "SopExcelError",
    "InputError",
    "WorkbookError",
    "WorkbookLockedError",
    "WorkbookCorruptError",
    "LayoutError",
    "ForecastError",
    "DistributedError",
    "ModelError",
    "UdfError",
    "ArgumentTypeError",
}
# callee -> positions (or keyword names) of its message arguments
MESSAGE_ARGS: dict[str, tuple[int | str, ...]] = {
    **{name: (0, "summary") for name in ERROR_CLASSES},
    "CellProblem": (2, 3, "message", "fix"),
    "_corrupt": (1, 2, "what", "todo"),
    "_too_big": (2, "what"),
}
# helpers local to one file: (file, callee) -> message arguments
LOCAL_ARGS: dict[tuple[str, str], tuple[int | str, ...]] = {
    ("sop_excel/sources/_validate.py", "add"): (
        4,
        5,
    ),  # add(mask, order, col, values, message, fix)
    ("sop_excel/sources/exports.py", "add"): (
        3,
        4,
    ),  # problems.add(mask, where, values, message, fix)
    ("sop_excel/core/events.py", "bad"): (2, 3),  # bad(field, value, message, fix)
}
# ValueError reaches the user (through pydantic or a CellProblem) only in these places
VALUE_ERROR_SCOPES = {
    "sop_excel/models.py": "Settings",  # the class whose validators check the Settings sheet
    "sop_excel/scenario_text.py": None,  # the whole file
    "sop_excel/core/scenarios.py": None,
}


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _module_strings(tree: ast.Module) -> dict[str, object]:
    """Module-level NAME = "text" and NAME = {"key": "text"} constants (e.g. _RESAVE, _FIX)."""
    out: dict[str, object] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out[node.targets[0].id] = value.value
            elif isinstance(value, ast.Dict) and all(
                isinstance(k, ast.Constant)
                and isinstance(v, ast.Constant)
                and isinstance(v.value, str)
                for k, v in zip(value.keys, value.values, strict=True)
            ):
                out[node.targets[0].id] = {
                    k.value: v.value for k, v in zip(value.keys, value.values, strict=True)
                }
    return out


def _parts(node: ast.expr, consts: dict[str, object]) -> list[str | None] | None:
    """The message as literal parts and ``None`` for each variable part; None: not text."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left, consts), _parts(node.right, consts)
        if left is None and right is None:
            return None
        return (left or [None]) + (right or [None])
    if isinstance(node, ast.Name) and isinstance(consts.get(node.id), str):
        return [consts[node.id]]
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(consts.get(node.value.id), dict)
        and isinstance(node.slice, ast.Constant)
    ):
        return [consts[node.value.id][node.slice.value]]
    return None


def _branches(node: ast.expr) -> Iterator[ast.expr]:
    """Both texts of ``"a" if cond else "b"``; the node itself otherwise."""
    if isinstance(node, ast.IfExp):
        yield from _branches(node.body)
        yield from _branches(node.orelse)
    else:
        yield node


def _callee(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _args(call: ast.Call, where: tuple[int | str, ...]) -> Iterator[ast.expr]:
    for w in where:
        if isinstance(w, int) and w < len(call.args):
            yield call.args[w]
        elif isinstance(w, str):
            yield from (k.value for k in call.keywords if k.arg == w)


def _is_stderr_print(call: ast.Call) -> bool:
    return _callee(call) == "print" and any(
        k.arg == "file" and ast.unparse(k.value) == "sys.stderr" for k in call.keywords
    )


def _appends_to(call: ast.Call, names: tuple[str, ...]) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "append"
        and ast.unparse(f.value).split(".")[-1] in names
    )


@functools.cache
def messages() -> list[tuple[str, int, list[str | None]]]:
    """(file, line, parts) of every message in the source."""
    found = []
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            consts = _module_strings(tree)
            scopes: list[ast.AST] = [tree]
            if rel in VALUE_ERROR_SCOPES and VALUE_ERROR_SCOPES[rel]:
                scopes = [
                    n
                    for n in ast.walk(tree)
                    if isinstance(n, ast.ClassDef) and n.name == VALUE_ERROR_SCOPES[rel]
                ]
            value_error_calls = {
                id(n)
                for s in scopes
                for n in ast.walk(s)
                if isinstance(n, ast.Call) and _callee(n) == "ValueError"
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = _callee(node)
                where = MESSAGE_ARGS.get(name) or LOCAL_ARGS.get((rel, name))
                if where is None and rel in VALUE_ERROR_SCOPES and id(node) in value_error_calls:
                    where = (0,)
                if where is None and (
                    _is_stderr_print(node) or _appends_to(node, ("problems", "warnings"))
                ):
                    where = (0,)
                for arg in _args(node, where or ()):
                    for branch in _branches(arg):
                        parts = _parts(branch, consts)
                        if parts is not None:
                            found.append((rel, node.lineno, parts))
    return found


def key_text(parts: list[str | None]) -> str | None:
    """The first literal part of at least MIN_LITERAL characters, cut to PREFIX; None if none."""
    for part in parts:
        if part is not None and len(_normal(part)) >= MIN_LITERAL:
            return _normal(part)[:PREFIX].strip()
    return None


def test_the_scan_finds_the_messages_it_should():
    """Guards the scanner: known messages of each kind are collected (a blind test passes)."""
    keys = {key_text(p) for _, _, p in messages()}
    for expected in (
        "is not an Excel workbook: it d",  # guard._corrupt, f-string
        "Open it in Excel and save it a",  # guard._RESAVE, a module constant
        "Write dates as YYYY-MM-DD.",  # _validate.add(..., message, fix)
        "Type a date (for example 2026-",  # convert._FIX["date"], a module dict
        "is not a known flag",  # CellProblem message
        "is open in Excel (found",  # WorkbookLockedError
        "Drift watch % must not be abov",  # ValueError in the Settings model
        "' has a loop in its parents:",  # ValueError in the scenario chain
        "is not a Dask scheduler addres",  # DistributedError
        "complex exponential smoothing",  # ModelError
        "history must be 1 column (qty)",  # UdfError
        "is not a percentage: write 5%",  # argparse ArgumentTypeError
        "Interrupted; the workbook was",  # print(..., file=sys.stderr)
        ": formula has no cached value",  # check: problems.append(str)
        "items used a fallback model (s",  # report.warnings.append
    ):
        assert expected in keys, f"the scan no longer finds {expected!r}"
    assert len(keys) > 150


def test_every_message_is_in_docs_errors_md():
    doc = _normal(DOC.read_text(encoding="utf-8"))
    missing = sorted(
        {
            (f"{rel}:{line}", key)
            for rel, line, parts in messages()
            if (key := key_text(parts)) is not None and key not in doc
        }
    )
    assert not missing, (
        "docs/errors.md does not list these messages (add each with its cause and what to do, "
        "variable parts as <placeholders>):\n" + "\n".join(f"  {w}: {k!r}" for w, k in missing)
    )
