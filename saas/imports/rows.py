"""Turn a file's cells into checked transaction rows, collecting errors per cell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from saas.imports.columns import ColumnMap
from saas.imports.fingerprints import Occurrences
from saas.imports.report import ErrorReport
from saas.imports.values import (
    ValueParseError,
    parse_amount,
    parse_currency,
    parse_refund_flag,
    parse_timestamp,
)
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import check_ref
from saas.loyalty.orders import MAX_CLOCK_SKEW
from saas.tenancy.brands import BrandInfo


@dataclass(frozen=True)
class TransactionRow:
    line: int
    order_ref: str
    member_ref: str
    amount_minor: int
    currency: str
    ordered_at: datetime
    channel: str | None
    categories: tuple[str, ...]
    is_refund: bool
    # For a refund row: the reference of this refund, distinct from the order it refunds.
    refund_ref: str


class RowParser:
    """Parses rows of one file for one brand; reports each bad cell and skips its row."""

    def __init__(self, brand: BrandInfo, header: list[str], columns: ColumnMap,
                 currency: str | None, occurrences: Occurrences, errors: ErrorReport,
                 now: datetime) -> None:
        self.brand = brand
        self.header = header
        self.columns = columns
        self.currency = currency or brand.base_currency
        self.occurrences = occurrences
        self.errors = errors
        self.now = now
        self.locale = brand.default_locale

    def parse(self, line: int, cells: list[str]) -> TransactionRow | None:
        fingerprint_ref = self.occurrences.reference(cells)
        if len(cells) != len(self.header):
            self.errors.add(line, "", FIELD_SEPARATOR_SHOWN.join(cells),
                            f"expected {len(self.header)} columns, found {len(cells)}")
            return None
        try:
            return self._parse(line, cells, fingerprint_ref)
        except _CellError as error:
            self.errors.add(line, error.column, error.value, error.reason)
            return None

    def _parse(self, line: int, cells: list[str], fingerprint_ref: str) -> TransactionRow:
        member_ref = self._cell(cells, "member")
        try:
            check_ref(member_ref)
        except InvalidInput as exc:
            raise _CellError(self._name("member"), member_ref, exc.message) from None
        currency = self.currency
        if self.columns.currency is not None:
            currency = self._value(cells, "currency", parse_currency)
        amount = self._value(cells, "amount",
                             lambda text: parse_amount(text, self.locale, currency))
        ordered_at = self.now
        if self.columns.date is not None:
            ordered_at = self._value(
                cells, "date", lambda text: parse_timestamp(text, self.brand.timezone, self.locale)
            )
            if ordered_at > self.now + MAX_CLOCK_SKEW:
                raise _CellError(self._name("date"), self._cell(cells, "date"),
                                 "the date is in the future")
        is_refund = False
        if self.columns.refund is not None:
            is_refund = self._value(cells, "refund", parse_refund_flag)
        order_ref = self._order_ref(cells, fingerprint_ref, is_refund)
        return TransactionRow(
            line=line, order_ref=order_ref, member_ref=member_ref, amount_minor=amount,
            currency=currency, ordered_at=ordered_at,
            channel=self._optional(cells, "channel"),
            categories=tuple(filter(None, [self._optional(cells, "category")])),
            is_refund=is_refund, refund_ref=fingerprint_ref,
        )

    def _order_ref(self, cells: list[str], fingerprint_ref: str, is_refund: bool) -> str:
        if self.columns.order is None:
            if is_refund:
                raise _CellError(self._name("refund"), self._cell(cells, "refund"),
                                 "a refund row needs an order reference column to name the order")
            return fingerprint_ref
        ref = self._cell(cells, "order")
        if not 1 <= len(ref) <= 128:
            raise _CellError(self._name("order"), ref, "the order reference needs 1-128 characters")
        return ref

    def _value(self, cells, field, parse):
        text = self._cell(cells, field)
        try:
            return parse(text)
        except ValueParseError as exc:
            raise _CellError(self._name(field), text, str(exc)) from None

    def _cell(self, cells: list[str], field: str) -> str:
        return cells[getattr(self.columns, field)].strip()

    def _optional(self, cells: list[str], field: str) -> str | None:
        if getattr(self.columns, field) is None:
            return None
        return self._cell(cells, field) or None

    def _name(self, field: str) -> str:
        return self.header[getattr(self.columns, field)]


FIELD_SEPARATOR_SHOWN = " | "


class _CellError(Exception):
    def __init__(self, column: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.value = value
        self.reason = reason
