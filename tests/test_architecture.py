"""The house's import rules (docs/architecture.md), read from the source with ``ast``.

- ``forecasting`` knows nothing of Excel: it imports nothing of ``sop_excel``, ``udfs`` or an
  Excel library.
- ``sop_excel.core`` is planning arithmetic: no workbook layer, no command layer, no Excel library.
- ``sop_excel.workbook`` knows sheets and files only: no forecasting, no planning arithmetic,
  nothing of the layers that use it.
- ``udfs`` use only the public API: ``forecasting``'s top level and ``sop_excel.core``'s public
  functions.
- No private name (``_x``) is imported from another module.
- No import cycle among the project's modules (imports at module level; those under
  ``if TYPE_CHECKING:`` and inside functions are not run at import time and do not count).

Every import is counted for the layer rules, wherever it is written: a function-level import
is still a dependency.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("forecasting", "sop_excel", "udfs")
EXCEL_LIBRARIES = ("xlwings", "openpyxl", "xlsxwriter", "python_calamine", "pyopenvba")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (``from a.b import c``: ``a.b``, and ``a.b.c`` if that is a module)
    names: tuple[str, ...]  # names imported from it
    line: int
    top_level: bool  # run at import time (not in a function, not under TYPE_CHECKING)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").is_file()


def _is_module(module: str) -> bool:
    return (ROOT / (module.replace(".", "/") + ".py")).is_file() or _is_package(module)


def _resolve(module: str, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if not _is_package(module):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, False)
            elif isinstance(child, ast.Import):
                out.extend(Import(module, a.name, (), child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(module, child.level, child.module)
                names = tuple(a.name for a in child.names)
                out.append(Import(module, target, names, child.lineno, top))
                out.extend(
                    Import(module, f"{target}.{n}", (), child.lineno, top)
                    for n in names
                    if _is_module(f"{target}.{n}")
                )
            else:
                visit(child, top)

    visit(tree, True)
    return out


ALL = [
    imp for pkg in PACKAGES for path in sorted((ROOT / pkg).rglob("*.py")) for imp in _imports(path)
]


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _where(imp: Import) -> str:
    return f"{imp.module} (line {imp.line}) imports {imp.target}" + (
        f" {list(imp.names)}" if imp.names else ""
    )


def test_the_rules_see_the_project():
    modules = {i.module for i in ALL}
    assert {
        "forecasting.engine",
        "sop_excel.macros",
        "sop_excel.core.scenarios",
        "udfs.planning",
    } <= modules
    assert any(i.target == "forecasting" for i in ALL if i.module.startswith("udfs"))


def test_forecasting_knows_nothing_of_excel():
    bad = [
        _where(i)
        for i in ALL
        if _under(i.module, "forecasting")
        and _under(i.target, "sop_excel", "udfs", *EXCEL_LIBRARIES)
    ]
    assert bad == []


def test_core_is_planning_arithmetic():
    layers = (
        "sop_excel.workbook",
        "sop_excel.macros",
        "sop_excel.cli",
        "sop_excel.xl",
        "sop_excel.demo",
        "sop_excel.planbook",
        "sop_excel.pipeline",
        "sop_excel.check",
        "sop_excel.report",
        "sop_excel.sources",
        "udfs",
    )
    bad = [
        _where(i)
        for i in ALL
        if _under(i.module, "sop_excel.core") and _under(i.target, *layers, *EXCEL_LIBRARIES)
    ]
    assert bad == []


def test_udfs_use_only_the_public_api():
    bad = [
        _where(i)
        for i in ALL
        if _under(i.module, "udfs")
        and (
            (
                _under(i.target, "forecasting")
                and (i.target != "forecasting" or any(n.startswith("_") for n in i.names))
            )
            or (
                _under(i.target, "sop_excel")
                and (
                    not _under(i.target, "sop_excel.core")
                    or any(n.startswith("_") for n in i.names)
                )
            )
        )
    ]
    assert bad == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def _module_graph(imports: list[Import]) -> dict[str, set[str]]:
    modules = {i.module for i in imports}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for i in imports:
        if not i.top_level or i.target == i.module or i.module.startswith(i.target + "."):
            continue  # a package's module importing its own package runs after the package
        if i.target in modules:
            edges[i.module].add(i.target)
    return edges


def test_no_import_cycles():
    assert _cycles(_module_graph(ALL)) == []


def test_the_cycle_finder_finds_a_cycle():
    a = [
        Import("p.a", "p.b", (), 1, True),
        Import("p.b", "p.c", (), 1, True),
        Import("p.c", "p.a", (), 1, True),
        Import("p.c", "p.d", (), 1, True),
        Import("p.d", "p.a", (), 1, False),
    ]
    assert _cycles(_module_graph(a)) == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize(
    ("module", "level", "target", "expected"),
    [
        ("sop_excel.workbook.tables", 1, "io", "sop_excel.workbook.io"),
        ("sop_excel.workbook", 1, "io", "sop_excel.workbook.io"),
        ("forecasting.models.ets", 2, "backtest", "forecasting.backtest"),
    ],
)
def test_relative_imports_resolve(module, level, target, expected):
    assert _resolve(module, level, target) == expected


def test_no_private_name_is_imported_from_another_module():
    bad = [
        _where(i)
        for i in ALL
        if i.target.split(".")[0] in PACKAGES
        and i.target != i.module
        and any(n.startswith("_") and not n.startswith("__") for n in i.names)
    ]
    assert bad == []


def test_the_workbook_layer_knows_only_sheets_and_files():
    above = (
        "forecasting",
        "sop_excel.core",
        "sop_excel.demo",
        "sop_excel.planbook",
        "sop_excel.pipeline",
        "sop_excel.macros",
        "sop_excel.cli",
        "sop_excel.xl",
        "sop_excel.report",
        "sop_excel.check",
        "sop_excel.sample",
        "udfs",
    )
    bad = [
        _where(i)
        for i in ALL
        if _under(i.module, "sop_excel.workbook") and _under(i.target, *above)
    ]
    assert bad == []
