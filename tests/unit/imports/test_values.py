"""Tests for strict, locale-aware parsing of amounts, dates, flags and currencies."""

import datetime as dt
from decimal import Decimal

import pytest
from babel.numbers import format_decimal, get_currency_precision
from hypothesis import given, settings
from hypothesis import strategies as st

from saas.imports.values import (
    MAX_MINOR_UNITS,
    ValueParseError,
    parse_amount,
    parse_currency,
    parse_refund_flag,
    parse_timestamp,
)

UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


# Amounts


@pytest.mark.parametrize(
    ("text", "locale", "currency", "expected"),
    [
        ("1.234,50", "de-DE", "EUR", 123450),
        ("1.234", "de-DE", "EUR", 123400),
        ("1234,5", "de-DE", "EUR", 123450),
        ("1,234.50", "en-US", "USD", 123450),
        ("29.33", "en-US", "USD", 2933),
        ("11.77", "en_US", "USD", 1177),
        ("2.755", "en-US", "KWD", 2755),
        ("500", "ja-JP", "JPY", 500),
        ("1,000", "ja-JP", "JPY", 1000),
        ("0", "en-US", "USD", 0),
        ("0.00", "en-US", "USD", 0),
        ("  12.30 ", "en-US", "USD", 1230),
        ("1\u202f234,56", "fr-FR", "EUR", 123456),
        ("1\u00a0234,56", "fr-FR", "EUR", 123456),
        ("1 234,56", "fr-FR", "EUR", 123456),
        ("1 234 567,89", "fr-FR", "EUR", 123456789),
        ("12,34,567.89", "en-IN", "INR", 123456789),
        ("1'234.50", "de-CH", "CHF", 123450),
        ("1,234.500", "ar-KW", "KWD", 1234500),
    ],
)
def test_amount_valid(text, locale, currency, expected):
    assert parse_amount(text, locale, currency) == expected


@pytest.mark.parametrize(
    ("text", "locale", "currency"),
    [
        ("25.00", "de-DE", "EUR"),
        ("1.23", "de-DE", "EUR"),
        ("1.234,50", "en-US", "USD"),
        ("1,23", "en-US", "USD"),
        ("12,34", "en-US", "USD"),
        ("1,2345", "en-US", "USD"),
        ("1,234,56", "en-US", "USD"),
        ("1234,567.00", "en-US", "USD"),
        ("1,234", "fr-FR", "EUR"),
        ("1234.5", "fr-FR", "EUR"),
        ("123,456", "en-IN", "INR"),
        ("abc", "en-US", "USD"),
        ("1.2.3", "en-US", "USD"),
        ("5.", "en-US", "USD"),
        (".5", "en-US", "USD"),
        ("+5.00", "en-US", "USD"),
        ("1e3", "en-US", "USD"),
        ("$5.00", "en-US", "USD"),
        ("5,00 €", "de-DE", "EUR"),
        ("USD 5.00", "en-US", "USD"),
        ("\u0665", "ar-KW", "KWD"),
    ],
)
def test_amount_invalid(text, locale, currency):
    with pytest.raises(ValueParseError):
        parse_amount(text, locale, currency)


def test_amount_message_de_grouping():
    with pytest.raises(ValueParseError) as caught:
        parse_amount("25.00", "de-DE", "EUR")

    assert str(caught.value) == (
        "invalid amount '25.00': expected a number written like 1.234,56 in de-DE"
    )


def test_amount_message_en_example():
    with pytest.raises(ValueParseError, match=r"written like 1,234\.56 in en-US"):
        parse_amount("1.234,50", "en-US", "USD")


def test_amount_too_many_decimals_usd():
    with pytest.raises(ValueParseError, match="USD amounts have at most 2 decimal places"):
        parse_amount("2.755", "en-US", "USD")


def test_amount_jpy_no_decimals():
    with pytest.raises(ValueParseError, match="JPY amounts have no decimal places"):
        parse_amount("500.5", "ja-JP", "JPY")


def test_amount_empty_rejected():
    with pytest.raises(ValueParseError, match="missing amount: the cell is empty"):
        parse_amount("", "en-US", "USD")


