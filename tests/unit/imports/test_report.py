"""Tests for the error report and formula-safe CSV cells."""

import csv
import io
from decimal import Decimal

import pytest

from saas.imports.report import ErrorReport, neutralise_cell, write_rows


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+49 30 1234", "-5", "@SUM(A1)", "\tindented", "\rreturn", '=HYPERLINK("x")'],
)
def test_formula_text_escaped(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["A1", "", "5", "a=b", " =1", "'quoted"])
def test_plain_text_unchanged(text):
    assert neutralise_cell(text) == text


@pytest.mark.parametrize("value", [-5, -5.5, Decimal("-5.00"), 0, None, True])
def test_non_text_unchanged(value):
    assert neutralise_cell(value) is value


def test_negative_number_stays_number():
    assert neutralise_cell(-5) == -5


def test_negative_text_escaped():
    assert neutralise_cell("-5") == "'-5"


def test_write_rows_escapes_cells():
    stream = io.StringIO(newline="")

    write_rows(stream, ["member", "=note"], [["=cmd|' /C calc'!A0", -5], ["A2", "-5"]])

    assert read_csv(stream.getvalue()) == [
        ["member", "'=note"],
        ["'=cmd|' /C calc'!A0", "-5"],
        ["A2", "'-5"],
    ]


def test_write_rows_quotes_delimiters():
    stream = io.StringIO(newline="")

    write_rows(stream, ["a"], [["x, y"]])

    assert stream.getvalue() == 'a\r\n"x, y"\r\n'


def test_report_counts_errors():
    report = ErrorReport()
    report.add(2, "amount", "abc", "invalid amount")
    report.add(3, "date", "x", "invalid date")

    assert report.count == 2
    assert report.dropped == 0


def test_report_csv_layout():
    report = ErrorReport()
    report.add(7, "amount", "25.00", "invalid amount '25.00'")
    stream = io.StringIO(newline="")

    report.write_csv(stream)

    assert read_csv(stream.getvalue()) == [
        ["row", "column", "value", "reason"],
        ["7", "amount", "25.00", "invalid amount '25.00'"],
    ]


def test_report_csv_escapes_values():
    report = ErrorReport()
    report.add(2, "member", "=2+5", "unknown member")
    stream = io.StringIO(newline="")

    report.write_csv(stream)

    assert read_csv(stream.getvalue())[1] == ["2", "member", "'=2+5", "unknown member"]


def test_report_limit_drops_rest():
    report = ErrorReport(max_errors=2)
    for line_number in range(2, 7):
        report.add(line_number, "amount", "x", "invalid amount")

    assert len(report.errors) == 2
    assert report.dropped == 3
    assert report.count == 5


def test_report_csv_states_dropped():
    report = ErrorReport(max_errors=1)
    report.add(2, "amount", "x", "invalid amount")
    report.add(3, "amount", "y", "invalid amount")
    stream = io.StringIO(newline="")

    report.write_csv(stream)

    rows = read_csv(stream.getvalue())
    assert len(rows) == 3
    assert rows[2][0] == ""
    assert rows[2][3].startswith("1 more errors are not listed")


def test_report_truncates_long_values():
    report = ErrorReport()
    report.add(2, "member", "x" * 10_000, "unknown member")

    assert len(report.errors[0].value) == 201
    assert report.errors[0].value.endswith("…")


def test_report_default_limit():
    assert ErrorReport().max_errors == 100_000


def test_report_negative_limit_rejected():
    with pytest.raises(ValueError, match="invalid max_errors -1"):
        ErrorReport(max_errors=-1)
