"""Stream the rows of an uploaded transaction file without loading it into memory.

The file is UTF-8 text, with or without a byte-order mark. The delimiter is a comma,
a semicolon or a tab, detected from the header line. A file with none of them in
its header is read in whitespace mode, where runs of spaces and tabs separate the
cells (the layout of the CDNOW purchase data set).
"""

from __future__ import annotations

import csv
import io
import re
import typing
from collections.abc import Iterator

COMMA = ","
SEMICOLON = ";"
TAB = "\t"
WHITESPACE = "whitespace"

# Accepted values of the ``delimiter`` argument and the delimiter each one selects.
DELIMITER_NAMES: dict[str, str] = {
    ",": COMMA,
    ";": SEMICOLON,
    "\t": TAB,
    "tab": TAB,
    "whitespace": WHITESPACE,
}

# Candidates for detection, in the order that wins a tie.
DETECTED_DELIMITERS = (TAB, SEMICOLON, COMMA)

# Bounds the memory that one line can take, for example in a file with no line breaks.
# A row of a transaction export is far shorter.
MAX_LINE_CHARS = 1_000_000

_QUOTED_TEXT = re.compile(r'"[^"]*"')
_WHITESPACE_RUN = re.compile(r"[ \t]+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")

Row = tuple[int, list[str]]


class ImportFormatError(ValueError):
    """The file as a whole cannot be read, for example because it is not UTF-8."""


class Table:
    """Header and data rows of one file, which can be iterated only once.

    Iteration yields ``(line_number, cells)`` for each data row. ``line_number`` is the
    physical line in the file where the row starts, with the header on line 1. A row
    may have more or fewer cells than the header. Empty lines in the middle of the file
    are yielded with no cells, and empty lines at the end are skipped.
    """

    def __init__(self, header: list[str], delimiter: str, rows: Iterator[Row]) -> None:
        self.header = header
        self.delimiter = delimiter
        self._rows: Iterator[Row] | None = rows

    def __iter__(self) -> Iterator[Row]:
        if self._rows is None:
            raise RuntimeError("the rows of this Table were already read; open the file again")
        rows, self._rows = self._rows, None
        return rows


def open_table(stream: typing.BinaryIO, delimiter: str | None = None) -> Table:
    """Read the header of a binary stream and return a Table that streams its rows.

    ``delimiter`` is one of ",", ";", "\\t", "tab" or "whitespace" and overrides the
    detection. Raises ValueError for any other delimiter, and ImportFormatError when
    the file is empty, its first line is empty, or a line is not valid UTF-8.
    The stream stays open, and the caller closes it.
    """
    chosen = _normalise_delimiter(delimiter)
    # surrogateescape turns invalid bytes into lone surrogates in the line that contains
    # them, so that the error can name that line.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    lines = _physical_lines(text)
    first_line = next(lines, None)
    if first_line is None or not first_line.strip():
        _raise_empty_header(first_line, lines)

    if chosen is None:
        chosen = detect_delimiter(first_line)

    if chosen == WHITESPACE:
        header = _split_whitespace(first_line)
        rows = _whitespace_rows(lines)
    else:
        reader = csv.reader(_prepend(first_line, lines), delimiter=chosen)
        header = [name.strip() for name in _next_record(reader)]
        rows = _csv_rows(reader)
    return Table(header, chosen, _skip_trailing_empty(rows))


def detect_delimiter(header_line: str) -> str:
    """Return the delimiter that occurs most often in the header, outside quotes.

    Returns WHITESPACE when none occurs but the header has several whitespace-separated
    names, and COMMA for a header with a single name.
    """
    unquoted = _QUOTED_TEXT.sub("", header_line)
    counts = {candidate: unquoted.count(candidate) for candidate in DETECTED_DELIMITERS}
    best = max(DETECTED_DELIMITERS, key=lambda candidate: counts[candidate])
    if counts[best] > 0:
        return best
    if len(_split_whitespace(header_line)) > 1:
        return WHITESPACE
    return COMMA


