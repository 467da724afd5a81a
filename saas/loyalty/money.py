"""Money in integer minor units: currency exponents, conversion to the base currency, display.

Amounts are stored as integers of the currency's minor unit (cents, fils, yen) and turned
into exact ``Decimal`` values only for arithmetic and display. Exponents come from the
CLDR data that Babel ships, so KWD has 3 decimal places and JPY none.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, is_currency

# Significant digits of intermediate results. At this precision, a 64-bit amount divided by
# a rate of up to 40 characters rounds to the same minor unit as the exact quotient.
DECIMAL_PRECISION = 100


def currency_exponent(code: str) -> int:
    """Return the number of decimal places of the currency's minor unit (JPY 0, KWD 3)."""
    if not isinstance(code, str):
        raise ValueError(f"unknown currency code {code!r}: expected an ISO 4217 code")
    return _exponent(code)


@functools.lru_cache(maxsize=512)
def _exponent(code: str) -> int:
    # Babel returns 2 for any code it does not know, so check the code first.
    if not is_currency(code):
        raise ValueError(
            f"unknown currency code {code!r}: expected an ISO 4217 code in upper case, "
            "such as EUR, USD or JPY"
        )
    return get_currency_precision(code)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Convert minor units to an exact amount in major units (2755 KWD fils → 2.755)."""
    _check_minor(amount_minor)
    exponent = currency_exponent(currency)
    # A Decimal built from a tuple is exact, because no context precision or rounding applies.
    sign = 1 if amount_minor < 0 else 0
    digits = tuple(int(digit) for digit in str(abs(amount_minor)))
    return Decimal((sign, digits, -exponent))


def to_minor(amount: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> int:
    """Round an amount in major units to whole minor units of the currency."""
    number = _check_decimal(amount, "amount")
    exponent = currency_exponent(currency)
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        minor = number.scaleb(exponent).quantize(Decimal(1), rounding=rounding)
    return int(minor)


def convert_to_base(amount_minor: int, currency: str, base_currency: str, rate: Decimal) -> int:
    """Convert minor units of ``currency`` to minor units of the base currency.

    ``rate`` is the number of ``currency`` units per one base-currency unit, as stored
    (for a EUR base, JPY 160.25). The amount is divided by that rate, never multiplied by a
    rounded reciprocal, then rounded half to even to the base currency's minor unit.
    """
    _check_minor(amount_minor)
    currency_exponent(currency)
    currency_exponent(base_currency)
    number = _check_decimal(rate, "exchange rate")
    if number <= 0:
        raise ValueError(
            f"invalid exchange rate {rate!r} for {currency}: expected a positive number of "
            f"{currency} per 1 {base_currency}"
        )
    if currency == base_currency:
        if number != 1:
            raise ValueError(f"invalid exchange rate {rate!r} for {currency} to itself: expected 1")
        return amount_minor
    with localcontext() as context:
        context.prec = DECIMAL_PRECISION
        base_major = to_major(amount_minor, currency) / number
    return to_minor(base_major, base_currency, ROUND_HALF_EVEN)


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """Format minor units for display in a locale, such as 1.234,56 € in de_DE."""
    amount = to_major(amount_minor, currency)
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError, AttributeError):
        raise ValueError(
            f"unknown locale {locale!r}: expected a locale tag such as en_US or de-DE"
        ) from None
    return format_currency(amount, currency, locale=parsed)


@dataclass(frozen=True)
class Money:
    """An amount in integer minor units of a currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        _check_minor(self.amount_minor)
        currency_exponent(self.currency)

    @property
    def major(self) -> Decimal:
        """The exact amount in major units."""
        return to_major(self.amount_minor, self.currency)

    def as_json(self) -> dict:
        """Return the JSON form, with the amount in minor units."""
        return {"amount_minor": self.amount_minor, "currency": self.currency}


def _check_minor(amount_minor: int) -> None:
    # bool is a subclass of int, and True must not pass as 1 cent.
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise ValueError(
            f"invalid amount {amount_minor!r}: expected a whole number of minor units "
            "such as 2933 for 29.33"
        )


def _check_decimal(value: Decimal, label: str) -> Decimal:
    """Return ``value`` as a finite Decimal, accepting ints but not inexact floats."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(
            f"invalid {label} {value!r}: expected a Decimal such as Decimal('160.25') or an int"
        )
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"invalid {label} {value!r}: expected a finite number")
    return number
