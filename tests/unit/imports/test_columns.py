"""Tests for mapping file columns to importer fields."""

import dataclasses

import pytest

from saas.imports.columns import (
    COLUMN_NAMES,
    FIELDS,
    ColumnMap,
    ColumnMappingError,
    parse_mapping_option,
    resolve_columns,
)


def test_cdnow_header_resolved():
    columns = resolve_columns(["customer_id", "date", "number_of_cds", "dollar_value"])

    assert columns == ColumnMap(member=0, date=1, amount=3)


def test_all_fields_resolved():
    header = [
        "Member ID",
        "Order-Date",
        "amount",
        "Currency",
        "receipt_number",
        "CHANNEL",
        "product category",
        "is_refund",
    ]

    columns = resolve_columns(header)

    assert columns == ColumnMap(
        member=0, date=1, amount=2, currency=3, order=4, channel=5, category=6, refund=7
    )


def header_with(field: str, alias: str) -> list[str]:
    """Return a header with the required columns and ``alias`` as the field's column."""
    if field == "member":
        return [alias, "amount"]
    if field == "amount":
        return ["member_id", alias]
    return ["member_id", "amount", alias]


@pytest.mark.parametrize(
    ("field", "alias"),
    [(field, alias) for field in FIELDS for alias in COLUMN_NAMES[field]],
)
def test_every_alias_recognised(field, alias):
    header = header_with(field, alias)

    columns = resolve_columns(header)

    assert getattr(columns, field) == header.index(alias)


def test_names_ignore_case_and_separators():
    columns = resolve_columns(["CUSTOMER ID", "Dollar-Value"])

    assert columns.member == 0
    assert columns.amount == 1


def test_earlier_alias_wins():
    columns = resolve_columns(["member", "price", "total"])

    assert columns.amount == 2


def test_unmapped_fields_are_none():
    columns = resolve_columns(["member", "amount"])

    assert columns.date is None
    assert columns.refund is None


def test_column_map_is_frozen():
    columns = resolve_columns(["member", "amount"])

    with pytest.raises(dataclasses.FrozenInstanceError):
        columns.member = 1  # type: ignore[misc]


def test_override_exact_name():
    columns = resolve_columns(["Kunde", "Betrag"], {"member": "Kunde", "amount": "Betrag"})

    assert columns == ColumnMap(member=0, amount=1)


def test_override_ignores_case():
    columns = resolve_columns(["Kunde", "Betrag"], {"member": "kunde", "amount": "BETRAG"})

    assert columns == ColumnMap(member=0, amount=1)


def test_override_exact_beats_case_match():
    columns = resolve_columns(["id", "ID", "amount"], {"member": "ID"})

    assert columns.member == 1


def test_override_beats_recognised_name():
    columns = resolve_columns(["member_id", "card_number", "amount"], {"member": "card_number"})

    assert columns.member == 1


def test_override_claims_recognised_column():
    columns = resolve_columns(
        ["customer_id", "ref", "total"], {"member": "ref", "order": "customer_id"}
    )

    assert columns == ColumnMap(member=1, amount=2, order=0)


def test_override_unknown_field():
    with pytest.raises(ColumnMappingError) as caught:
        resolve_columns(["member", "amount"], {"amout": "amount"})

    assert str(caught.value).startswith("unknown field 'amout'; allowed: member, date, ")


def test_override_missing_column():
    with pytest.raises(ColumnMappingError) as caught:
        resolve_columns(["member", "Summe"], {"amount": "Betrag"})

    assert str(caught.value) == "column 'Betrag' is not in the file; the header has: member, Summe"


def test_override_duplicate_column_name():
    with pytest.raises(ColumnMappingError, match="occurs 2 times"):
        resolve_columns(["member", "x", "x"], {"amount": "x"})


def test_missing_member_column():
    with pytest.raises(ColumnMappingError) as caught:
        resolve_columns(["date", "amount"])

    message = str(caught.value)
    assert message.startswith("no column for the member reference; ")
    assert "--mapping member=COLUMN" in message


def test_missing_amount_column():
    with pytest.raises(ColumnMappingError, match="no column for the amount; name one with"):
        resolve_columns(["member", "date"])


def test_two_fields_same_column():
    with pytest.raises(ColumnMappingError) as caught:
        resolve_columns(["member", "amount"], {"member": "amount", "amount": "amount"})

    assert "column 'amount' is mapped to both 'member' and 'amount'" in str(caught.value)


def test_ambiguous_recognised_columns():
    with pytest.raises(ColumnMappingError, match="'Amount', 'amount' could each be"):
        resolve_columns(["member", "Amount", "amount"])


def test_error_is_value_error():
    assert issubclass(ColumnMappingError, ValueError)


def test_mapping_option_parsed():
    mapping = parse_mapping_option("member=Kunde, date = Datum ,amount=Betrag (EUR)")

    assert mapping == {"member": "Kunde", "date": "Datum", "amount": "Betrag (EUR)"}


def test_mapping_option_field_lowercased():
    assert parse_mapping_option("Amount=Betrag") == {"amount": "Betrag"}


def test_mapping_option_equals_in_column():
    assert parse_mapping_option("amount=a=b") == {"amount": "a=b"}


def test_mapping_option_missing_equals():
    with pytest.raises(
        ColumnMappingError, match="invalid mapping part 'member': expected FIELD=COLUMN"
    ):
        parse_mapping_option("member,amount=Betrag")


def test_mapping_option_empty_column():
    with pytest.raises(ColumnMappingError, match="invalid mapping part 'amount='"):
        parse_mapping_option("member=Kunde,amount=")


def test_mapping_option_empty_part():
    with pytest.raises(ColumnMappingError, match="contains an empty part"):
        parse_mapping_option("member=Kunde,,amount=Betrag")


def test_mapping_option_unknown_field():
    with pytest.raises(ColumnMappingError, match="unknown field 'amout'"):
        parse_mapping_option("amout=Betrag")


def test_mapping_option_repeated_field():
    with pytest.raises(ColumnMappingError, match="the field 'member' is given twice"):
        parse_mapping_option("member=A,member=B")
