"""An OOXML schema validator for the tests: openxml-audit, a pure-Python port of the validator of
Microsoft's Open XML SDK (the reference Office itself is built against; the .NET SDK does not run
on CI here). Files are validated as Excel 2010 files, the oldest Excel sop-excel supports.

openxml-audit computes each element's path for its messages by scanning the element's earlier
siblings, which is quadratic in a sheet's rows (27 of 98 seconds on the demo); the path is only
used in messages, so the tests use the element's index among all its siblings (a C-level
lookup) instead. One validator is made per test session: loading the schemas takes seconds.
"""

from __future__ import annotations

import functools
from pathlib import Path


def _position(element) -> int:  # noqa: ANN001 - an lxml element
    parent = element.getparent()
    return 1 if parent is None else parent.index(element) + 1


@functools.cache
def _validator():  # noqa: ANN202
    import openxml_audit.context as context
    from openxml_audit import FileFormat, OpenXmlValidator

    context._sibling_position = _position
    return OpenXmlValidator(file_format=FileFormat.OFFICE_2010, max_errors=200)


def ooxml_errors(path: str | Path) -> list[str]:
    """The validator's errors for ``path`` (its warnings, e.g. inline strings, are not errors)."""
    result = _validator().validate(str(path))
    return [
        str(e) for e in result.errors if str(getattr(e, "severity", "")).lower().endswith("error")
    ]
