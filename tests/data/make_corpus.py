"""Write the bad-input corpus under tests/data/corpus/ (run: python -m tests.data.make_corpus).

Every file is named for the problem it shows; ``tests/data/corpus/manifest.toml`` says which
command it is given to and a phrase the error message must contain. The files are committed;
this script makes them reproducible (fixed timestamps, no randomness).

Three kinds of case:

- ``workbook``: the file *is* the workbook (not a zip, truncated, zip bomb, billion laughs,
  wrong content types, ...), refused before any parser runs. Independent of the template.
- ``input``: a bad actuals file (CSV, xlsx, SQLite) or scenarios TOML, given to a command on a
  copy of the demo workbook.
- ``edit``: a TOML recipe of cell edits applied to a copy of the demo workbook by the test
  (a text in a number cell, a renamed header, a missing sheet). Stored as recipes, not as
  workbooks, so that they follow the template as it grows.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
_EPOCH = (2026, 1, 1, 0, 0, 0)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="actuals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_HEADER = ["date", "item", "orders", "shipments"]


def _strings(strings: list[str]) -> str:
    from xml.sax.saxutils import escape

    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    )


def _sheet(rows: list[list[object]], strings: list[str]) -> str:
    out = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(v, int | float):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                if v not in strings:
                    strings.append(str(v))
                cells.append(f'<c r="{ref}" t="s"><v>{strings.index(str(v))}</v></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{"".join(out)}</sheetData></worksheet>'
    )


def _zip(parts: dict[str, bytes | str], *, order: list[str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in order or list(parts):
            data = parts[name]
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    return buf.getvalue()


def _parts(
    rows: list[list[object]] | None = None,
    *,
    main: str = SHEET_MAIN,
    strings_xml: str | None = None,
    workbook_xml: str | None = None,
) -> dict[str, str]:
    rows = rows if rows is not None else [_HEADER, ["2026-11-19", "PMP-1001", 1, 1]]
    strings: list[str] = []
    sheet = _sheet(rows, strings)
    return {
        "[Content_Types].xml": _CONTENT_TYPES.format(main=main),
        "_rels/.rels": _RELS,
        "xl/workbook.xml": workbook_xml or _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WB_RELS,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": strings_xml or _strings(strings),
    }


def minimal_xlsx(rows: list[list[object]] | None = None, *, extra_parts: int = 0) -> bytes:
    """A small valid xlsx (one sheet 'actuals'), written by hand so every byte is known."""
    parts: dict[str, bytes | str] = dict(_parts(rows))
    for k in range(extra_parts):
        parts[f"docProps/extra{k}.xml"] = "<x/>"
    return _zip(parts)


_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)


def billion_laughs_xlsx(part: str = "xl/sharedStrings.xml") -> bytes:
    """A workbook whose ``part`` expands to 10^9 'lol's if a parser resolves entities."""
    parts = _parts()
    if part == "xl/sharedStrings.xml":
        parts[part] = (
            _LAUGHS + '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
        )
    else:
        parts[part] = _LAUGHS + parts[part].split("?>", 1)[1].replace(
            'name="actuals"', 'name="&lol9;"'
        )
    return _zip(parts)


def external_entity_xlsx() -> bytes:
    parts = _parts()
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>&xxe;</t></si></sst>'
    )
    return _zip(parts)


def zip_bomb_xlsx(inflated_mb: int = 1100, declared_size: int | None = None) -> bytes:
    """A workbook whose sheet part is ``inflated_mb`` MB of spaces, about 1 MB on disk.

    The deflate stream is one compressed megabyte of spaces, byte-aligned by a full flush and
    repeated, so it is built in well under a second without inflating anything.
    ``declared_size`` writes a smaller size into the zip headers than the real one (a liar).
    """
    mb = 1024 * 1024
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>'
    )
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    block_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_comp.compress(b" " * mb) + block_comp.flush(zlib.Z_FULL_FLUSH)
    tail_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = b"</sheetData></worksheet>"
    last = tail_comp.compress(tail) + tail_comp.flush(zlib.Z_FINISH)
    data = first + block * inflated_mb + last
    crc = zlib.crc32(head)
    spaces = b" " * mb
    for _ in range(inflated_mb):
        crc = zlib.crc32(spaces, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + inflated_mb * mb + len(tail)
    parts = _parts()
    del parts["xl/worksheets/sheet1.xml"]
    buf = io.BytesIO(_zip(parts))
    return _append_raw_member(
        buf.getvalue(),
        "xl/worksheets/sheet1.xml",
        data,
        crc,
        declared_size if declared_size is not None else size,
    )


def _append_raw_member(archive: bytes, name: str, deflated: bytes, crc: int, size: int) -> bytes:
    """Add a member with pre-compressed data to a zip (local header, data, new central dir)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        infos = z.infolist()
    eocd = archive.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack("<I", archive[eocd + 16 : eocd + 20])[0]
    body, central = archive[:cd_offset], archive[cd_offset:eocd]
    fname = name.encode()
    dos_time, dos_date = 0, (2026 - 1980) << 9 | 1 << 5 | 1
    local = (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            8,
            dos_time,
            dos_date,
            crc,
            len(deflated),
            size & 0xFFFFFFFF,
            len(fname),
            0,
        )
        + fname
    )
    offset = len(body)
    entry = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            dos_time,
            dos_date,
            crc,
            len(deflated),
            size & 0xFFFFFFFF,
            len(fname),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + fname
    )
    new_body = body + local + deflated
    new_central = central + entry
    end = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        len(infos) + 1,
        len(infos) + 1,
        len(new_central),
        len(new_body),
        0,
    )
    return new_body + new_central + end