def test_amount_blank_rejected():
    with pytest.raises(ValueParseError, match="missing amount"):
        parse_amount("   ", "en-US", "USD")


@pytest.mark.parametrize("text", ["-5.00", "5.00-", "\u22125.00"])
def test_amount_negative_points_to_refund(text):
    with pytest.raises(ValueParseError) as caught:
        parse_amount(text, "en-US", "USD")

    assert "negative amounts are not allowed" in str(caught.value)
    assert "refund column" in str(caught.value)


def test_amount_currency_symbol_hint():
    with pytest.raises(ValueParseError, match="remove the currency symbol"):
        parse_amount("$5.00", "en-US", "USD")


def test_amount_unknown_currency():
    with pytest.raises(ValueParseError, match="invalid currency 'XYZ'"):
        parse_amount("5.00", "en-US", "XYZ")


def test_amount_lowercase_currency():
    assert parse_amount("5.00", "en-US", "usd") == 500


def test_amount_too_large():
    with pytest.raises(ValueParseError, match="the amount is too large"):
        parse_amount(str(MAX_MINOR_UNITS), "en-US", "USD")


def test_amount_unknown_locale():
    with pytest.raises(ValueError, match="unknown locale 'xx-YY'") as caught:
        parse_amount("5", "xx-YY", "USD")

    assert not isinstance(caught.value, ValueParseError)


ROUND_TRIP_LOCALES = [
    ("en_US", "USD"),
    ("de_DE", "EUR"),
    ("fr_FR", "EUR"),
    ("ja_JP", "JPY"),
    ("ar_KW", "KWD"),
]


@pytest.mark.parametrize(("locale", "currency"), ROUND_TRIP_LOCALES)
@given(minor_units=st.integers(min_value=0, max_value=10**15), grouped=st.booleans())
@settings(deadline=None, database=None)
def test_amount_round_trip(locale, currency, minor_units, grouped):
    exponent = get_currency_precision(currency)
    value = Decimal(minor_units).scaleb(-exponent)
    text = format_decimal(
        value, format=None, locale=locale, group_separator=grouped, decimal_quantization=False
    )

    assert parse_amount(text, locale, currency) == minor_units


# Timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20250115", utc(2025, 1, 14, 23)),
        ("2025-01-15", utc(2025, 1, 14, 23)),
        ("2025-07-15", utc(2025, 7, 14, 22)),
        ("2025-01-15T10:30", utc(2025, 1, 15, 9, 30)),
        ("2025-01-15 10:30:45", utc(2025, 1, 15, 9, 30, 45)),
        ("2025-01-15T10:30:45.123456", utc(2025, 1, 15, 9, 30, 45, 123456)),
        ("2025-01-15T10:30:45,5", utc(2025, 1, 15, 9, 30, 45, 500000)),
        ("2025-01-15T10:30:45.1234567Z", utc(2025, 1, 15, 10, 30, 45, 123456)),
        ("2025-01-15T10:30Z", utc(2025, 1, 15, 10, 30)),
        ("2025-01-15T10:30+05:30", utc(2025, 1, 15, 5)),
        ("2025-01-15T10:30-0200", utc(2025, 1, 15, 12, 30)),
        ("2025-01-15T10:30+01", utc(2025, 1, 15, 9, 30)),
        ("15.01.2025", utc(2025, 1, 14, 23)),
        ("5.1.2025", utc(2025, 1, 4, 23)),
        ("15.01.2025 10:30", utc(2025, 1, 15, 9, 30)),
        ("15.01.2025 9:30:15", utc(2025, 1, 15, 8, 30, 15)),
        ("2025/01/15", utc(2025, 1, 14, 23)),
        (" 2025-01-15 ", utc(2025, 1, 14, 23)),
    ],
)
def test_timestamp_valid_berlin(text, expected):
    assert parse_timestamp(text, "Europe/Berlin", "de-DE") == expected


def test_timestamp_result_is_utc():
    result = parse_timestamp("2025-01-15T10:30+05:30", "Europe/Berlin", "de-DE")

    assert result.tzinfo is UTC


def test_timestamp_cdnow_date():
    assert parse_timestamp("19970101", "America/New_York", "en-US") == utc(1997, 1, 1, 5)


