"""The macro-enabled planning workbook (.xlsm), built from text in the repository.

Nothing here is a hand-edited binary. The inputs are:

- the planning workbook itself, built by :func:`sop_excel.demo.build_demo` (XlsxWriter) or the
  planner's own, given by the caller (:func:`sop_excel.template.build_template`);
- ``workbook_templates/ribbon/customUI14.xml``: the S&OP ribbon tab;
- ``workbook_templates/ribbon/SopRibbon.bas``: our VBA callbacks;
- xlwings' own BSD VBA module ``xlwings.bas`` and its ``Dictionary.cls`` (needed on the Mac),
  read from the *installed* xlwings package, so the VBA always matches the xlwings the
  planner's Python has (the module names ``xlwings64-<version>.dll``);
- two small sheets written here: ``xlwings.conf`` (``UDF Modules: udfs``) and the
  ``New scenario`` input form the New scenario button reads.

The steps: turn the .xlsx package into an .xlsm package at the zip level (main content type,
the customUI part and its relationship, the two sheets), then give it a VBA project with
pyOpenVBA, which creates the project as Excel does for a first macro (document modules for
the workbook and each sheet, code names written into the sheets) and adds our modules from
source. The result is checked with oletools' ``olevba`` in the tests.

openpyxl keeps ``vbaProject.bin`` and the customUI part on save but drops the ribbon's
relationship from ``_rels/.rels``: call :func:`restore_ribbon` after every openpyxl save of
an .xlsm.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from sop_excel.errors import SopExcelError
from sop_excel.workbook.safe_save import atomic_write

__all__ = [
    "CONF_SHEET",
    "FORM_CELLS",
    "NEW_SCENARIO_SHEET",
    "PROTECTION_MACRO",
    "RIBBON_CALLBACK",
    "UDF_MODULES",
    "VBA_MODULE",
    "RibbonButton",
    "restore_ribbon",
    "ribbon_buttons",
    "ribbon_xml",
    "vba_sources",
    "write_xlsm",
    "xlwings_version",
]

CONF_SHEET = "xlwings.conf"
UDF_MODULES = "udfs"
NEW_SCENARIO_SHEET = "New scenario"
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_PART = "customUI/customUI14.xml"
VBA_MODULE = "SopRibbon"
"""Our VBA module (``workbook_templates/ribbon/SopRibbon.bas``)."""
RIBBON_CALLBACK = "SopButton"
"""The one VBA callback of every planning button: it dispatches on the button's tag. Named unlike
any module (a macro named like its module is a known cause of "Cannot run the macro")."""
PROTECTION_MACRO = "SopProtection"
"""The VBA function the live side calls (``Book.macro``) to unprotect and protect a sheet."""
_RIBBON_REL_ID = "rIdSopRibbon"
_MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_MAIN_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_WORKSHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"

# The New scenario form: (row, label, key, kind, help). Values go in column B.
FORM_FIRST_ROW = 4
_FORM = (
    ("Name", "name", "text", "Required. The new scenario's name (not one that exists)."),
    (
        "Parent",
        "parent",
        "text",
        "The scenario it starts from; its drivers apply first (default Base).",
    ),
    ("Description", "description", "text", "Optional: what the scenario is about."),
    ("Volume %", "volume", "pct", "Optional volume change, e.g. 5% or -10%."),
    ("Price %", "price", "pct", "Optional price change."),
    ("Unit cost %", "unit_cost", "pct", "Optional unit cost change."),
    ("Family", "family", "text", "Optional: limit the changes to one family."),
    ("Item", "item", "text", "Optional: limit the changes to one item."),
    ("From month", "from_month", "month", "Optional: first month the changes apply to."),
    ("To month", "to_month", "month", "Optional: last month the changes apply to."),
)
FORM_CELLS: dict[str, str] = {
    key: f"B{FORM_FIRST_ROW + i}" for i, (_, key, _, _) in enumerate(_FORM)
}
"""Form field -> its input cell on the New scenario sheet."""
FORM_RANGE = f"A{FORM_FIRST_ROW}:B{FORM_FIRST_ROW + len(_FORM) - 1}"
FORM_DEFAULTS = {"parent": "Base"}


@dataclass(frozen=True)
class RibbonButton:
    id: str
    label: str
    tag: str
    on_action: str


def _template_text(name: str) -> str:
    return (resources.files("workbook_templates") / "ribbon" / name).read_text(encoding="utf-8")


def ribbon_xml() -> str:
    """The customUI14.xml text the template carries."""
    return _template_text("customUI14.xml")


def ribbon_buttons(xml: str | None = None) -> list[RibbonButton]:
    """The buttons of the S&OP tab, as the customUI declares them."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring((xml or ribbon_xml()).encode("utf-8"))
    return [
        RibbonButton(b.get("id", ""), b.get("label", ""), b.get("tag", ""), b.get("onAction", ""))
        for b in root.iter(f"{{{_CUSTOMUI_NS}}}button")
    ]


