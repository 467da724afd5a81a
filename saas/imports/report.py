"""Collect the row errors of an import and write CSV files that spreadsheets open safely."""

from __future__ import annotations

import csv
import itertools
import typing
from collections.abc import Iterable
from typing import NamedTuple

# A text cell starting with one of these is read as a formula by Excel, LibreOffice
# and Google Sheets, so an uploaded value such as =HYPERLINK(...) could run there.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

DEFAULT_MAX_ERRORS = 100_000

# Longer values are cut in the report, so that the kept errors have bounded size.
MAX_VALUE_CHARS = 200

ERROR_REPORT_HEADER = ("row", "column", "value", "reason")


class RowError(NamedTuple):
    """One invalid cell: the file line of its row, the column name, the value and why."""

    line_number: int
    column: str
    value: str
    reason: str


def neutralise_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would read as a formula with an apostrophe.

    Only ``str`` values change. Numbers, None and other objects are returned unchanged,
    so a number such as -5 stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_rows(
    stream: typing.TextIO, header: Iterable[object], rows: Iterable[Iterable[object]]
) -> None:
    """Write a header and rows as CSV, passing every cell through neutralise_cell.

    Open ``stream`` with ``newline=""`` because the csv module writes CRLF line endings.
    """
    writer = csv.writer(stream)
    writer.writerow([neutralise_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])


class ErrorReport:
    """Row errors of one import, keeping at most ``max_errors`` of them in memory.

    Errors beyond the limit are only counted in ``dropped``, so that a large file with an
    error in every row cannot exhaust memory.
    """

    def __init__(self, max_errors: int = DEFAULT_MAX_ERRORS) -> None:
        if max_errors < 0:
            raise ValueError(f"invalid max_errors {max_errors}: expected 0 or more")
        self.max_errors = max_errors
        self.errors: list[RowError] = []
        self.dropped = 0

    @property
    def count(self) -> int:
        """Number of errors added, including the dropped ones."""
        return len(self.errors) + self.dropped

    def add(self, line_number: int, column: str, value: str, reason: str) -> None:
        """Record an error, or count it as dropped once the report is full."""
        if len(self.errors) >= self.max_errors:
            self.dropped += 1
            return
        if len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS] + "…"
        self.errors.append(RowError(line_number, column, value, reason))

    def write_csv(self, stream: typing.TextIO) -> None:
        """Write the kept errors as CSV with the header row,column,value,reason.

        When errors were dropped, a last row with an empty row number states how many.
        """
        tail: list[tuple[str, str, str, str]] = []
        if self.dropped:
            reason = (
                f"{self.dropped} more errors are not listed; "
                "fix the errors above and import the file again"
            )
            tail.append(("", "", "", reason))
        write_rows(stream, ERROR_REPORT_HEADER, itertools.chain(self.errors, tail))


def xlsx_bytes(header: Iterable[object], rows: Iterable[Iterable[object]],
               title: str = "Report") -> bytes:
    """Return an XLSX workbook of one sheet, every cell passed through neutralise_cell.

    openpyxl stores a str as text, never as a formula, but a user who edits the cell or
    exports it to CSV again would turn a leading = into one, so text is neutralised as in CSV.
    """
    import io

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31] or "Report")
    sheet.append([neutralise_cell(cell) for cell in header])
    for row in rows:
        sheet.append([neutralise_cell(cell) for cell in row])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()
