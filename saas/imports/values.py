"""Parse the cells of a transaction file strictly, in the conventions of one locale.

Strict parsing rejects a value rather than guess, because a guess such as reading
"25.00" as 2500 in a German file would credit the wrong number of points.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Callable
from decimal import Decimal

import babel
import babel.dates
import babel.numbers

# Largest amount in minor units that fits a signed 64-bit integer (PostgreSQL bigint).
MAX_MINOR_UNITS = 2**63 - 1

# Group symbols that people type in place of the locale's own: a plain space for the
# no-break spaces, and the straight and typographic apostrophes for each other.
GROUP_SYMBOL_VARIANTS: dict[str, tuple[str, ...]] = {
    "\u00a0": ("\u00a0", "\u202f", " "),
    "\u202f": ("\u202f", "\u00a0", " "),
    "'": ("'", "\u2019"),
    "\u2019": ("\u2019", "'"),
}

MINUS_SIGNS = ("-", "\u2212")

TRUE_FLAGS = frozenset({"1", "true", "yes", "y", "refund", "return"})
FALSE_FLAGS = frozenset({"", "0", "false", "no", "n"})

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
_ISO_TIME = (
    r"(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_COMPACT_DATE = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")
_ISO_DATE_TIME = re.compile(
    rf"(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})(?:[Tt ]{_ISO_TIME})?"
)
_DOTTED_DATE = re.compile(
    rf"(?P<day>\d{{1,2}})\.(?P<month>\d{{1,2}})\.(?P<year>\d{{4}})(?: {_TIME})?"
)
_SLASH_DATE = re.compile(
    rf"(?P<first>\d{{1,2}})/(?P<second_part>\d{{1,2}})/(?P<year>\d{{4}})(?: {_TIME})?"
)
_YEAR_FIRST_SLASH_DATE = re.compile(
    rf"(?P<year>\d{{4}})/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})(?: {_TIME})?"
)
_TWO_DIGIT_YEAR = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2}(?:\s.*)?")
_DATE_PATTERN_LITERAL = re.compile(r"'[^']*'")


class ValueParseError(ValueError):
    """A cell value is invalid. The message names the value and the expected format."""


# Amounts


def parse_amount(text: str, locale: str, currency: str) -> int:
    """Parse an amount written in the locale and return it in the currency's minor units.

    The decimal and group symbols are those of the locale. Group symbols must sit in the
    locale's positions or be left out. The number of decimals may not exceed the
    currency's exponent (2 for EUR, 0 for JPY, 3 for KWD). Raises ValueParseError for
    negative numbers, currency symbols and anything else that is not such a number.
    """
    code = parse_currency(currency)
    exponent = babel.numbers.get_currency_precision(code)
    value = text.strip()
    expected = f"expected a number written like {_amount_example(locale)} in {locale}"

    if not value:
        raise ValueParseError(f"missing amount: the cell is empty; {expected}")
    if value.startswith(MINUS_SIGNS) or value.endswith(MINUS_SIGNS):
        raise ValueParseError(
            f"invalid amount {text!r}: negative amounts are not allowed; write the amount "
            "as a positive number and mark the row as a refund in the refund column"
        )
    match = _amount_pattern(locale).fullmatch(value)
    if match is None:
        raise ValueParseError(f"invalid amount {text!r}: {expected}{_symbol_hint(value)}")

    integer_digits = re.sub(r"[^0-9]", "", match["integer"])
    fraction_digits = match["fraction"] or ""
    if len(fraction_digits) > exponent:
        allowed = f"at most {exponent} decimal places" if exponent else "no decimal places"
        raise ValueParseError(f"invalid amount {text!r}: {code} amounts have {allowed}")

    minor_units = int(integer_digits + fraction_digits.ljust(exponent, "0"))
    if minor_units > MAX_MINOR_UNITS:
        raise ValueParseError(f"invalid amount {text!r}: the amount is too large")
    return minor_units


@functools.lru_cache(maxsize=64)
def _amount_pattern(locale: str) -> re.Pattern[str]:
    """Return the regular expression for a positive decimal number in the locale.

    The integer part is either plain digits or fully grouped, with groups sized by the
    locale's number pattern (3 in most locales, 3 then 2 in en-IN).
    """
    parsed = _load_locale(locale)
    decimal = re.escape(babel.numbers.get_decimal_symbol(parsed))
    group_symbol = babel.numbers.get_group_symbol(parsed)
    variants = GROUP_SYMBOL_VARIANTS.get(group_symbol, (group_symbol,))
    group = "[" + "".join(re.escape(symbol) for symbol in variants) + "]"

    primary, secondary = parsed.decimal_formats[None].grouping
    grouped = rf"[0-9]{{1,{secondary}}}(?:{group}[0-9]{{{secondary}}})*{group}[0-9]{{{primary}}}"
    return re.compile(rf"(?P<integer>[0-9]+|{grouped})(?:{decimal}(?P<fraction>[0-9]+))?")


@functools.lru_cache(maxsize=64)
def _amount_example(locale: str) -> str:
    return babel.numbers.format_decimal(Decimal("1234.56"), locale=_load_locale(locale))


def _symbol_hint(value: str) -> str:
    if any(unicodedata.category(character) == "Sc" for character in value):
        return "; remove the currency symbol"
    return ""


# Dates and times


def parse_timestamp(text: str, timezone: str, locale: str) -> dt.datetime:
    """Parse a date or date-time and return it as an aware datetime in UTC.

    Values without an offset are local time in ``timezone`` (an IANA name such as
    Europe/Berlin), and a date alone means local midnight. Slash dates with the year
    last follow the locale's short date order, so 03/04/2025 is March 4 in en-US and
    3 April in en-GB. Raises ValueParseError for two-digit years, impossible dates and
    formats not listed in the message.

    NOTE: a local time that falls in a daylight saving gap is read with the offset in
    force before the change, and a repeated local time is read as its first occurrence.
    """
    zone = _load_zone(timezone)
    value = text.strip()
    for pattern, build in _timestamp_parsers(locale):
        match = pattern.fullmatch(value)
        if match is not None:
            local = _build_datetime(text, match, build)
            if local.tzinfo is None:
                local = local.replace(tzinfo=zone)
            return _to_utc(text, local)

    if _TWO_DIGIT_YEAR.fullmatch(value):
        raise ValueParseError(
            f"invalid date {text!r}: two-digit years are ambiguous; write the year with four digits"
        )
    raise ValueParseError(f"invalid date {text!r}: expected one of {_accepted_formats(locale)}")


DateBuilder = Callable[[re.Match[str]], dt.datetime]


def _build_datetime(text: str, match: re.Match[str], build: DateBuilder) -> dt.datetime:
    try:
        return build(match)
    except ValueError as error:
        raise ValueParseError(
            f"invalid date {text!r}: {error}; check the day, month and time"
        ) from error


def _to_utc(text: str, local: dt.datetime) -> dt.datetime:
    try:
        return local.astimezone(dt.UTC)
    except OverflowError as error:
        raise ValueParseError(f"invalid date {text!r}: the year is out of range") from error


@functools.lru_cache(maxsize=64)
def _timestamp_parsers(locale: str) -> list[tuple[re.Pattern[str], DateBuilder]]:
    slash_builder = _month_first_slash if _is_month_first(locale) else _day_first_slash
    return [
        (_COMPACT_DATE, _from_named_groups),
        (_ISO_DATE_TIME, _from_named_groups),
        (_DOTTED_DATE, _from_named_groups),
        (_YEAR_FIRST_SLASH_DATE, _from_named_groups),
        (_SLASH_DATE, slash_builder),
    ]


def _from_named_groups(match: re.Match[str]) -> dt.datetime:
    """Build a datetime from the year, month, day and optional time groups of a match."""
    groups = match.groupdict()
    fraction = (groups.get("fraction") or "").ljust(6, "0")[:6]
    return dt.datetime(
        int(groups["year"]),
        int(groups["month"]),
        int(groups["day"]),
        int(groups.get("hour") or 0),
        int(groups.get("minute") or 0),
        int(groups.get("second") or 0),
        int(fraction),
        tzinfo=_parse_offset(groups.get("offset")),
    )


def _month_first_slash(match: re.Match[str]) -> dt.datetime:
    return _with_date_parts(match, month=match["first"], day=match["second_part"])


def _day_first_slash(match: re.Match[str]) -> dt.datetime:
    return _with_date_parts(match, month=match["second_part"], day=match["first"])


def _with_date_parts(match: re.Match[str], month: str, day: str) -> dt.datetime:
    return dt.datetime(
        int(match["year"]),
        int(month),
        int(day),
        int(match["hour"] or 0),
        int(match["minute"] or 0),
        int(match["second"] or 0),
    )


def _parse_offset(offset: str | None) -> dt.tzinfo | None:
    """Return the fixed offset of "Z", "+HH", "+HHMM" or "+HH:MM", or None without one."""
    if not offset:
        return None
    if offset in ("Z", "z"):
        return dt.UTC
    digits = offset[1:].replace(":", "")
    delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if delta >= dt.timedelta(hours=24) or int(digits[2:] or 0) >= 60:
        raise ValueError(f"the offset {offset} is out of range")
    return dt.timezone(-delta if offset[0] == "-" else delta)


@functools.lru_cache(maxsize=64)
def _is_month_first(locale: str) -> bool:
    """Return True when the month comes before the day in the locale's short date format."""
    pattern = babel.dates.get_date_format("short", locale=_load_locale(locale)).pattern
    pattern = _DATE_PATTERN_LITERAL.sub("", pattern)
    month = min((pattern.find(letter) for letter in "ML" if letter in pattern), default=-1)
    day = pattern.find("d")
    return 0 <= month < day