def _xlwings_file(*parts: str) -> str:
    # Found, not imported: only xlwings_io, xl and udfs import xlwings.
    spec = importlib.util.find_spec("xlwings")
    if spec is None or spec.origin is None:
        raise SopExcelError("xlwings is not installed: pip install xlwings")
    return Path(spec.origin).parent.joinpath(*parts).read_text(encoding="utf-8", errors="replace")


def xlwings_version(bas: str) -> str:
    """The ``'Version:`` line of an xlwings VBA module."""
    m = re.search(r"^'Version:\s*(\S+)", bas, re.M)
    return m.group(1) if m else ""


def vba_sources() -> list[tuple[str, str, str]]:
    """(module name, kind 'standard'|'class', source) of every VBA module the template gets."""
    return [
        ("xlwings", "standard", _xlwings_file("xlwings.bas")),
        ("Dictionary", "class", _xlwings_file("addin", "Dictionary.cls")),
        (VBA_MODULE, "standard", _template_text(f"{VBA_MODULE}.bas")),
    ]


# --- the zip-level conversion -----------------------------------------------------------------


def _col(c: int) -> str:
    return chr(ord("A") + c)


def _cell(ref: str, v: object, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if v is None or v == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(v, int | float):
        return f'<c r="{ref}"{s}><v>{v}</v></c>'
    return (
        f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'
    )


def _sheet_xml(
    rows: list[tuple[int, list[tuple[object, int]]]],
    widths: list[float],
    tab_color: str | None = None,
) -> str:
    pr = f'<sheetPr><tabColor rgb="FF{tab_color}"/></sheetPr>' if tab_color else ""
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths)
    )
    data = "".join(
        f'<row r="{r}">'
        + "".join(_cell(f"{_col(j)}{r}", v, s) for j, (v, s) in enumerate(cells))
        + "</row>"
        for r, cells in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'{pr}<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>{data}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )


def _conf_sheet() -> str:
    return _sheet_xml([(1, [("UDF Modules", 0), (UDF_MODULES, 0)])], [18, 30])


def _form_sheet(styles: dict[str, int]) -> str:
    rows: list[tuple[int, list[tuple[object, int]]]] = [
        (1, [("New scenario", styles["title"])]),
        (
            2,
            [
                (
                    "Fill in column B, then click S&OP > New scenario. The scenario is added to the "
                    "Scenarios sheet with one driver per change given, and every scenario is recomputed. "
                    "The form is cleared afterwards (Parent is kept).",
                    0,
                )
            ],
        ),
        (
            FORM_FIRST_ROW - 1,
            [("Field", styles["bold"]), ("Value", styles["bold"]), ("Help", styles["bold"])],
        ),
    ]
    for i, (label, key, kind, help_) in enumerate(_FORM):
        rows.append(
            (
                FORM_FIRST_ROW + i,
                [(label, 0), (FORM_DEFAULTS.get(key), styles.get(kind, 0)), (help_, 0)],
            )
        )
    return _sheet_xml(rows, [16, 24, 70], "BF8F00")


def _add_styles(xml: str) -> tuple[str, dict[str, int]]:
    """Append cell formats for the form (bold, title, percent, month); return their indices."""
    m = re.search(r'<cellXfs count="(\d+)">(.*?)</cellXfs>', xml, re.S)
    fonts = re.search(r'<fonts count="(\d+)"([^>]*)>(.*?)</fonts>', xml, re.S)
    if not m or not fonts:
        raise SopExcelError(
            "The workbook's styles part has no cellXfs or fonts; cannot add the form styles."
        )
    n_fonts = int(fonts.group(1))
    new_fonts = '<font><b/><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="14"/><name val="Calibri"/></font>'
    xml = xml.replace(
        fonts.group(0),
        f'<fonts count="{n_fonts + 2}"{fonts.group(2)}>{fonts.group(3)}{new_fonts}</fonts>',
    )
    m = re.search(r'<cellXfs count="(\d+)">(.*?)</cellXfs>', xml, re.S)
    assert m is not None
    n = int(m.group(1))
    xfs = (
        f'<xf numFmtId="0" fontId="{n_fonts}" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        f'<xf numFmtId="0" fontId="{n_fonts + 1}" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="17" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    )
    xml = xml.replace(m.group(0), f'<cellXfs count="{n + 4}">{m.group(2)}{xfs}</cellXfs>')
    return xml, {"bold": n, "title": n + 1, "pct": n + 2, "month": n + 3}


def _add_ribbon_rel(rels: str) -> str:
    if RIBBON_REL_TYPE in rels:
        return rels
    rel = f'<Relationship Id="{_RIBBON_REL_ID}" Type="{RIBBON_REL_TYPE}" Target="{RIBBON_PART}"/>'
    return rels.replace("</Relationships>", rel + "</Relationships>")


def _to_xlsm(xlsx: bytes, ribbon: str) -> bytes:
    """An .xlsx package as an .xlsm package with the ribbon and the two extra sheets (no VBA yet)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {n: src.read(n) for n in src.namelist()}
    text = {
        n: parts[n].decode("utf-8")
        for n in (
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
        )
    }
    if _MAIN_XLSX not in text["[Content_Types].xml"]:
        raise SopExcelError("The source is not an .xlsx workbook (no spreadsheet main part).")
    names = re.findall(r'<sheet name="([^"]+)"', text["xl/workbook.xml"])
    for clash in (CONF_SHEET, NEW_SCENARIO_SHEET):
        if escape(clash) in names:
            raise SopExcelError(f"The source workbook already has a sheet '{clash}'.")
    styles, ids = _add_styles(text["xl/styles.xml"])
    text["xl/styles.xml"] = styles
    n_sheets = len([p for p in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", p)])
    sheet_ids = [
        int(x) for x in re.findall(r'<sheet [^>]*sheetId="(\d+)"', text["xl/workbook.xml"])
    ]
    ct = text["[Content_Types].xml"].replace(_MAIN_XLSX, _MAIN_XLSM)
    wb = text["xl/workbook.xml"]
    wb_rels = text["xl/_rels/workbook.xml.rels"]
    new_sheets = [
        (NEW_SCENARIO_SHEET, _form_sheet(ids), "Scenarios"),
        (CONF_SHEET, _conf_sheet(), None),
    ]
    for k, (name, xml, after) in enumerate(new_sheets, start=1):
        part = f"xl/worksheets/sheet{n_sheets + k}.xml"
        rid = f"rIdSop{k}"
        parts[part] = xml.encode("utf-8")
        ct = ct.replace(
            "</Types>", f'<Override PartName="/{part}" ContentType="{_WORKSHEET_CT}"/></Types>'
        )
        wb_rels = wb_rels.replace(
            "</Relationships>",
            f'<Relationship Id="{rid}" Type="{_WORKSHEET_REL}" '
            f'Target="worksheets/sheet{n_sheets + k}.xml"/></Relationships>',
        )
        entry = f'<sheet name="{escape(name)}" sheetId="{max(sheet_ids) + k}" r:id="{rid}"/>'
        anchor = (
            re.search(rf'<sheet name="{re.escape(escape(after))}"[^>]*/>', wb) if after else None
        )
        wb = (
            (wb[: anchor.end()] + entry + wb[anchor.end() :])
            if anchor
            else wb.replace("</sheets>", entry + "</sheets>")
        )
    text.update(
        {
            "[Content_Types].xml": ct,
            "xl/workbook.xml": wb,
            "xl/_rels/workbook.xml.rels": wb_rels,
            "_rels/.rels": _add_ribbon_rel(text["_rels/.rels"]),
        }
    )
    parts.update({n: t.encode("utf-8") for n, t in text.items()})
    parts[RIBBON_PART] = ribbon.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


def _add_vba(path: Path) -> None:
    try:
        from pyopenvba import ExcelFile
        from pyopenvba.vba import VBAModuleKind
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise SopExcelError("Building the .xlsm needs pyOpenVBA: pip install pyopenvba") from exc
    with ExcelFile(path) as wb:
        project = wb.add_vba_project()
        for name, kind, source in vba_sources():
            crlf = source.replace("\r\n", "\n").replace("\n", "\r\n")
            project.add_module(
                name, crlf, kind=VBAModuleKind.other if kind == "class" else VBAModuleKind.standard
            )
        wb.save()
    with ExcelFile(path) as wb:
        problems = wb.validate()
    if problems:
        raise SopExcelError("The VBA project did not validate: " + "; ".join(problems))


def write_xlsm(
    source: str | Path, out: str | Path, *, step: Callable[[str], None] | None = None
) -> Path:
    """The planning workbook ``source`` (.xlsx, checked by the caller) made macro-enabled at
    ``out`` (an ``.xlsm``, replaced atomically): the ribbon, the xlwings.conf and New scenario
    sheets, and the VBA project. :func:`sop_excel.template.build_template` builds the template
    this way, from the demo workbook or a planner's own. Returns the path written."""
    say = step or (lambda _m: None)
    target = Path(out)
    with tempfile.TemporaryDirectory(prefix="sop-xlsm-") as tmp:
        say("Adding the S&OP ribbon, the xlwings.conf and New scenario sheets")
        staged = Path(tmp) / "staged.xlsm"
        staged.write_bytes(_to_xlsm(Path(source).read_bytes(), ribbon_xml()))
        say(
            "Adding the VBA: xlwings "
            + xlwings_version(vba_sources()[0][2])
            + " and the ribbon callbacks"
        )
        _add_vba(staged)

        def copy(p: Path) -> None:
            shutil.copyfile(staged, p)

        return atomic_write(target, copy)


def restore_ribbon(path: str | Path) -> bool:
    """Re-add the ribbon's relationship to an .xlsm that has the customUI part but lost it.

    openpyxl (``keep_vba=True``) drops it on every save. Returns True when the file was changed.
    """
    p = Path(path)
    with zipfile.ZipFile(p) as z:
        if RIBBON_PART not in z.namelist():
            return False
        rels = z.read("_rels/.rels").decode("utf-8")
        if RIBBON_REL_TYPE in rels:
            return False
        items = [(i, z.read(i.filename)) for i in z.infolist()]

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in items:
                z.writestr(
                    info,
                    _add_ribbon_rel(rels).encode("utf-8")
                    if info.filename == "_rels/.rels"
                    else data,
                )

    atomic_write(p, write)
    return True