def many_parts_bomb(n: int = 830, size: int = 10_000_000) -> bytes:
    """A workbook with ``n`` extra parts of ``size`` zero bytes each (every part under the per-part
    limits, 8.3 GB in all by default), about 10 KB each on disk. Built without inflating anything:
    the one deflated part is copied ``n`` times."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(bytes(size)) + comp.flush()
    crc = zlib.crc32(bytes(size))
    archive = _zip(_parts())
    eocd = archive.rfind(b"PK\x05\x06")
    count = struct.unpack("<H", archive[eocd + 10 : eocd + 12])[0]
    cd_offset = struct.unpack("<I", archive[eocd + 16 : eocd + 20])[0]
    body, central = bytearray(archive[:cd_offset]), bytearray(archive[cd_offset:eocd])
    dos_date = (2026 - 1980) << 9 | 1 << 5 | 1
    for k in range(n):
        fname = f"docProps/zeros{k:04d}.bin".encode()
        offset = len(body)
        body += (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                8,
                0,
                dos_date,
                crc,
                len(deflated),
                size,
                len(fname),
                0,
            )
            + fname
            + deflated
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                dos_date,
                crc,
                len(deflated),
                size,
                len(fname),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + fname
        )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count + n, count + n, len(central), len(body), 0
    )
    return bytes(body + central + end)


def utf16_xlsx(part: str = "xl/worksheets/sheet1.xml", *, dtd: bool = False) -> bytes:
    """A small workbook whose ``part`` is written in UTF-16 (with a byte-order mark), optionally
    with the billion-laughs declaration in it."""
    parts: dict[str, bytes | str] = dict(_parts())
    text = parts[part]
    assert isinstance(text, str)
    body = text.split("?>", 1)[1]
    if dtd:
        body = _LAUGHS.split("?>", 1)[1] + body.replace("<t>", "<t>&lol9;", 1)
    parts[part] = ('<?xml version="1.0" encoding="UTF-16" standalone="yes"?>' + body).encode(
        "utf-16"
    )
    return _zip(parts)


def _sqlite(
    path: Path,
    rows: list[tuple[object, ...]] | None,
    table: str = "actuals",
    date_type: str = "TEXT",
) -> None:
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        if rows is not None:
            con.execute(f"CREATE TABLE {table} (date {date_type}, item TEXT, orders, shipments)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)
        else:
            con.execute("CREATE TABLE something_else (x INTEGER)")
        con.commit()
    finally:
        con.close()


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


_OK = "2026-11-19,PMP-1001,3,2"
PAYLOADS = [
    "=1+1",
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    '=HYPERLINK("http://evil","x")',
    "=cmd|' /C calc'!A0",
]


def _raw_cells_xlsx(cells: str) -> bytes:
    """An xlsx whose sheet 'actuals' has a header row and row 2 made of ``cells`` (raw XML)."""
    parts = _parts([_HEADER])
    head = parts["xl/worksheets/sheet1.xml"].split("</sheetData>")[0]
    parts["xl/worksheets/sheet1.xml"] = head + f'<row r="2">{cells}</row></sheetData></worksheet>'
    return _zip(parts)


def _row2(orders_cell: str) -> str:
    return (
        f'<c r="A2" t="inlineStr"><is><t>2026-11-19</t></is></c><c r="B2" t="inlineStr"><is><t>PMP-1001</t>'
        f'</is></c>{orders_cell}<c r="D2"><v>1</v></c>'
    )


def hidden_sheet_xlsx() -> bytes:
    """A visible sheet 'Report' (orders 7) and a hidden sheet 'actuals' (orders 99, stale)."""
    parts = _parts([_HEADER, ["2026-11-19", "PMP-1001", 7, 1]])
    strings: list[str] = []
    hidden = _sheet([_HEADER, ["2026-11-19", "PMP-1001", 99, 1]], strings)
    visible = _sheet([_HEADER, ["2026-11-19", "PMP-1001", 7, 1]], strings)
    parts["xl/worksheets/sheet1.xml"] = visible
    parts["xl/worksheets/sheet2.xml"] = hidden
    parts["xl/sharedStrings.xml"] = _strings(strings)
    parts["xl/workbook.xml"] = _WORKBOOK.replace(
        '<sheet name="actuals" sheetId="1" r:id="rId1"/>',
        '<sheet name="Report" sheetId="1" r:id="rId1"/><sheet name="actuals" sheetId="2" state="hidden" r:id="rId3"/>',
    )
    parts["xl/_rels/workbook.xml.rels"] = _WB_RELS.replace(
        "</Relationships>",
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>',
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        "</Types>",
        '<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>',
    )
    return _zip(parts)


def corpus_files() -> dict[str, bytes]:
    """Every committed corpus file except SQLite databases and edit recipes: name -> bytes."""
    many = ["date,item,orders,shipments"] + [
        f"2026-11-{d:02d},PMP-1001,many,1" for d in range(1, 31)
    ]
    docx_parts = _parts(main=WORD_MAIN)
    no_ct = _parts()
    del no_ct["[Content_Types].xml"]
    wrong_ct = _parts(main="application/xml")
    crc_damaged = bytearray(minimal_xlsx())
    with zipfile.ZipFile(io.BytesIO(bytes(crc_damaged))) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        crc_damaged[info.header_offset + 30 + len(info.filename) + 5] ^= 0xFF
    import csv

    payload_csv = io.StringIO()
    writer = csv.writer(payload_csv, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(_HEADER)
    for p in PAYLOADS:
        writer.writerow(["2026-11-19", p, 1, 1])
    return {
        # the file given as the workbook
        "workbooks/not_a_zip.xlsx": b"This is a text file, not a workbook.\n",
        "workbooks/empty_file.xlsx": b"",
        "workbooks/truncated_zip.xlsx": minimal_xlsx()[:-300],
        "workbooks/truncated_to_half.xlsx": minimal_xlsx()[: len(minimal_xlsx()) // 2],
        "workbooks/zip_bomb.xlsx": zip_bomb_xlsx(1100),
        "workbooks/zip_bomb_lying_sizes.xlsx": zip_bomb_xlsx(64, declared_size=4096),
        "workbooks/billion_laughs_shared_strings.xlsx": billion_laughs_xlsx(),
        "workbooks/billion_laughs_workbook_xml.xlsx": billion_laughs_xlsx("xl/workbook.xml"),
        "workbooks/external_entity.xlsx": external_entity_xlsx(),
        "workbooks/word_document_renamed.xlsx": _zip(dict(docx_parts)),
        "workbooks/no_content_types.xlsx": _zip(dict(no_ct)),
        "workbooks/wrong_content_types.xlsx": _zip(dict(wrong_ct)),
        "workbooks/old_xls_format.xlsx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024),
        "workbooks/csv_renamed.xlsx": _csv(["date,item,orders,shipments", _OK]),
        "workbooks/html_page_renamed.xlsx": b"<!DOCTYPE html><html><body>Sign in</body></html>\n",
        "workbooks/damaged_part_crc.xlsx": bytes(crc_damaged),
        "workbooks/valid_xlsx_without_planning_tables.xlsx": minimal_xlsx(),
        # actuals given to refresh-actuals on the demo workbook
        "actuals/text_in_orders.csv": _csv(
            ["date,item,orders,shipments", _OK, "2026-11-19,VLV-2001,lots,1"]
        ),
        "actuals/bad_dates.csv": _csv(
            ["date,item,orders,shipments", "19/13/2026,PMP-1001,1,1", "yesterday,PMP-1001,1,1"]
        ),
        "actuals/negative_quantities.csv": _csv(
            ["date,item,orders,shipments", "2026-11-19,PMP-1001,-5,1"]
        ),
        "actuals/unknown_item.csv": _csv(["date,item,orders,shipments", "2026-11-19,PMP-NOPE,1,1"]),
        "actuals/duplicate_keys.csv": _csv(
            ["date,item,orders,shipments", _OK, _OK.replace(",3,", ",4,")]
        ),
        "actuals/missing_columns.csv": _csv(["date,item,qty", "2026-11-19,PMP-1001,1"]),
        "actuals/renamed_header.csv": _csv(["day,item,orders,shipped", "2026-11-19,PMP-1001,1,1"]),
        "actuals/empty_file.csv": b"",
        "actuals/header_only.csv": _csv(["date,item,orders,shipments"]),
        "actuals/not_utf8.csv": b"date,item,orders,shipments\n2026-11-19,PMP-\xff\xfe100,1,1\n",
        "actuals/thirty_bad_rows.csv": _csv(many),
        "actuals/formula_payloads_as_items.csv": payload_csv.getvalue().encode("utf-8"),
        "actuals/bare_carriage_return_in_field.csv": b"date,item,orders,shipments\n2026-11-19,\r=1,1,1\n",
        "actuals/infinite_quantity.csv": _csv(
            ["date,item,orders,shipments", "2026-11-19,PMP-1001,inf,1"]
        ),
        "actuals/not_a_workbook.xlsx": b"date,item,orders,shipments\n",
        "actuals/billion_laughs.xlsx": billion_laughs_xlsx(),
        "actuals/xlsx_text_in_orders.xlsx": minimal_xlsx(
            [_HEADER, ["2026-11-19", "PMP-1001", "lots", 1]]
        ),
        "actuals/xlsx_empty_sheet.xlsx": minimal_xlsx([]),
        "actuals/unsupported_suffix.json": b'{"date": "2026-11-19"}\n',
        # silent misreads (issue 18): each read right, or refused with its place
        "actuals/decimal_comma_in_quoted_field.csv": _csv(
            ["date,item,orders,shipments", '2026-11-19,PMP-1001,"6,5","2"']
        ),
        "actuals/thousands_or_decimal.csv": _csv(
            ["date,item,orders,shipments", '2026-11-19,PMP-1001,"1,254",2']
        ),
        "actuals/two_orders_columns.csv": _csv(
            ["date,item,orders,shipments,orders", "2026-11-19,PMP-1001,3,2,5"]
        ),
        "actuals/huge_quantity.csv": _csv(
            ["date,item,orders,shipments", "2026-11-19,PMP-1001,1e308,1"]
        ),
        "actuals/control_character_in_item.csv": _csv(
            ["date,item,orders,shipments", "2026-11-19,PMP-1001\x1f,3,2"]
        ),
        "actuals/xlsx_division_by_zero.xlsx": _raw_cells_xlsx(
            _row2('<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
        ),
        "actuals/xlsx_formula_without_value.xlsx": _raw_cells_xlsx(
            _row2('<c r="C2"><f>A1+1</f></c>')
        ),
        "actuals/xlsx_hidden_actuals_sheet.xlsx": hidden_sheet_xlsx(),
        # scenarios given to import-scenarios
        "scenarios/not_toml.toml": b"[[scenario]\nname = Base\n",
        "scenarios/unknown_parent.toml": b'[[scenario]]\nname = "Base"\n\n[[scenario]]\nname = "Promo"\nparent = "Nope"\n',
        "scenarios/driver_value_not_a_number.toml": (
            b'[[scenario]]\nname = "Base"\n\n[[scenario]]\nname = "Promo"\nparent = "Base"\n'
            b'driver = [{ kind = "volume", value = "ten percent" }]\n'
        ),
        "scenarios/not_utf8.toml": b'[[scenario]]\nname = "B\xffase"\n',
        # issue 18: Excel's limits, values that make no sense, months and nesting
        "scenarios/name_40000_characters.toml": _scenarios(name="N" * 40_000),
        "scenarios/thousand_scenarios.toml": _csv(
            ["[[scenario]]", 'name = "Base"']
            + [f'[[scenario]]\nname = "S{k:04d}"\nparent = "Base"' for k in range(1, 1000)]
        ),
        "scenarios/driver_infinite.toml": _scenarios(driver='{ kind = "volume", value = inf }'),
        "scenarios/driver_ten_million.toml": _scenarios(driver='{ kind = "price", value = 1e7 }'),
        "scenarios/driver_months_reversed.toml": _scenarios(
            driver='{ kind = "volume", value = 0.1, from = "2027-06", to = "2027-01" }'
        ),
        "scenarios/driver_unknown_family.toml": _scenarios(
            driver='{ kind = "volume", value = 0.1, family = "Nope" }'
        ),
        "scenarios/month_with_time_zone.toml": _scenarios(
            driver='{ kind = "volume", value = 0.1, from = 2027-01-01T00:00:00+02:00 }'
        ),
        "scenarios/nested_too_deeply.toml": ("a = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        # issue 18: XML in UTF-16
        "workbooks/utf16_billion_laughs.xlsx": utf16_xlsx("xl/sharedStrings.xml", dtd=True),
        "actuals/xlsx_in_utf16.xlsx": utf16_xlsx(),
        "scenarios/control_character_in_name.toml": (
            b'[[scenario]]\nname = "Base"\n\n[[scenario]]\nname = "Pro\\u0007mo"\nparent = "Base"\n'
        ),
    }


def _scenarios(name: str = "Promo", driver: str | None = None) -> bytes:
    """A scenario file: Base, and one scenario ``name`` over it (with one ``driver``)."""
    text = f'[[scenario]]\nname = "Base"\n\n[[scenario]]\nname = "{name}"\nparent = "Base"\n'
    return (text + (f"driver = [{driver}]\n" if driver else "")).encode("utf-8")


SQLITE = {
    "actuals/sqlite_without_actuals_table.sqlite": None,
    "actuals/sqlite_text_in_orders.sqlite": [
        ("2026-11-19", "PMP-1001", "lots", 1),
        ("2026-11-19", "VLV-2001", 2, -1),
    ],
}
# dates stored as Excel serial numbers (46345 = 2026-11-19) in a REAL column
SQLITE_REAL_DATES = {
    "actuals/sqlite_serial_dates.sqlite": [
        (46345.0, "PMP-1001", 11, 4),
        (46344.0, "VLV-2001", 2, 2),
    ]
}

# cell edits applied to a copy of the demo workbook: sheet, cell (or the table column), value
EDITS = {
    "edits/settings_text_in_number.toml": (
        "# The planner typed words where Settings wants a number of months.\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\nsetting = "Horizon (months)"\nvalue = "eighteen"\n'
    ),
    "edits/driver_text_in_value.toml": (
        "# A scenario driver whose Value is text.\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "Value"\nrow = 1\nvalue = "ten percent"\n'
    ),
    "edits/renamed_table_header.toml": (
        '# A planner renamed the Drivers table\'s "Value" header.\n'
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "Value"\nrow = 0\nvalue = "Amount"\n'
    ),
    "edits/missing_sheet.toml": (
        "# The Scenarios sheet was deleted.\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ndelete_sheet = "Scenarios"\n'
    ),
    "edits/override_text.toml": (
        "# An override typed as words on the Forecast sheet.\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblForecast"\ncolumn = "Override"\nrow = 3\nvalue = "about 40"\n'
    ),
    # issue 18
    "edits/override_text_found_by_check.toml": (
        "# check runs the commands' input checks: words in an Override fail it.\n"
        'command = "check"\n'
        '[[edit]]\ntable = "tblForecast"\ncolumn = "Override"\nrow = 3\nvalue = "about 40"\n'
    ),
    "edits/override_formula_error.toml": (
        "# An override formula whose value is an error (Excel saved #DIV/0! as its value).\n"
        'command = "refresh-forecast"\n'
        '[[edit]]\ntable = "tblForecast"\ncolumn = "Override"\nrow = 3\nformula = "=1/0"\n'
        'cached = "#DIV/0!"\ntype = "e"\n'
    ),
    "edits/override_formula_without_value.toml": (
        "# An override formula saved without a value (by a program that does not calculate).\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblForecast"\ncolumn = "Override"\nrow = 4\nformula = "=A1+1"\n'
    ),
    "edits/formula_without_value_found_by_check.toml": (
        "# A consensus input formula saved without a value: check says so, by cell.\n"
        'command = "check"\n'
        '[[edit]]\ntable = "tblInputs"\ncolumn = "Qty"\nrow = 1\nformula = "=A1*2"\n'
    ),
    "edits/scenario_name_too_long.toml": (
        '# A scenario renamed with 10,000 characters (its "<name> revenue" column would pass 255).\n'
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblScenarioList"\ncolumn = "Scenario"\nrow = 4\nvalue = "'
        + "Z" * 10_000
        + '"\n'
    ),
    "edits/driver_months_reversed.toml": (
        "# A driver whose From is after its To (it would change nothing).\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "From"\nrow = 1\nvalue = "2027-09"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "To"\nrow = 1\nvalue = "2027-03"\n'
    ),
    "edits/driver_year_one.toml": (
        "# A driver starting in the year 1 (pandas and Excel cannot hold it).\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "From"\nrow = 1\nvalue = "0001-01"\n'
    ),
    "edits/shared_string_out_of_range.toml": (
        "# A cell pointing at shared string 99999 of a few hundred (a damaged file).\n"
        'command = "compare-scenarios"\n'
        '[[edit]]\ntable = "tblDrivers"\ncolumn = "Comment"\nrow = 1\nxml = "<v>99999</v>"\ntype = "s"\n'
    ),
}


def type_formula(
    book: Path,
    table: str,
    column: str,
    row: int,
    formula: str,
    cached: str | None = None,
    kind: str | None = None,
) -> str:
    """Put a formula into a table's cell the way Excel saves one a planner typed: ``<f>`` and,
    if ``cached``, its cached ``<v>`` (``kind`` its type: ``"e"`` an error, ``"str"`` text).
    ``row`` counts the table's body rows from 1. Returns the cell's address."""
    from xml.sax.saxutils import escape

    inner = f"<f>{escape(formula.lstrip('='))}</f>" + (
        f"<v>{escape(cached)}</v>" if cached is not None else ""
    )
    return put_cell(book, table, column, row, inner, kind)


def put_cell(
    book: Path, table: str, column: str, row: int, inner: str, kind: str | None = None
) -> str:
    """Replace a table's cell with ``<c r=.. s=.. t="kind">inner</c>`` in the sheet's XML (its
    style kept), as some program saved it. Returns the cell's address."""
    import re

    from sop_excel.workbook.zip_io import ZipIO

    io_ = ZipIO(book)
    tbl = io_._tables[table]
    c1, r1, _, _ = tbl.bounds
    ref = f"{_letters(c1 + tbl.columns.index(column))}{r1 + row}"
    part = tbl.sheet_part
    io_.close()
    with zipfile.ZipFile(book) as z:
        parts = [(i, z.read(i.filename)) for i in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            if info.filename == part:
                m = re.search(rb'<c r="%s"(?:\s[^>]*?)?(?:/>|>.*?</c>)' % ref.encode(), data, re.S)
                assert m is not None, f"no cell {ref} in {part}"
                s = re.search(rb'\ss="(\d+)"', m.group(0)[: m.group(0).find(b">")])
                cell = (
                    f'<c r="{ref}"'
                    + (f' s="{s.group(1).decode()}"' if s else "")
                    + (f' t="{kind}"' if kind else "")
                    + f">{inner}</c>"
                ).encode()
                data = data[: m.start()] + cell + data[m.end() :]
            z.writestr(info, data)
    book.write_bytes(out.getvalue())
    return ref


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def write_corpus(root: Path = CORPUS) -> list[Path]:
    written = []
    for name, data in corpus_files().items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written.append(p)
    for name, rows in SQLITE.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        _sqlite(p, rows)
        written.append(p)
    for name, rows in SQLITE_REAL_DATES.items():
        p = root / name
        _sqlite(p, rows, date_type="REAL")
        written.append(p)
    for name, text in EDITS.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        written.append(p)
    return written


if __name__ == "__main__":
    for p in write_corpus():
        print(f"{p.relative_to(HERE)}  {p.stat().st_size:,} bytes")