def _accepted_formats(locale: str) -> str:
    if _is_month_first(locale):
        slash = f"MM/DD/YYYY [HH:MM[:SS]] (month first in {locale})"
    else:
        slash = f"DD/MM/YYYY [HH:MM[:SS]] (day first in {locale})"
    return (
        "YYYYMMDD, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] with an optional Z or +HH:MM offset, "
        f"DD.MM.YYYY [HH:MM[:SS]], YYYY/MM/DD [HH:MM[:SS]], {slash}"
    )


@functools.lru_cache(maxsize=64)
def _load_zone(timezone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {timezone!r}; use an IANA name such as Europe/Berlin"
        ) from error


# Flags and codes


def parse_refund_flag(text: str) -> bool:
    """Return True for 1, true, yes, y, refund or return, and False for 0, false, no, n or empty."""
    value = text.strip().lower()
    if value in TRUE_FLAGS:
        return True
    if value in FALSE_FLAGS:
        return False
    raise ValueParseError(
        f"invalid refund flag {text!r}: expected yes, no, true, false, 1, 0, refund, "
        "return or an empty cell"
    )


def parse_currency(text: str) -> str:
    """Return the ISO 4217 code in upper case, or raise ValueParseError if Babel lacks it."""
    code = text.strip().upper()
    if code not in _known_currencies():
        raise ValueParseError(
            f"invalid currency {text!r}: expected an ISO 4217 code such as EUR, USD or JPY"
        )
    return code


@functools.lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(babel.numbers.list_currencies())


# Locales


@functools.lru_cache(maxsize=64)
def _load_locale(locale: str) -> babel.Locale:
    """Return the Babel locale for a tag such as de-DE or de_DE."""
    try:
        return babel.Locale.parse(locale.replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError) as error:
        raise ValueError(f"unknown locale {locale!r}; use a tag such as de-DE or en-US") from error
