"""Look at an untrusted .xlsx/.xlsm before openpyxl or calamine parses it.

A workbook is a zip of XML parts. Before any parser sees one, :func:`check_xlsx` proves, in
bounded time and memory, that it is what it claims to be:

- it starts with the zip signature (not an old .xls, a CSV renamed .xlsx, an HTML page);
- its central directory is complete (not truncated by a failed copy or download);
- it has at most :data:`MAX_MEMBERS` parts, no part inflates beyond :data:`MAX_MEMBER_BYTES`,
  all parts together not beyond :data:`MAX_TOTAL_BYTES`, and no large part compresses more
  than :data:`MAX_RATIO` to one (a zip bomb); the limits hold for the bytes actually inflated,
  in chunks, not only for the sizes the zip declares;
- ``[Content_Types].xml`` exists, parses, and declares a spreadsheet main part
  (a Word or PowerPoint file renamed .xlsx is refused with a message saying so);
- every XML part is written in UTF-8 (or ASCII), as Excel, LibreOffice and openpyxl write them:
  a part in UTF-16, UTF-32 or another declared encoding is refused with its name, after a look
  for a document type declaration in that encoding;
- no XML part carries a document type declaration (``<!DOCTYPE``/``<!ENTITY``): Excel never
  writes one, and they are how "billion laughs" and external-entity attacks begin. The small
  parts read here are parsed with defusedxml, which refuses them too;
- what the parts declare, all together, stays within the limits before any is inflated, and the
  check itself stops after :data:`MAX_CHECK_SECONDS`.

Every refusal is a :class:`~sop_excel.errors.WorkbookCorruptError` that names the file, says
what is wrong and what to do.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from sop_excel.errors import WorkbookCorruptError

__all__ = ["MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "check_xlsx"]

MAX_MEMBERS = 10_000
# A 10,000-item planning workbook has a 757 MB sheet and 1.7 GB of XML in all; Excel's row limit
# caps this layout near 19,000 items (about 1.5 GB for that sheet).
MAX_MEMBER_BYTES = 2 * 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024
# Parts up to this size are always inflated in full (cheap); larger ones only in a deep check.
FULL_SCAN_BYTES = 64 * 1024 * 1024
PROLOG_MAX_BYTES = 4 * 1024 * 1024
MAX_RATIO = 200  # for parts that inflate beyond RATIO_FLOOR; the demo's largest ratio is 26
RATIO_FLOOR = 10 * 1024 * 1024
MAX_CHECK_SECONDS = 120.0  # the guard's own time limit (a 10,000-item workbook takes a few seconds)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a file, or an empty archive
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an encrypted/password-protected .xlsx
_SHEET_MAIN_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
)
_OTHER_OFFICE = {"wordprocessingml": "a Word document", "presentationml": "a PowerPoint file"}
_CHUNK = 1 << 20
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


def _corrupt(path: Path, what: str, todo: str) -> WorkbookCorruptError:
    return WorkbookCorruptError(f"{path.name} {what}. {todo}.")


_RESAVE = "Open it in Excel and save it as .xlsx (File > Save As), or restore it from a backup"


def check_xlsx(
    path: str | os.PathLike[str],
    *,
    deep: bool = True,
    seen: dict[str, bool] | None = None,
    look_for: bytes = b't="e"',
    formulas: dict[str, bool] | None = None,
) -> None:
    """Refuse ``path`` unless it is a well-formed, reasonably sized xlsx/xlsm zip.

    ``deep=True`` inflates every part, so the size limits hold for the bytes actually inflated
    whatever the zip declares (for readers that may trust nothing else: calamine).
    ``deep=False`` is for readers built on Python's ``zipfile`` (ZipIO, openpyxl), which never
    return more than a part's declared size: parts up to :data:`FULL_SCAN_BYTES` are still
    inflated in full, larger ones are checked by their declared size and compression ratio and
    scanned up to their root element for a DTD (a DTD can only come before it). At 10,000 items
    this is the difference between inflating 1.7 GB before every refresh and a fraction of it.

    ``seen``: filled with, for each XML part inflated in full, whether it holds ``look_for``
    (by default an error cell, ``t="e"``: ZipIO then need not inflate the sheet again to know).
    ``formulas``: the same for whether it holds a formula (``<f>``).

    Raises:
        WorkbookCorruptError: what is wrong, in words, and what to do.
        FileNotFoundError / PermissionError: left to the caller, which knows what the file is for.
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise _corrupt(path, "is empty (0 bytes)", "Restore it from a backup or build it again")
    if head.startswith(_OLE_MAGIC):
        raise _corrupt(
            path,
            "is an old-format .xls file or a password-protected workbook, not an .xlsx",
            "Remove the password or save it from Excel as .xlsx",
        )
    if not head.startswith(_ZIP_MAGIC):
        raise _corrupt(
            path,
            f"is not an Excel workbook: it does not start like an .xlsx file "
            f"(first bytes {head[:4]!r})",
            _RESAVE,
        )
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _corrupt(
            path,
            "is damaged or truncated (the zip directory at its end is missing or unreadable)",
            "Copy or download it again, or restore it from a backup",
        ) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _corrupt(path, f"has {len(infos):,} parts (more than {MAX_MEMBERS:,})", _RESAVE)
        _check_declared_total(path, infos)
        _check_content_types(path, zf)
        total = 0
        deadline = time.monotonic() + MAX_CHECK_SECONDS
        for info in infos:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _corrupt(
                    path,
                    f"has an encrypted part ({info.filename})",
                    "Remove the password in Excel and save it again",
                )
            if deep or info.file_size <= FULL_SCAN_BYTES:
                total += _inflate_bounded(
                    path, zf, info, MAX_TOTAL_BYTES - total, seen, look_for, formulas, deadline
                )
            else:
                total += _check_large(path, zf, info, MAX_TOTAL_BYTES - total)
            if time.monotonic() > deadline:
                raise _too_slow(path, info)