def test_timestamp_date_is_local_midnight():
    assert parse_timestamp("2025-01-15", "Asia/Tokyo", "ja-JP") == utc(2025, 1, 14, 15)


def test_timestamp_slash_month_first_en_us():
    assert parse_timestamp("03/04/2025", "UTC", "en-US") == utc(2025, 3, 4)


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR", "de-DE"])
def test_timestamp_slash_day_first(locale):
    assert parse_timestamp("03/04/2025", "UTC", locale) == utc(2025, 4, 3)


def test_timestamp_slash_with_time():
    assert parse_timestamp("1/31/2025 14:05", "UTC", "en-US") == utc(2025, 1, 31, 14, 5)


def test_timestamp_slash_impossible_for_locale():
    with pytest.raises(ValueParseError, match=r"month must be in 1\.\.12"):
        parse_timestamp("31/01/2025", "UTC", "en-US")


@pytest.mark.parametrize("text", ["20250230", "2025-02-30", "30.02.2025", "2025-13-01"])
def test_timestamp_impossible_date(text):
    with pytest.raises(ValueParseError, match=f"invalid date '{text}'"):
        parse_timestamp(text, "UTC", "en-US")


@pytest.mark.parametrize("text", ["2025-01-15T24:00", "2025-01-15T10:60", "15.01.2025 25:00"])
def test_timestamp_impossible_time(text):
    with pytest.raises(ValueParseError, match="invalid date"):
        parse_timestamp(text, "UTC", "en-US")


def test_timestamp_offset_out_of_range():
    with pytest.raises(ValueParseError, match=r"offset \+24:00 is out of range"):
        parse_timestamp("2025-01-15T10:30+24:00", "UTC", "en-US")


@pytest.mark.parametrize("text", ["01/02/25", "15.01.25", "15.01.25 10:30", "25-01-15"])
def test_timestamp_two_digit_year(text):
    with pytest.raises(ValueParseError, match="two-digit years are ambiguous"):
        parse_timestamp(text, "UTC", "en-US")


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2025", "2025-1-5", "15 Jan 2025", "1737000000", "2025-01-15T10"],
)
def test_timestamp_unknown_format(text):
    with pytest.raises(ValueParseError) as caught:
        parse_timestamp(text, "UTC", "en-US")

    assert f"invalid date {text!r}: expected one of YYYYMMDD, YYYY-MM-DD" in str(caught.value)


def test_timestamp_message_names_slash_order():
    with pytest.raises(
        ValueParseError, match=r"DD/MM/YYYY \[HH:MM\[:SS\]\] \(day first in en-GB\)"
    ):
        parse_timestamp("soon", "UTC", "en-GB")


def test_timestamp_dst_gap_offset_before():
    result = parse_timestamp("2025-03-30 02:30", "Europe/Berlin", "de-DE")

    assert result == utc(2025, 3, 30, 1, 30)


def test_timestamp_unknown_zone():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'") as caught:
        parse_timestamp("2025-01-15", "Mars/Base", "en-US")

    assert not isinstance(caught.value, ValueParseError)


# Refund flags


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "Y", "refund", "Return", " yes "])
def test_refund_flag_true(text):
    assert parse_refund_flag(text) is True


@pytest.mark.parametrize("text", ["0", "false", "False", "no", "N", "", "  "])
def test_refund_flag_false(text):
    assert parse_refund_flag(text) is False


@pytest.mark.parametrize("text", ["2", "maybe", "-1", "ja"])
def test_refund_flag_invalid(text):
    with pytest.raises(ValueParseError, match=f"invalid refund flag '{text}'"):
        parse_refund_flag(text)


# Currencies


@pytest.mark.parametrize(("text", "expected"), [("EUR", "EUR"), ("usd", "USD"), (" jpy ", "JPY")])
def test_currency_valid(text, expected):
    assert parse_currency(text) == expected


@pytest.mark.parametrize("text", ["", "EURO", "XYZ", "€", "US"])
def test_currency_invalid(text):
    with pytest.raises(ValueParseError, match="expected an ISO 4217 code"):
        parse_currency(text)
