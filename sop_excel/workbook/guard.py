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
import struct
import time
import types
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from sop_excel.errors import WorkbookCorruptError

_zlib: types.ModuleType = zlib
try:  # zlib-ng: the same inflate, about twice as fast (see inflated)
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a dependency; zlib does the same, slower
    pass

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "check_part",
    "check_xlsx",
    "inflated",
]

MAX_MEMBERS = 10_000
# A 10,000-item planning workbook has a 757 MB sheet and 1.7 GB of XML in all; Excel's row limit
# caps this layout near 19,000 items (about 1.5 GB for that sheet).
MAX_MEMBER_BYTES = 2 * 1024 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024
# Parts up to this size are always inflated in full (cheap); larger ones only in a deep check.
FULL_SCAN_BYTES = 64 * 1024 * 1024
# Worksheets above this size may be checked in full when read rather than at open (``defer``).
DEFER_MIN_BYTES = 1024 * 1024
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
    defer: set[str] | None = None,
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
    ``defer`` (with ``deep=False``): a worksheet part between :data:`DEFER_MIN_BYTES` and
    :data:`FULL_SCAN_BYTES` is checked here as a large part is, and its name added to ``defer``:
    the caller inflates it in full with :func:`check_part` (the same checks, on the bytes it
    then parses) before any parser sees it, so a part the command reads is inflated once, and
    a part it copies as it is (compressed, parsed by nothing) not at all (ZipIO).

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
            if defer is not None and not deep and _deferrable(info):
                total += _check_large(path, zf, info, MAX_TOTAL_BYTES - total)
                defer.add(info.filename)
            elif deep or info.file_size <= FULL_SCAN_BYTES:
                total += _inflate_bounded(
                    path, zf, info, MAX_TOTAL_BYTES - total, seen, look_for, formulas, deadline
                )
            else:
                total += _check_large(path, zf, info, MAX_TOTAL_BYTES - total)
            if time.monotonic() > deadline:
                raise _too_slow(path, info)


def _deferrable(info: zipfile.ZipInfo) -> bool:
    name = info.filename
    return (
        DEFER_MIN_BYTES < info.file_size <= FULL_SCAN_BYTES
        and name.startswith("xl/worksheets/")
        and name.endswith(".xml")
        and "/_rels/" not in name
    )


def check_part(
    path: str | os.PathLike[str],
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    seen: dict[str, bool] | None = None,
    formulas: dict[str, bool] | None = None,
    look_for: bytes = b't="e"',
) -> bytes:
    """A part :func:`check_xlsx` deferred (``defer``), inflated with every check it makes of a
    part it inflates in full (size, encoding, no DTD anywhere; ``seen`` and ``formulas`` filled
    in): its bytes, for the caller to parse.

    Raises:
        WorkbookCorruptError: as :func:`check_xlsx` would have.
    """
    kept: list[bytes] = []
    _inflate_bounded(Path(path), zf, info, MAX_MEMBER_BYTES, seen, look_for, formulas, keep=kept)
    return b"".join(kept)


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
    with _mapped(path, info), zf.open(info) as member:
        yield member


@contextlib.contextmanager
def _mapped(path: Path, info: zipfile.ZipInfo) -> Iterator[None]:
    """A damaged or unreadable part (read within) becomes a clear error."""
    try:
        yield
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


def inflated(zf: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = _CHUNK) -> Iterator[bytes]:
    """A part's bytes inflated in pieces of at most ``chunk`` bytes, as ``zf.open(info)`` gives
    them: never more than its declared size (a part that holds more is damaged), its CRC-32
    checked at the end (:class:`zipfile.BadZipFile` if not). A deflated part is inflated by
    zlib-ng from its compressed bytes (twice as fast as zipfile's zlib); any other by zipfile."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or zf.fp is None:
        with zf.open(info) as member:
            while piece := member.read(chunk):
                yield piece
        return
    fp = zf.fp
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
    n, m = struct.unpack("<HH", head[26:30])
    name = fp.read(n).decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
    if name != info.orig_filename:  # as zipfile refuses it: the directory points elsewhere
        raise zipfile.BadZipFile(
            f"File name in directory {info.orig_filename!r} and header {name!r} differ."
        )
    pos, left = info.header_offset + 30 + n + m, info.compress_size
    d = _zlib.decompressobj(-15)
    crc = size = 0
    buf = b""
    while not d.eof:
        if not buf and left > 0:
            fp.seek(pos)
            buf = fp.read(min(left, chunk))
            if not buf:
                raise EOFError(f"{info.filename}: the file ends inside it")
            pos, left = pos + len(buf), left - len(buf)
        try:
            piece = d.decompress(buf, chunk)
        except _zlib.error as exc:  # zlib-ng's own error class: zlib's, as zipfile raises it
            raise zlib.error(str(exc)) from None
        buf = d.unconsumed_tail
        if not piece and not buf and left <= 0:
            break  # no more input, nothing more out
        if piece:
            size += len(piece)
            if size > info.file_size:  # zipfile stops at the declared size; its CRC fails
                raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
            crc = _zlib.crc32(piece, crc)
            yield piece
    if size != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


def _inflate_bounded(
    path: Path,
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    budget: int,
    seen: dict[str, bool] | None = None,
    look_for: bytes = b"",
    formulas: dict[str, bool] | None = None,
    deadline: float | None = None,
    keep: list[bytes] | None = None,
) -> int:
    """Inflate one part in chunks, never holding more than one chunk (unless ``keep``: the
    chunks are added to it); return its real size."""
    limit = _check_declared(path, info, budget)
    is_xml = _is_xml(info)
    size = 0
    tail = b""
    found = has_f = False
    with _mapped(path, info):
        for chunk in inflated(zf, info):
            if is_xml and not size:
                _check_encoding(path, info, chunk)
            size += len(chunk)
            if size > limit:
                raise _too_big(path, info, f"more than {limit:,} bytes")
            if deadline is not None and time.monotonic() > deadline:
                raise _too_slow(path, info)
            if is_xml:  # one pass over the chunk per question; the whole window only when it may be
                edge = tail + chunk[:16]  # what straddles the previous chunk
                # a rare byte first (memchr, several times as fast as a search for "<!" or "<f"
                # in XML, where "<" is everywhere), then what it may start
                if (b"!" in chunk or b"!" in edge) and any(m in tail + chunk for m in _DTD_MARKERS):
                    raise _dtd_found(path, info)
                if look_for and not found:
                    found = look_for in chunk or look_for in edge
                if (
                    formulas is not None
                    and not has_f
                    and (b"f" in chunk or b"f" in edge)
                    and (b"<f" in chunk or b"<f" in edge)
                ):
                    window = tail + chunk
                    has_f = any(f in window for f in (b"<f>", b"<f ", b"<f/>"))
                tail = chunk[-16:]
            if keep is not None:
                keep.append(chunk)
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
