"""Tests for minor-unit money arithmetic, conversion to the base currency and formatting."""

from dataclasses import FrozenInstanceError
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from saas.loyalty.money import (
    Money,
    convert_to_base,
    currency_exponent,
    format_money,
    to_major,
    to_minor,
)

# Exponents


@pytest.mark.parametrize(
    ("code", "expected"),
    [("JPY", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("INR", 2)],
)
def test_exponent_of_known_currency(code, expected):
    assert currency_exponent(code) == expected


def test_exponent_unknown_code_raises():
    with pytest.raises(ValueError, match="'ZZZ'"):
        currency_exponent("ZZZ")


def test_exponent_lowercase_code_raises():
    with pytest.raises(ValueError, match="'eur'"):
        currency_exponent("eur")


# to_major and to_minor


def test_to_major_kwd_exact():
    amount = to_major(2755, "KWD")
    assert amount == Decimal("2.755")
    assert str(amount) == "2.755"


def test_to_major_keeps_currency_places():
    assert str(to_major(100000, "INR")) == "1000.00"


def test_to_major_jpy_whole_units():
    assert str(to_major(500, "JPY")) == "500"


def test_to_major_negative_amount():
    assert to_major(-5, "EUR") == Decimal("-0.05")


def test_to_major_huge_amount_exact():
    assert to_major(2**63 - 1, "EUR") == Decimal("92233720368547758.07")


@pytest.mark.parametrize("amount", [1.5, True, "100"])
def test_to_major_rejects_non_int(amount):
    with pytest.raises(ValueError, match="minor units"):
        to_major(amount, "EUR")


def test_to_minor_kwd():
    assert to_minor(Decimal("2.755"), "KWD") == 2755


def test_to_minor_half_even_default():
    assert to_minor(Decimal("0.125"), "EUR") == 12
    assert to_minor(Decimal("0.135"), "EUR") == 14


def test_to_minor_custom_rounding():
    assert to_minor(Decimal("0.125"), "EUR", ROUND_HALF_UP) == 13


def test_to_minor_jpy_rounds_to_yen():
    assert to_minor(Decimal("624.5"), "JPY") == 624


def test_to_minor_rejects_float():
    with pytest.raises(ValueError, match="Decimal"):
        to_minor(0.1, "EUR")


# convert_to_base


def test_convert_jpy_to_eur():
    # 1000 / 160.25 = 6.2402..., so 6.24 EUR.
    assert convert_to_base(1000, "JPY", "EUR", Decimal("160.25")) == 624


def test_convert_large_amount_exact():
    # 1,000,000 / 160.25 = 6240.2496...; a reciprocal rounded to 0.0062 would give 6200.00.
    assert convert_to_base(1_000_000, "JPY", "EUR", Decimal("160.25")) == 624025


def test_convert_kwd_to_eur():
    # 2.755 / 0.33 = 8.3484...
    assert convert_to_base(2755, "KWD", "EUR", Decimal("0.33")) == 835


def test_convert_eur_to_jpy_base():
    # 1.00 / 0.00624 = 160.256...
    assert convert_to_base(100, "EUR", "JPY", Decimal("0.00624")) == 160


def test_convert_rounds_half_even():
    assert convert_to_base(1, "USD", "EUR", Decimal(2)) == 0
    assert convert_to_base(3, "USD", "EUR", Decimal(2)) == 2


def test_convert_zero_amount():
    assert convert_to_base(0, "JPY", "EUR", Decimal("160.25")) == 0


def test_convert_same_currency_unchanged():
    assert convert_to_base(1234, "EUR", "EUR", Decimal(1)) == 1234


def test_convert_same_currency_accepts_one_point_zero():
    assert convert_to_base(1234, "EUR", "EUR", Decimal("1.00")) == 1234


def test_convert_same_currency_other_rate():
    with pytest.raises(ValueError, match="expected 1"):
        convert_to_base(1234, "EUR", "EUR", Decimal(2))


@pytest.mark.parametrize("rate", [Decimal(0), Decimal("-160.25")])
def test_convert_rejects_non_positive_rate(rate):
    with pytest.raises(ValueError, match="positive"):
        convert_to_base(1000, "JPY", "EUR", rate)


@pytest.mark.parametrize("rate", [Decimal("NaN"), Decimal("Infinity")])
def test_convert_rejects_non_finite_rate(rate):
    with pytest.raises(ValueError, match="finite"):
        convert_to_base(1000, "JPY", "EUR", rate)


def test_convert_rejects_float_rate():
    with pytest.raises(ValueError, match="Decimal"):
        convert_to_base(1000, "JPY", "EUR", 160.25)


def test_convert_rejects_unknown_base():
    with pytest.raises(ValueError, match="'ZZZ'"):
        convert_to_base(1000, "JPY", "ZZZ", Decimal("160.25"))


@given(
    amount_minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(["JPY", "USD", "KWD"]),
    base=st.sampled_from(["EUR", "JPY", "KWD"]),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100000), places=6),
)
def test_convert_matches_exact_division(amount_minor, currency, base, rate):
    assume(currency != base)
    exact = Fraction(amount_minor, 10 ** currency_exponent(currency)) / Fraction(rate)
    expected = round(exact * 10 ** currency_exponent(base))  # round() of a Fraction is half-even
    assert convert_to_base(amount_minor, currency, base, rate) == expected


# format_money


@pytest.mark.parametrize(
    ("amount_minor", "currency", "locale", "expected"),
    [
        (123456, "EUR", "en_US", "€1,234.56"),
        (2933, "USD", "en_US", "$29.33"),
        (123456, "EUR", "de_DE", "1.234,56\xa0€"),
        (123456, "EUR", "de-DE", "1.234,56\xa0€"),
        (1235, "JPY", "ja_JP", "￥1,235"),
        (2755, "KWD", "en_US", "KWD2.755"),
        (50, "EUR", "de_DE", "0,50\xa0€"),
    ],
)
def test_format_money_in_locale(amount_minor, currency, locale, expected):
    assert format_money(amount_minor, currency, locale) == expected


def test_format_money_unknown_locale():
    with pytest.raises(ValueError, match="'xx_YY'"):
        format_money(100, "EUR", "xx_YY")


# Money


def test_money_as_json():
    assert Money(2933, "USD").as_json() == {"amount_minor": 2933, "currency": "USD"}


def test_money_major_amount():
    assert Money(2755, "KWD").major == Decimal("2.755")


def test_money_rejects_unknown_currency():
    with pytest.raises(ValueError, match="'XYZ'"):
        Money(100, "XYZ")


def test_money_is_frozen():
    money = Money(100, "EUR")
    with pytest.raises(FrozenInstanceError):
        money.amount_minor = 200
