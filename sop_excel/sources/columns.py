"""Which column of a user's file is which: recognised header names, a mapping file, CLI options.

Each kind of file (items, history, budget, capacity, open orders, production) has *roles* (item, family,
price, ...). A role's column is found, in this order, by

1. the mapping: ``--column history.qty=Menge`` or, in the TOML file given to ``--mapping``,
   ``[history]`` / ``qty = "Menge"``;
2. its own name (``qty``) or a common header for it (``Quantity``, ``Menge``, ``Units`` ...),
   compared without case, accents, spaces and punctuation.

Two columns that could both be a role (``Qty`` and ``Quantity``), or a header written twice,
are refused with both named: say which in the mapping. The summary lists which column was
taken for what.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources.conventions import Conventions, parse_date_option, parse_decimal_option
from sop_excel.sources.tabular import position_letter

__all__ = ["KINDS", "ROLES", "ReadMapping", "load_mapping", "normal_header", "resolve"]

_ITEM = (
    "item",
    "item code",
    "item no",
    "item nr",
    "item number",
    "item id",
    "sku",
    "sku code",
    "material",
    "material number",
    "material no",
    "material nr",
    "matnr",
    "article",
    "article number",
    "article no",
    "artikel",
    "artikelnummer",
    "artikel nr",
    "artikelnr",
    "product",
    "product code",
    "product id",
    "product number",
    "part",
    "part number",
    "part no",
    "code",
)
_FAMILY = (
    "family",
    "product family",
    "item family",
    "group",
    "product group",
    "item group",
    "material group",
    "category",
    "product category",
    "productline",
    "product line",
    "warengruppe",
    "produktgruppe",
    "materialgruppe",
    "artikelgruppe",
    "sparte",
    "familie",
)
_DATE = (
    "month",
    "period",
    "date",
    "posting date",
    "order date",
    "invoice date",
    "ship date",
    "delivery date",
    "document date",
    "billing date",
    "sales date",
    "year month",
    "yearmonth",
    "fiscal period",
    "monat",
    "periode",
    "datum",
    "buchungsdatum",
    "belegdatum",
    "auftragsdatum",
    "lieferdatum",
)
_RESOURCE = (
    "resource",
    "work center",
    "workcenter",
    "work centre",
    "line",
    "production line",
    "machine",
    "arbeitsplatz",
    "ressource",
)
_QTY = (
    "qty",
    "quantity",
    "units",
    "volume",
    "demand",
    "sales qty",
    "sales quantity",
    "sold",
    "sold qty",
    "sales",
    "shipments",
    "shipped qty",
    "order qty",
    "ordered qty",
    "orders",
    "menge",
    "absatz",
    "absatzmenge",
    "verkaufsmenge",
    "auftragsmenge",
    "stuck",
    "stueck",
    "pcs",
    "pieces",
    "qty sold",
    "net qty",
)

ROLES: dict[str, dict[str, tuple[bool, tuple[str, ...]]]] = {
    # kind -> role -> (required, header names it is recognised by)
    "items": {
        "item": (True, _ITEM),
        "description": (
            False,
            (
                "description",
                "item description",
                "desc",
                "name",
                "item name",
                "product name",
                "material description",
                "bezeichnung",
                "beschreibung",
                "artikelbezeichnung",
                "materialkurztext",
                "kurztext",
                "text",
            ),
        ),
        "family": (True, _FAMILY),
        "site": (
            False,
            ("site", "plant", "werk", "location", "warehouse", "dc", "branch", "standort"),
        ),
        "resource": (False, _RESOURCE),
        "price": (
            True,
            (
                "price",
                "unit price",
                "list price",
                "sales price",
                "selling price",
                "net price",
                "preis",
                "verkaufspreis",
                "listenpreis",
                "vk preis",
                "nettopreis",
            ),
        ),
        "unit_cost": (
            True,
            (
                "unit cost",
                "cost",
                "standard cost",
                "std cost",
                "cogs",
                "unit cogs",
                "cost price",
                "kosten",
                "standardpreis",
                "herstellkosten",
                "stuckkosten",
                "stueckkosten",
                "einstandspreis",
            ),
        ),
        "hours_per_unit": (
            False,
            (
                "hours per unit",
                "hours unit",
                "hours",
                "run time",
                "runtime",
                "std hours",
                "production hours",
                "stunden",
                "fertigungszeit",
            ),
        ),
        "lead_time_days": (
            False,
            (
                "lead time days",
                "lead time",
                "leadtime",
                "lead time d",
                "lt",
                "wbz",
                "wiederbeschaffungszeit",
                "lieferzeit",
            ),
        ),
        "status": (
            False,
            (
                "status",
                "item status",
                "lifecycle",
                "lifecycle status",
                "material status",
                "artikelstatus",
            ),
        ),
        "opening_stock": (
            False,
            (
                "opening stock",
                "stock",
                "on hand",
                "stock on hand",
                "soh",
                "inventory",
                "current stock",
                "bestand",
                "lagerbestand",
                "available stock",
            ),
        ),
        "like_item": (
            False,
            (
                "like item",
                "like",
                "reference item",
                "predecessor",
                "vorganger",
                "vorgaenger",
                "referenzartikel",
            ),
        ),
        "method": (False, ("method", "forecast method")),
    },
    "history": {
        "item": (True, _ITEM),
        "date": (True, _DATE),
        "qty": (True, _QTY),
        "flag": (False, ("flag", "stockout")),
    },
    "budget": {
        "family": (True, _FAMILY),
        "item": (False, _ITEM),
        "date": (True, _DATE),
        "volume": (
            False,
            ("volume", "qty", "quantity", "units", "menge", "budget volume", "budget qty"),
        ),
        "revenue": (
            True,
            (
                "revenue",
                "sales value",
                "amount",
                "value",
                "turnover",
                "umsatz",
                "erlos",
                "erloes",
                "net sales",
                "budget revenue",
                "budget",
                "sales revenue",
            ),
        ),
        "measure": (False, ("measure", "kpi", "key figure", "type", "kennzahl", "measure name")),
    },
    "capacity": {
        "resource": (True, _RESOURCE),
        "date": (True, _DATE),
        "hours": (
            True,
            (
                "hours",
                "capacity",
                "capacity hours",
                "available hours",
                "hours available",
                "stunden",
                "kapazitat",
                "kapazitaet",
            ),
        ),
    },
    "open_orders": {
        "date": (
            True,
            (
                "date",
                "order date",
                "posting date",
                "document date",
                "created",
                "created on",
                "auftragsdatum",
                "belegdatum",
                "datum",
            ),
        ),
        "item": (True, _ITEM),
        "orders": (
            True,
            (
                "orders",
                "qty",
                "quantity",
                "order qty",
                "ordered qty",
                "ordered",
                "menge",
                "auftragsmenge",
                "units",
            ),
        ),
        "shipments": (
            False,
            (
                "shipments",
                "shipped",
                "shipped qty",
                "delivered",
                "delivered qty",
                "geliefert",
                "liefermenge",
            ),
        ),
    },
    "production": {  # at least one of produced and receipts (read_production says so)
        "date": (
            True,
            (
                "date",
                "production date",
                "posting date",
                "receipt date",
                "due date",
                "day",
                "datum",
                "buchungsdatum",
                "fertigungsdatum",
            ),
        ),
        "item": (True, _ITEM),
        "resource": (False, _RESOURCE),
        "produced": (
            False,
            (
                "produced",
                "production",
                "output",
                "qty produced",
                "produced qty",
                "good qty",
                "made",
                "yield",
                "gefertigt",
                "produziert",
                "ausbringung",
                "fertigmeldung",
            ),
        ),
        "receipts": (
            False,
            (
                "receipts",
                "received",
                "receipt qty",
                "goods receipt",
                "goods receipts",
                "gr qty",
                "supplier receipts",
                "wareneingang",
                "eingang",
            ),
        ),
    },
}
KINDS = tuple(ROLES)
_FILE_KEYS = ("sheet", "encoding", "delimiter", "decimal", "date_format")
_PUNCT = re.compile(r"[\s_\-./()\[\]:#]+")


def normal_header(text: object) -> str:
    """A header as compared: lower case, no accents, punctuation and spaces folded."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return _PUNCT.sub(" ", t.lower()).strip()


