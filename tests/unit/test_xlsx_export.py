"""The XLSX export neutralises formulas in text cells and keeps numbers as numbers."""

import io

from openpyxl import load_workbook

from saas.imports.report import xlsx_bytes


def read(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data)).active
    return list(sheet.iter_rows(values_only=True))


def test_text_starting_with_a_formula_sign_is_escaped():
    rows = read(xlsx_bytes(["name", "value"], [["=SUM(A1:A9)", 5], ["@cmd", -3]]))
    assert rows[1] == ("'=SUM(A1:A9)", 5)
    assert rows[2] == ("'@cmd", -3)


def test_numbers_stay_numbers():
    rows = read(xlsx_bytes(["n"], [[-5], [2.5]]))
    assert rows[1][0] == -5
    assert isinstance(rows[2][0], float)