def _check_declared_total(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Before inflating anything: what the parts declare, all together, within the limits (many
    parts each just under the per-part limits add up to a zip bomb too)."""
    for info in infos:  # one part beyond the limits: named
        _check_declared(path, info, MAX_TOTAL_BYTES)
    size = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if size > MAX_TOTAL_BYTES:
        raise _corrupt(
            path,
            f"inflates beyond safe limits ({len(infos):,} parts declare {size:,} bytes in all, "
            f"more than {MAX_TOTAL_BYTES:,}); it may be a zip bomb",
            "sop-excel will not open it. Use a workbook built by sop-excel, or save a clean copy "
            "from Excel",
        )
    if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
        raise _corrupt(
            path,
            f"inflates beyond safe limits ({len(infos):,} parts would inflate from {packed:,} "
            f"to {size:,} bytes, {size // max(packed, 1):,} to 1); it may be a zip bomb",
            "sop-excel will not open it. Use a workbook built by sop-excel, or save a clean copy "
            "from Excel",
        )


def _too_slow(path: Path, info: zipfile.ZipInfo) -> WorkbookCorruptError:
    return _corrupt(
        path,
        f"took more than {MAX_CHECK_SECONDS:.0f} s to check (stopped at {info.filename}); it "
        "is far larger than a planning workbook or crafted",
        "sop-excel will not open it. " + _RESAVE,
    )


def _check_declared(path: Path, info: zipfile.ZipInfo, budget: int) -> int:
    limit = min(MAX_MEMBER_BYTES, budget)
    if info.file_size > limit:
        raise _too_big(path, info, f"declares {info.file_size:,} bytes")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise _too_big(
            path, info, f"compression ratio {info.file_size // max(info.compress_size, 1):,} to 1"
        )
    return limit


_ROOT = re.compile(rb"<[A-Za-z_:]")


def _check_large(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int:
    """A large part: declared size and ratio, then no DTD before its root element."""
    _check_declared(path, info, budget)
    if not _is_xml(info):
        return info.file_size
    seen = b""
    with _member(path, zf, info) as member:
        while len(seen) < PROLOG_MAX_BYTES and (chunk := member.read(_CHUNK)):
            if not seen:
                _check_encoding(path, info, chunk)
            seen += chunk
            root = _ROOT.search(seen)
            if root is not None:
                seen = seen[: root.start()]
                break
        else:
            if len(seen) >= PROLOG_MAX_BYTES:
                raise _corrupt(
                    path,
                    f"has no XML element in the first {PROLOG_MAX_BYTES:,} bytes of "
                    f"{info.filename} (a crafted or damaged file)",
                    _RESAVE,
                )
    if any(m in seen for m in _DTD_MARKERS):
        raise _dtd_found(path, info)
    return info.file_size


# How an XML part may announce an encoding other than UTF-8 in its first bytes (XML 1.0, appendix F)
_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "UTF-32", "utf-32-le"),
    (b"\xfe\xff", "UTF-16", "utf-16-be"),
    (b"\xff\xfe", "UTF-16", "utf-16-le"),
    (b"\x00\x00\x00<", "UTF-32", "utf-32-be"),
    (b"<\x00\x00\x00", "UTF-32", "utf-32-le"),
    (b"\x00<\x00?", "UTF-16", "utf-16-be"),
    (b"<\x00?\x00", "UTF-16", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "EBCDIC", "cp500"),
)
_DECLARED = re.compile(
    rb'^(?:\xef\xbb\xbf)?\s*<\?xml\b[^>]*?\bencoding\s*=\s*["\']([A-Za-z0-9._-]+)["\']'
)
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}


def _check_encoding(path: Path, info: zipfile.ZipInfo, first: bytes) -> None:
    """Refuse an XML part not written in UTF-8 (or ASCII), after looking for a document type
    declaration in whatever it is written in: a DTD in UTF-16 hides from a search for bytes, and
    parsers that read UTF-8 alone (calamine, this package's own) would read such a part as empty.
    Excel, LibreOffice and openpyxl write UTF-8."""
    name = codec = None
    for mark, label, how in _BOMS:
        if first.startswith(mark):
            name, codec = label, how
            break
    if name is None:
        m = _DECLARED.match(first[:1024])
        if m is None or m.group(1).decode("ascii").lower() in _UTF8_NAMES:
            return
        name = m.group(1).decode("ascii")
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            codec = None
    if codec is not None:
        text = codecs.getincrementaldecoder(codec)(errors="replace").decode(first)
        if any(m.decode() in text for m in _DTD_MARKERS):
            raise _corrupt(
                path,
                f"contains an XML document type declaration in {info.filename} (written in {name}; "
                "a crafted or damaged file: Excel never writes one)",
                "sop-excel will not parse it. " + _RESAVE,
            )
    raise _corrupt(
        path,
        f"has a part written in {name}, not UTF-8 ({info.filename}); sop-excel reads workbooks "
        "as Excel, LibreOffice and openpyxl write them",
        _RESAVE,
    )


def _is_xml(info: zipfile.ZipInfo) -> bool:
    return info.filename.lower().endswith((".xml", ".rels", ".vml"))


def _dtd_found(path: Path, info: zipfile.ZipInfo) -> WorkbookCorruptError:
    return _corrupt(
        path,
        f"contains an XML document type declaration in {info.filename} (a crafted "
        "or damaged file: Excel never writes one)",
        "sop-excel will not parse it. " + _RESAVE,
    )


def _too_big(path: Path, info: zipfile.ZipInfo, what: str) -> WorkbookCorruptError:
    return _corrupt(
        path,
        f"inflates beyond safe limits ({info.filename}: {what}); it may be a zip bomb",
        "sop-excel will not open it. Use a workbook built by sop-excel, or "
        "save a clean copy from Excel",
    )


@contextlib.contextmanager
def _member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[IO[bytes]]:
    """One part opened for reading; a damaged or unreadable part becomes a clear error."""
    try:
        with zf.open(info) as member:
            yield member
    except zipfile.BadZipFile as exc:
        raise _corrupt(
            path,
            f"is damaged ({info.filename}: {exc})",
            "Copy or download it again, or restore it from a backup",
        ) from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise _corrupt(
            path,
            f"is damaged or uses an unsupported compression ({info.filename}: "
            f"{type(exc).__name__}: {exc})",
            _RESAVE,
        ) from None


def _inflate_bounded(
    path: Path,
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: int,
    seen: dict[str, bool] | None = None,
    look_for: bytes = b"",
    formulas: dict[str, bool] | None = None,
    deadline: float | None = None,
) -> int:
    """Inflate one part in chunks, never holding more than one chunk; return its real size."""
    limit = _check_declared(path, info, budget)
    is_xml = _is_xml(info)
    size = 0
    tail = b""
    found = has_f = False
    with _member(path, zf, info) as member:
        while chunk := member.read(_CHUNK):
            if is_xml and not size:
                _check_encoding(path, info, chunk)
            size += len(chunk)
            if size > limit:
                raise _too_big(path, info, f"more than {limit:,} bytes")
            if deadline is not None and time.monotonic() > deadline:
                raise _too_slow(path, info)
            if is_xml:
                window = tail + chunk
                if any(m in window for m in _DTD_MARKERS):
                    raise _dtd_found(path, info)
                found = found or (look_for in window if look_for else False)
                has_f = has_f or (
                    formulas is not None and any(f in window for f in (b"<f>", b"<f ", b"<f/>"))
                )
                tail = chunk[-16:]
    if seen is not None and is_xml:
        seen[info.filename] = found
    if formulas is not None and is_xml:
        formulas[info.filename] = has_f
    return size


def _check_content_types(path: Path, zf: zipfile.ZipFile) -> None:
    names = set(zf.namelist())
    if "[Content_Types].xml" not in names:
        raise _corrupt(
            path, "is a zip file but not an Excel workbook (it has no [Content_Types].xml)", _RESAVE
        )
    info = zf.getinfo("[Content_Types].xml")
    if info.file_size > 4 * 1024 * 1024:
        raise _corrupt(
            path, f"has an oversized [Content_Types].xml ({info.file_size:,} bytes)", _RESAVE
        )
    try:
        raw = zf.read(info)
        root = SafeET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _corrupt(
            path,
            f"contains XML that sop-excel refuses to parse in "
            f"[Content_Types].xml ({type(exc).__name__})",
            _RESAVE,
        ) from None
    except (SafeET.ParseError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _corrupt(path, f"has a damaged [Content_Types].xml ({exc})", _RESAVE) from None
    types = [el.get("ContentType", "") for el in root.iter() if el.tag.endswith("Override")]
    if any(t in _SHEET_MAIN_TYPES for t in types):
        return
    for key, what in _OTHER_OFFICE.items():
        if any(key in t and t.endswith(".main+xml") for t in types):
            raise _corrupt(
                path,
                f"is {what} (its content types say so), not an Excel workbook",
                "Give the path of the .xlsx workbook",
            )
    raise _corrupt(
        path, "declares no workbook part in [Content_Types].xml (wrong content types)", _RESAVE
    )