SYNONYMS = {
    kind: {role: {normal_header(s) for s in (role, *names)} for role, (_, names) in roles.items()}
    for kind, roles in ROLES.items()
}


@dataclass
class ReadMapping:
    """What the user said about their files: column names, sheets, encodings, conventions.

    ``columns[kind][role]`` is a header; ``files[kind]`` holds ``sheet``, ``encoding``,
    ``delimiter``, ``decimal``, ``date_format``; ``settings`` are Settings values for a new
    workbook (``Currency = "USD"``).
    """

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    decimal: str | None = None
    date_format: str | None = None
    settings: dict[str, object] = field(default_factory=dict)
    source: str = ""

    def conventions(
        self,
        kind: str,
        *,
        decimal_hint: str = "--decimal point or --decimal comma (or "
        'decimal = "comma" in the mapping file)',
        date_hint: str = '--date-format DMY or MDY (or date_format = "DMY" in the mapping file)',
    ) -> Conventions:
        f = self.files.get(kind, {})
        return Conventions(
            decimal=f.get("decimal") or self.decimal,
            date_order=f.get("date_format") or self.date_format,
            decimal_hint=decimal_hint,
            date_hint=date_hint,
        )

    def with_options(
        self,
        *,
        columns: list[str] | None = None,
        sheets: list[str] | None = None,
        decimal: str | None = None,
        date_format: str | None = None,
    ) -> ReadMapping:
        """This mapping with command-line options on top (they win)."""
        out = ReadMapping(
            {k: dict(v) for k, v in self.columns.items()},
            {k: dict(v) for k, v in self.files.items()},
            decimal or self.decimal,
            date_format or self.date_format,
            dict(self.settings),
            self.source,
        )
        for spec in columns or []:
            kind, role, header = _column_option(spec)
            out.columns.setdefault(kind, {})[role] = header
        for spec in sheets or []:
            kind, eq, name = spec.partition("=")
            kind = kind.strip().replace("-", "_")
            if not eq or kind not in KINDS or not name.strip():
                raise SopExcelError(
                    f"--sheet {spec!r}: write KIND=SHEET, e.g. items=Materials "
                    f"(kinds: {', '.join(KINDS)})."
                )
            out.files.setdefault(kind, {})["sheet"] = name.strip()
        return out


