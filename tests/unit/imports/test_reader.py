"""Tests for streaming rows out of uploaded transaction files."""

import io
import re
import tracemalloc

import pytest

from saas.imports import reader
from saas.imports.reader import ImportFormatError, open_table


def table_from(data: bytes, delimiter: str | None = None) -> reader.Table:
    return open_table(io.BytesIO(data), delimiter)


def rows_of(data: bytes, delimiter: str | None = None) -> list[tuple[int, list[str]]]:
    return list(table_from(data, delimiter))


class GeneratedCsv(io.RawIOBase):
    """Binary stream of a header and ``row_count`` rows, generated while it is read."""

    def __init__(self, row_count: int) -> None:
        self._blocks = self._generate(row_count)
        self._block = b""
        self._offset = 0

    @staticmethod
    def _generate(row_count: int):
        """Yield the header, then the same block of 1000 rows until row_count rows are out."""
        yield b"customer_id,date,amount\n"
        block = b"".join(b"%05d,20250101,%d.50\n" % (index, index) for index in range(1000))
        for start in range(0, row_count, 1000):
            size = min(1000, row_count - start)
            yield block if size == 1000 else block[: block.index(b"%05d," % size)]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._offset == len(self._block):
            self._block = next(self._blocks, b"")
            self._offset = 0
        size = min(len(buffer), len(self._block) - self._offset)
        buffer[:size] = self._block[self._offset : self._offset + size]
        self._offset += size
        return size


def test_comma_header_and_rows():
    table = table_from(b"member,amount\nA1,10.00\nA2,20.00\n")

    assert table.header == ["member", "amount"]
    assert table.delimiter == ","
    assert list(table) == [(2, ["A1", "10.00"]), (3, ["A2", "20.00"])]


def test_bom_and_crlf_removed():
    table = table_from(b"\xef\xbb\xbfmember,amount\r\nA1,10.00\r\n")

    assert table.header == ["member", "amount"]
    assert list(table) == [(2, ["A1", "10.00"])]


def test_semicolon_detected():
    table = table_from(b"Kunde;Betrag;Datum\nK1;1.234,50;31.01.2025\n")

    assert table.delimiter == ";"
    assert list(table) == [(2, ["K1", "1.234,50", "31.01.2025"])]


def test_tab_detected():
    table = table_from(b"member\tamount\nA1\t10.00\n")

    assert table.delimiter == "\t"
    assert list(table) == [(2, ["A1", "10.00"])]


def test_cdnow_whitespace_layout():
    data = b"customer_id date number_of_cds dollar_value\n00001 19970101 1 11.77\n"
    table = table_from(data)

    assert table.delimiter == "whitespace"
    assert table.header == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert list(table) == [(2, ["00001", "19970101", "1", "11.77"])]


def test_whitespace_runs_and_indent():
    rows = rows_of(b"a b  c\n   00002  19970112 \t 2  89.00\r\n")

    assert rows == [(2, ["00002", "19970112", "2", "89.00"])]


def test_quoted_delimiter_kept():
    rows = rows_of(b'member,category\nA1,"shoes, red"\n')

    assert rows == [(2, ["A1", "shoes, red"])]


def test_quoted_newline_line_numbers():
    rows = rows_of(b'member,note\nA1,"two\nlines"\nA2,x\n')

    assert rows[0] == (2, ["A1", "two\nlines"])
    assert rows[1] == (4, ["A2", "x"])


def test_header_names_stripped():
    table = table_from(b" member , amount \nA1,1\n")

    assert table.header == ["member", "amount"]


def test_short_row_still_yielded():
    rows = rows_of(b"member,date,amount\nA1,20250101\nA2,20250101,5\n")

    assert rows == [(2, ["A1", "20250101"]), (3, ["A2", "20250101", "5"])]


def test_long_row_still_yielded():
    rows = rows_of(b"member,amount\nA1,5,extra\n")

    assert rows == [(2, ["A1", "5", "extra"])]


def test_trailing_empty_lines_ignored():
    rows = rows_of(b"member,amount\r\nA1,5\r\n\r\n\r\n  \r\n")

    assert rows == [(2, ["A1", "5"])]


def test_inner_empty_line_yielded():
    rows = rows_of(b"member,amount\nA1,5\n\n\nA2,6\n")

    assert rows == [(2, ["A1", "5"]), (3, []), (4, []), (5, ["A2", "6"])]


