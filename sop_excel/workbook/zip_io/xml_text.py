"""XML text in the package: attributes, entities, escaping, column letters, part names."""

from __future__ import annotations

import posixpath
import re
from xml.sax.saxutils import escape as _xml_escape

from openpyxl.utils import get_column_letter


class ZipUnsupported(Exception):  # noqa: N818 - an internal signal, not a user-facing error
    """Something this side does not handle: the openpyxl side takes over."""


# -- small XML helpers ---------------------------------------------------------------------
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
# Characters XML 1.0 forbids (openpyxl refuses them; Excel cannot store them).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_attrs(raw: bytes) -> dict[str, str]:
    return {k.decode(): unescape(v.decode()) for k, v in _ATTR.findall(raw)}


def _unescape_one(m: re.Match[str]) -> str:
    e = m.group(1)
    if e[0] == "#":
        n = int(e[2:], 16) if e[1] in "xX" else int(e[1:])
        if 0xD800 <= n <= 0xDFFF or n > 0x10FFFF or (n < 0x20 and n not in (9, 10, 13)):
            raise ValueError(f"a character reference &{e}; to a character XML does not allow")
        return chr(n)
    return _ENTITIES[e]


def unescape(text: str) -> str:
    return _ENTITY.sub(_unescape_one, text) if "&" in text else text


def escape_text(text: str) -> str:
    # quotes: the text may go into an attribute (a table column named after a scenario);
    # CR as a reference, or XML parsers turn it into LF (issue 7)
    if _PLAIN.fullmatch(text):  # most cells (item codes, names): nothing to escape or drop
        return text
    return _xml_escape(_ILLEGAL.sub("", text), {'"': "&quot;", "\r": "&#13;"})


_PLAIN = re.compile(r"[ !#-%'-;=?-~]*")  # printable ASCII without " & < >


COLUMN_NUMBERS = {
    get_column_letter(i): i for i in range(1, 16_385)
}  # every column Excel has (A..XFD)
COLUMN_LETTERS = {i: c for c, i in COLUMN_NUMBERS.items()}


def resolve_target(base: str, target: str) -> str:
    """A relationship target, relative to the part ``base``, as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def rels_part_of(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")
