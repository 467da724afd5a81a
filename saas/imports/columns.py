"""Map the columns of a transaction file to the fields that the importer reads."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

FIELDS = ("member", "date", "amount", "currency", "order", "channel", "category", "refund")
REQUIRED_FIELDS = ("member", "amount")

# Header names recognised for each field, best match first. Matching ignores case,
# spaces, hyphens and underscores, so "Customer ID" matches customer_id.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "member": (
        "member_id",
        "member",
        "member_ref",
        "member_reference",
        "customer_id",
        "customer",
        "customer_number",
        "client_id",
        "loyalty_id",
        "card_number",
    ),
    "date": (
        "date",
        "order_date",
        "purchase_date",
        "transaction_date",
        "datetime",
        "timestamp",
        "created_at",
        "time",
    ),
    "amount": (
        "amount",
        "dollar_value",
        "value",
        "total",
        "order_total",
        "price",
        "revenue",
        "sales",
    ),
    "currency": ("currency", "currency_code"),
    "order": (
        "order_id",
        "order",
        "order_ref",
        "order_reference",
        "order_number",
        "transaction_id",
        "receipt",
        "receipt_number",
    ),
    "channel": ("channel",),
    "category": ("category", "categories", "product_category"),
    "refund": ("refund", "is_refund", "refund_flag", "return"),
}

# Wording of each required field in the message for a missing column.
FIELD_DESCRIPTIONS = {"member": "the member reference", "amount": "the amount"}

_SEPARATORS = re.compile(r"[\s_-]+")


class ColumnMappingError(ValueError):
    """The columns of the file cannot be mapped to the importer's fields."""


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """Index of the column for each field, or None when the file has no such column."""

    member: int | None = None
    date: int | None = None
    amount: int | None = None
    currency: int | None = None
    order: int | None = None
    channel: int | None = None
    category: int | None = None
    refund: int | None = None


def resolve_columns(header: list[str], overrides: Mapping[str, str] | None = None) -> ColumnMap:
    """Return the column of each field, from the overrides first and the header names second.

    ``overrides`` maps a field to a column name, matched exactly or else ignoring case.
    Recognised names only claim columns that no override took. Raises ColumnMappingError
    for an unknown field, a column not in the header, a column claimed by two fields
    or a required field without a column.
    """
    indexes: dict[str, int] = {}
    for field, column in (overrides or {}).items():
        indexes[_check_field(field)] = _find_override_column(header, column)

    claimed = set(indexes.values())
    for field in FIELDS:
        if field not in indexes:
            index = _find_recognised_column(header, field, claimed)
            if index is not None:
                indexes[field] = index
                claimed.add(index)

    _check_distinct(header, indexes)
    for field in REQUIRED_FIELDS:
        if field not in indexes:
            raise ColumnMappingError(
                f"no column for {FIELD_DESCRIPTIONS[field]}; "
                f"name one with --mapping {field}=COLUMN (the header has: {_list(header)})"
            )
    return ColumnMap(**indexes)


def parse_mapping_option(text: str) -> dict[str, str]:
    """Parse the command-line form ``member=COLUMN,date=COLUMN`` into field → column.

    Column names cannot contain commas. Spaces around each part are ignored.
    Raises ColumnMappingError naming the part that is invalid.
    """
    mapping: dict[str, str] = {}
    for part in text.split(","):
        field, equals, column = part.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not part.strip():
            raise ColumnMappingError(
                f"invalid mapping {text!r}: it contains an empty part; "
                "separate the parts with single commas, like member=COLUMN,amount=COLUMN"
            )
        if not equals or not field or not column:
            raise ColumnMappingError(
                f"invalid mapping part {part.strip()!r}: expected FIELD=COLUMN, like amount=Betrag"
            )
        _check_field(field)
        if field in mapping:
            raise ColumnMappingError(
                f"invalid mapping {text!r}: the field {field!r} is given twice; give it once"
            )
        mapping[field] = column
    return mapping


def normalise_column_name(name: str) -> str:
    """Return the name in lower case without spaces, hyphens and underscores."""
    return _SEPARATORS.sub("", name).lower()


def _check_field(field: str) -> str:
    normalised = field.strip().lower()
    if normalised not in FIELDS:
        raise ColumnMappingError(f"unknown field {field!r}; allowed: {', '.join(FIELDS)}")
    return normalised


def _find_override_column(header: list[str], column: str) -> int:
    exact = [index for index, name in enumerate(header) if name == column]
    if not exact:
        exact = [index for index, name in enumerate(header) if name.lower() == column.lower()]
    if not exact:
        raise ColumnMappingError(
            f"column {column!r} is not in the file; the header has: {_list(header)}"
        )
    if len(exact) > 1:
        raise ColumnMappingError(
            f"column {column!r} occurs {len(exact)} times in the header; "
            "rename the duplicate columns in the file"
        )
    return exact[0]


def _find_recognised_column(header: list[str], field: str, claimed: set[int]) -> int | None:
    """Return the unclaimed column with the best recognised name for the field."""
    normalised = [normalise_column_name(name) for name in header]
    for alias in COLUMN_NAMES[field]:
        wanted = normalise_column_name(alias)
        matches = [
            index
            for index, name in enumerate(normalised)
            if name == wanted and index not in claimed
        ]
        if len(matches) > 1:
            names = ", ".join(repr(header[index]) for index in matches)
            raise ColumnMappingError(
                f"columns {names} could each be the {field} column; "
                f"name one with --mapping {field}=COLUMN"
            )
        if matches:
            return matches[0]
    return None


def _check_distinct(header: list[str], indexes: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for field, index in indexes.items():
        if index in seen:
            raise ColumnMappingError(
                f"column {header[index]!r} is mapped to both {seen[index]!r} and {field!r}; "
                "map each field to a different column"
            )
        seen[index] = field


def _list(header: list[str]) -> str:
    return ", ".join(header) if header else "(no columns)"