def test_whitespace_trailing_empty_ignored():
    rows = rows_of(b"a b\n1 2\n\n \n")

    assert rows == [(2, ["1", "2"])]


def test_header_only_has_no_rows():
    table = table_from(b"member,amount\n")

    assert table.header == ["member", "amount"]
    assert list(table) == []


def test_empty_file_rejected():
    with pytest.raises(ImportFormatError, match=r"^the file is empty: "):
        table_from(b"")


def test_bom_only_file_rejected():
    with pytest.raises(ImportFormatError, match=r"^the file is empty: "):
        table_from(b"\xef\xbb\xbf\r\n\r\n")


def test_empty_first_line_rejected():
    with pytest.raises(ImportFormatError, match="line 1 must contain the column names"):
        table_from(b"\nmember,amount\nA1,5\n")


def test_invalid_utf8_names_line():
    table = table_from(b"member,amount\nA1,5\nM\xfcller,6\n")

    with pytest.raises(ImportFormatError) as caught:
        list(table)

    assert "line 3 is not valid UTF-8" in str(caught.value)
    assert "Save the file as UTF-8" in str(caught.value)


def test_invalid_utf8_keeps_earlier_rows():
    rows = []
    with pytest.raises(ImportFormatError):
        for row in table_from(b"member,amount\nA1,5\nM\xfcller,6\n"):
            rows.append(row)

    assert rows == [(2, ["A1", "5"])]


def test_invalid_utf8_header_rejected():
    with pytest.raises(ImportFormatError, match="line 1 is not valid UTF-8"):
        table_from(b"Betr\xe4g,member\n")


def test_utf16_file_hint():
    data = "member,amount\nA1,5\n".encode("utf-16")

    with pytest.raises(ImportFormatError, match="looks like UTF-16"):
        table_from(data)


def test_overlong_line_rejected(monkeypatch):
    monkeypatch.setattr(reader, "MAX_LINE_CHARS", 20)
    table = table_from(b"member,amount\n" + b"A" * 30 + b",5\n")

    with pytest.raises(ImportFormatError, match="line 2 is longer than 20 characters"):
        list(table)


def test_unclosed_quote_joins_rest():
    table = table_from(b'member,amount\nA1,"5\nA2,6\n')

    rows = list(table)

    assert rows == [(2, ["A1", "5\nA2,6\n"])]


def test_delimiter_override_tab_name():
    table = table_from(b"member,x\tamount\nA1,y\t5\n", delimiter="tab")

    assert table.delimiter == "\t"
    assert table.header == ["member,x", "amount"]


def test_delimiter_override_semicolon():
    table = table_from(b"member,amount\n", delimiter=";")

    assert table.header == ["member,amount"]


def test_delimiter_override_whitespace():
    table = table_from(b"member;x amount\nA;1 5\n", delimiter="whitespace")

    assert table.delimiter == "whitespace"
    assert list(table) == [(2, ["A;1", "5"])]


def test_delimiter_override_invalid():
    with pytest.raises(ValueError, match=re.escape("invalid delimiter '|'")) as caught:
        table_from(b"a|b\n", delimiter="|")

    assert "'whitespace'" in str(caught.value)
    assert not isinstance(caught.value, ImportFormatError)


def test_detect_ignores_quoted_commas():
    assert reader.detect_delimiter('"Amount, EUR";"Date"\r\n') == ";"


def test_detect_most_frequent_wins():
    assert reader.detect_delimiter("Kunde;Betrag (EUR, brutto);Datum\n") == ";"


def test_detect_single_column_is_comma():
    assert reader.detect_delimiter("member\n") == ","


def test_table_iterates_once():
    table = table_from(b"member,amount\nA1,5\n")
    list(table)

    with pytest.raises(RuntimeError, match="already read"):
        iter(table)


def test_million_rows_flat_memory():
    tracemalloc.start()
    try:
        table = open_table(io.BufferedReader(GeneratedCsv(1_000_000)))
        count = 0
        last_line = 0
        for line_number, _cells in table:
            count += 1
            last_line = line_number
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 1_000_000
    assert last_line == 1_000_001
    # The file is about 21 MB, so holding it in memory would exceed this many times over.
    assert peak < 1_000_000


def test_stream_left_open():
    stream = io.BytesIO(b"member,amount\nA1,5\n")
    list(open_table(stream))

    assert not stream.closed


def test_stream_open_after_error():
    stream = io.BytesIO(b"")
    with pytest.raises(ImportFormatError):
        open_table(stream)

    assert not stream.closed
