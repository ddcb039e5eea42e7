"""An OOXML schema validator for the tests: openxml-audit, a pure-Python port of the validator of
Microsoft's Open XML SDK (the reference Office itself is built against; the .NET SDK does not run
on CI here). Files are validated as Excel 2010 files, the oldest Excel sop-excel supports.

openxml-audit computes each element's path for its messages by scanning the element's earlier
siblings, which is quadratic in a sheet's rows (27 of 98 seconds on the demo); the path is only
used in messages, so the tests use the element's index among all its siblings (a C-level
lookup) instead, and make it only when a message asks for it (a third of the time left). One validator is made per test session: loading the schemas takes seconds.
"""

from __future__ import annotations

import functools
from pathlib import Path


def _position(element) -> int:  # noqa: ANN001 - an lxml element
    parent = element.getparent()
    return 1 if parent is None else parent.index(element) + 1


class _Visit:
    """An element on the validator's stack whose path (``/worksheet[1]/sheetData[1]/row[7]``) is
    made when a message asks for it, not for each of the sheet's elements on the way."""

    __slots__ = ("_name", "_parent", "_path", "depth", "element")

    def __init__(self, element, name: str, parent: _Visit | None, depth: int) -> None:  # noqa: ANN001
        self.element, self._name, self._parent, self.depth = element, name, parent, depth
        self._path: str | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            head = self._parent.path if self._parent is not None else ""
            self._path = f"{head}/{self._name}[{_position(self.element)}]"
        return self._path


def _push(self, element, name: str) -> None:  # noqa: ANN001 - ValidationStack.push, lazily
    stack = self._stack
    stack.append(_Visit(element, name, stack[-1] if stack else None, len(stack)))


@functools.cache
def _validator():  # noqa: ANN202
    import openxml_audit.context as context
    from openxml_audit import FileFormat, OpenXmlValidator

    context._sibling_position = _position
    context.ValidationStack.push = _push
    return OpenXmlValidator(file_format=FileFormat.OFFICE_2010, max_errors=200)


def ooxml_errors(path: str | Path) -> list[str]:
    """The validator's errors for ``path`` (its warnings, e.g. inline strings, are not errors)."""
    result = _validator().validate(str(path))
    return [
        str(e) for e in result.errors if str(getattr(e, "severity", "")).lower().endswith("error")
    ]