def _column_option(spec: str) -> tuple[str, str, str]:
    left, eq, header = spec.partition("=")
    kind, dot, role = left.strip().partition(".")
    kind = kind.strip().replace("-", "_")
    role = role.strip()
    if not eq or not dot or not header.strip():
        raise SopExcelError(f"--column {spec!r}: write KIND.ROLE=HEADER, e.g. history.qty=Menge.")
    if kind not in KINDS:
        raise SopExcelError(
            f"--column {spec!r}: {kind!r} is not a kind of file; use one of {', '.join(KINDS)}."
        )
    if role not in ROLES[kind]:
        raise SopExcelError(
            f"--column {spec!r}: {kind} files have no column role {role!r}; their roles are "
            f"{', '.join(ROLES[kind])}."
        )
    return kind, role, header.strip()


def load_mapping(path: str | Path | None) -> ReadMapping:
    """The mapping file (TOML) as a :class:`ReadMapping`; an empty one without a path.

    Raises:
        SopExcelError: no file, not TOML, or keys sop-excel does not know (each named).
    """
    if path is None:
        return ReadMapping()
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SopExcelError(f"No mapping file at {p}. Check the --mapping path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SopExcelError(
            f"Cannot read the mapping file {p.name}: {exc}. It must be UTF-8 TOML."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SopExcelError(f"{p.name} is not valid TOML ({exc}). Fix the mapping file.") from None
    out = ReadMapping(source=p.name)
    problems = []
    for key, value in doc.items():
        if key in ("decimal", "date_format"):
            try:
                setattr(out, key, _convention(key, value))
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        elif key == "settings" and isinstance(value, dict):
            out.settings = dict(value)
        elif key.replace("-", "_") in KINDS and isinstance(value, dict):
            kind = key.replace("-", "_")
            for role, header in value.items():
                if role in _FILE_KEYS:
                    try:
                        out.files.setdefault(kind, {})[role] = (
                            _convention(role, header)
                            if role in ("decimal", "date_format")
                            else str(header)
                        )
                    except ValueError as exc:
                        problems.append(f"[{key}] {role}: {exc}")
                elif role not in ROLES[kind]:
                    problems.append(
                        f"[{key}] {role!r} is not a column of {kind} files; use "
                        f"{', '.join(ROLES[kind])} (or {', '.join(_FILE_KEYS)})"
                    )
                elif not isinstance(header, str) or not header.strip():
                    problems.append(
                        f'[{key}] {role} must be the header text of a column, e.g. {role} = "My header"'
                    )
                else:
                    out.columns.setdefault(kind, {})[role] = header.strip()
        else:
            problems.append(
                f"{key!r} is not a section sop-excel knows; use decimal, date_format, [settings] "
                f"or one of [{'], ['.join(KINDS)}]"
            )
    if problems:
        raise SopExcelError(
            f"The mapping file {p.name} has entries sop-excel cannot use: "
            + "; ".join(problems)
            + "."
        )
    return out


def _convention(key: str, value: object) -> str:
    return parse_decimal_option(str(value)) if key == "decimal" else parse_date_option(str(value))


@dataclass
class Resolved:
    """Role -> column index, the roles recognised (for the summary), the columns not used."""

    index: dict[str, int]
    taken: list[str]
    unused: list[str]


def resolve(
    kind: str,
    header: list[str],
    where: str,
    mapping: ReadMapping,
    *,
    required: tuple[str, ...] | None = None,
    skip: set[int] | None = None,
) -> Resolved:
    """Find each role's column in ``header``.

    Args:
        kind: items, history, budget, capacity, open_orders or production.
        header: the file's header cells.
        where: the header's place for messages ("File a.csv, row 1 (header)").
        mapping: the user's mapping (and command-line options).
        required: the roles that must be found (default: the kind's required roles).
        skip: column positions that are not candidates (e.g. month columns of a wide file).

    Raises:
        InputError: a required role not found, a mapped header not there, a header written twice,
            or two columns that could both be one role.
    """
    skip = skip or set()
    mapped = mapping.columns.get(kind, {})
    norm = [normal_header(h) if i not in skip else "" for i, h in enumerate(header)]
    need = (
        required if required is not None else tuple(r for r, (req, _) in ROLES[kind].items() if req)
    )
    shown = ", ".join(repr(h) for h in header if str(h).strip()) or "no columns"
    hint = f'in the mapping file ([{kind}] ROLE = "header") or with --column {kind}.ROLE=HEADER'
    index: dict[str, int] = {}
    taken: list[str] = []
    problems: list[str] = []
    used: set[int] = set()
    for role, header_text in mapped.items():
        hits = [i for i, n in enumerate(norm) if n and n == normal_header(header_text)]
        if not hits:
            problems.append(
                f"the mapping says {role} = {header_text!r}, but there is no such column"
            )
        elif len(hits) > 1:
            problems.append(
                f"columns {' and '.join(position_letter(i) for i in hits)} are both named "
                f"{header[hits[0]]!r}; rename or delete one"
            )
        else:
            index[role] = hits[0]
            used.add(hits[0])
            taken.append(f"{role} = '{header[hits[0]]}' (mapped)")
    for role in ROLES[kind]:
        if role in index:
            continue
        names = SYNONYMS[kind][role]
        hits = [i for i, n in enumerate(norm) if n in names and i not in used]
        if not hits:
            continue
        same = {norm[i] for i in hits}
        if len(hits) > 1 and len(same) == 1:
            problems.append(
                f"columns {' and '.join(position_letter(i) for i in hits)} are both named "
                f"{header[hits[0]]!r}; rename or delete one, so it is clear which is the {role}"
            )
            continue
        if len(hits) > 1:
            exact = [i for i in hits if norm[i] == normal_header(role)]
            if len(exact) == 1:
                hits = exact
            else:
                problems.append(
                    f"{' and '.join(repr(header[i]) for i in hits)} could each be the {role}; say "
                    f"which {hint}"
                )
                continue
        index[role] = hits[0]
        used.add(hits[0])
        taken.append(f"{role} = '{header[hits[0]]}'")
    for role in need:
        if role not in index and not any(role in p for p in problems):
            examples = ", ".join(sorted(ROLES[kind][role][1], key=len)[:5])
            problems.append(f"no column for {role} (recognised: {examples}, ...); name it {hint}")
    if problems:
        raise InputError(f"{where}: " + "; ".join(problems) + f". Found {shown}.")
    unused = [
        header[i]
        for i, h in enumerate(header)
        if i not in used and i not in skip and str(h).strip()
    ]
    return Resolved(index, taken, unused)


__all__ += ["Mapping", "Resolved"]
_ = Mapping