def _normalise_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    chosen = DELIMITER_NAMES.get(delimiter) or DELIMITER_NAMES.get(delimiter.lower())
    if chosen is None:
        allowed = ", ".join(repr(name) for name in DELIMITER_NAMES)
        raise ValueError(f"invalid delimiter {delimiter!r}; use one of {allowed}")
    return chosen


def _physical_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """Yield each line with its line ending, raising ImportFormatError for bad lines.

    The wrapper is detached when the generator ends or is discarded, so that the
    caller's binary stream stays open.
    """
    line_number = 0
    try:
        while True:
            line = text.readline(MAX_LINE_CHARS + 1)
            if not line:
                return
            line_number += 1
            if len(line) > MAX_LINE_CHARS:
                raise ImportFormatError(
                    f"line {line_number} is longer than {MAX_LINE_CHARS:,} characters; "
                    "check that the file is a table of transactions with one row per line"
                )
            if not line.isascii() and _ESCAPED_BYTE.search(line):
                raise ImportFormatError(_encoding_message(line_number, line))
            yield line
    finally:
        # When the caller closed the stream before reading to the end, there is
        # nothing left to detach.
        if not text.closed:
            text.detach()


def _encoding_message(line_number: int, line: str) -> str:
    hint = ""
    if line_number == 1 and line.startswith(("\udcff\udcfe", "\udcfe\udcff")):
        hint = " The file looks like UTF-16."
    return (
        f"line {line_number} is not valid UTF-8.{hint} "
        "Save the file as UTF-8 (in Excel: 'CSV UTF-8') and import it again."
    )


def _raise_empty_header(first_line: str | None, lines: Iterator[str]) -> typing.NoReturn:
    if first_line is None or all(not line.strip() for line in lines):
        raise ImportFormatError(
            "the file is empty: it has no header line and no rows; "
            "export the transactions again with the column names on the first line"
        )
    raise ImportFormatError(
        "the header line is empty: line 1 must contain the column names; "
        "remove the empty lines at the start of the file"
    )


def _prepend(first_line: str, lines: Iterator[str]) -> Iterator[str]:
    yield first_line
    yield from lines


def _split_whitespace(line: str) -> list[str]:
    stripped = line.strip(" \t\r\n")
    if not stripped:
        return []
    return _WHITESPACE_RUN.split(stripped)


def _whitespace_rows(lines: Iterator[str]) -> Iterator[Row]:
    for line_number, line in enumerate(lines, start=2):
        yield line_number, _split_whitespace(line)


def _next_record(reader: typing.Any) -> list[str]:
    """Return the next record of a csv reader, raising ImportFormatError for csv errors."""
    start_line = reader.line_num + 1
    try:
        return next(reader)
    except csv.Error as error:
        raise ImportFormatError(
            f"line {start_line} cannot be read as a delimited row ({error}); "
            "check that every quoted cell has a closing quote"
        ) from error


def _csv_rows(reader: typing.Any) -> Iterator[Row]:
    while True:
        start_line = reader.line_num + 1
        try:
            cells = _next_record(reader)
        except StopIteration:
            return
        yield start_line, cells


def _skip_trailing_empty(rows: Iterator[Row]) -> Iterator[Row]:
    """Hold back empty rows until a non-empty row follows, so trailing ones are dropped."""
    # Runs of consecutive empty lines as [first line, count], so that a long tail of
    # empty lines takes constant memory.
    pending: list[list[int]] = []
    for line_number, cells in rows:
        if _is_empty(cells):
            if pending and sum(pending[-1]) == line_number:
                pending[-1][1] += 1
            else:
                pending.append([line_number, 1])
            continue
        for first_line, count in pending:
            for offset in range(count):
                yield first_line + offset, []
        pending.clear()
        yield line_number, cells


def _is_empty(cells: list[str]) -> bool:
    return not cells or (len(cells) == 1 and not cells[0].strip())
