"""Earn rules as data: parsing and validation of rule mappings, and their stored JSON form.

A rule arrives as a mapping from a YAML manifest, the console or an ``earn_rule`` row.
``parse_rule`` turns it into a frozen ``RuleSpec`` or raises ``RuleError`` naming the key
path, the rejected value and what is allowed. ``saas.loyalty.evaluator`` applies the specs.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from saas.loyalty.models import EarnRule

STACKING = ("stack", "exclusive")
# down rounds toward zero like ROUND_DOWN, the others like ROUND_HALF_UP and ROUND_HALF_EVEN.
ROUNDING = ("down", "half_up", "half_even")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTION_TYPES = ("points_per_amount", "multiplier", "bonus", "cap")
RULE_KEYS = (
    "code", "name", "priority", "stacking", "rounding", "valid_from", "valid_until",
    "active", "conditions", "actions",
)  # fmt: skip
LIST_CONDITIONS = ("channels", "partners", "categories", "tiers", "segments")
CONDITION_KEYS = (*LIST_CONDITIONS, "amount_min", "amount_max", "days", "hours")
# Same default as the earn_rule.priority column.
DEFAULT_PRIORITY = 100
# Limits of the earn_rule columns: code is String(64), name String(200), priority a 32-bit int.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_NAME_LENGTH = 200
PRIORITY_RANGE = (-(2**31), 2**31 - 1)
# Points columns are 64-bit integers.
MAX_POINTS = 2**63 - 1
# Bounds of every decimal in a rule. They keep the evaluator's exact fractions small.
DECIMAL_LIMIT = 10**15
MAX_DECIMAL_PLACES = 12
TIME_PATTERN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class RuleError(ValueError):
    """An invalid earn rule, with the key path and the value that failed."""

    def __init__(self, path: str, value: Any, expected: str, problem: str | None = None) -> None:
        self.path = path
        self.value = value
        self.expected = expected
        problem = problem or f"invalid value {reprlib.repr(value)}"
        super().__init__(f"{path}: {problem}: expected {expected}")


@dataclass(frozen=True)
class Hours:
    """A daily window in local time, from ``start`` up to but not including ``end``.

    An ``end`` before ``start`` wraps past midnight.
    """

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Return whether a local wall-clock time falls inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def to_json(self) -> dict:
        """Return the stored form, such as {"from": "06:00", "to": "10:00"}."""
        return {"from": self.start.strftime("%H:%M"), "to": self.end.strftime("%H:%M")}


@dataclass(frozen=True)
class Conditions:
    """Order conditions of a rule. An empty field accepts every order."""

    channels: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    days: tuple[str, ...] = ()
    hours: Hours | None = None
    tiers: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """Return the stored form, with only the conditions that are set."""
        result: dict[str, Any] = {key: list(getattr(self, key)) for key in LIST_CONDITIONS}
        result["days"] = list(self.days)
        result = {key: value for key, value in result.items() if value}
        if self.amount_min is not None:
            result["amount_min"] = _json_number(self.amount_min)
        if self.amount_max is not None:
            result["amount_max"] = _json_number(self.amount_max)
        if self.hours is not None:
            result["hours"] = self.hours.to_json()
        return result


class _StoredAction:
    """Mixin for the stored form of an action: its type, then its fields."""

    type: ClassVar[str]

    def to_json(self) -> dict:
        """Return the stored form, such as {"type": "bonus", "points": 50}."""
        fields = {key: _json_number(value) for key, value in asdict(self).items()}
        return {"type": self.type, **fields}


@dataclass(frozen=True)
class PointsPerAmount(_StoredAction):
    """``points`` for each ``per`` base-currency major units of the order, pro rata."""

    points: Decimal
    per: Decimal
    type: ClassVar[str] = "points_per_amount"


@dataclass(frozen=True)
class Multiplier(_StoredAction):
    """Adds (factor - 1) times the points of earlier applied rules and of this rule so far."""

    factor: Decimal
    type: ClassVar[str] = "multiplier"


@dataclass(frozen=True)
class Bonus(_StoredAction):
    """A fixed number of points."""

    points: int
    type: ClassVar[str] = "bonus"


@dataclass(frozen=True)
class Cap(_StoredAction):
    """Maximum points of the whole order, enforced after the tier multiplier."""

    points: int
    type: ClassVar[str] = "cap"


Action = PointsPerAmount | Multiplier | Bonus | Cap


@dataclass(frozen=True)
class RuleSpec:
    """A validated earn rule."""

    code: str
    name: str
    actions: tuple[Action, ...]
    priority: int = DEFAULT_PRIORITY
    stacking: str = "stack"
    rounding: str = "down"
    conditions: Conditions = field(default_factory=Conditions)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    active: bool = True

    @classmethod
    def from_model(cls, row: EarnRule) -> RuleSpec:
        """Parse an ``earn_rule`` row, raising RuleError if its stored JSON is invalid."""
        data = {key: getattr(row, key) for key in RULE_KEYS}
        return parse_rule(data, path=f"earn_rule[{row.code!r}]")

    def to_json(self) -> dict:
        """Return the mapping that ``parse_rule`` accepts, as the earn_rule columns store it."""
        return {
            "code": self.code,
            "name": self.name,
            "priority": self.priority,
            "stacking": self.stacking,
            "rounding": self.rounding,
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
            "active": self.active,
            "conditions": self.conditions.to_json(),
            "actions": [action.to_json() for action in self.actions],
        }


def parse_rules(items: Sequence[Mapping], path: str = "earn_rules") -> tuple[RuleSpec, ...]:
    """Parse a list of rules, raising RuleError on the first invalid one or a repeated code."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise RuleError(path, items, "a list of rules")
    specs: list[RuleSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        spec = parse_rule(item, f"{path}[{index}]")
        if spec.code in seen:
            raise RuleError(
                f"{path}[{index}].code", spec.code, "a code that no other rule of the brand uses"
            )
        seen.add(spec.code)
        specs.append(spec)
    return tuple(specs)


def parse_rule(data: Mapping, path: str = "rule") -> RuleSpec:
    """Validate a rule mapping and return its RuleSpec, treating keys set to None as absent."""
    _check_keys(data, RULE_KEYS, path)
    code = _required(data, "code", path)
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise RuleError(f"{path}.code", code, "1-64 letters, digits, '-' or '_'")
    name = _required(data, "name", path)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        expected = f"a non-blank name of at most {MAX_NAME_LENGTH} characters"
        raise RuleError(f"{path}.name", name, expected)
    valid_from = _moment(data.get("valid_from"), f"{path}.valid_from")
    valid_until = _moment(data.get("valid_until"), f"{path}.valid_until")
    if valid_from is not None and valid_until is not None and valid_from >= valid_until:
        expected = f"a time after valid_from {valid_from.isoformat()}"
        raise RuleError(f"{path}.valid_until", data["valid_until"], expected)
    return RuleSpec(
        code=code,
        name=name,
        priority=_priority(data.get("priority"), f"{path}.priority"),
        stacking=_choice(data.get("stacking", "stack"), STACKING, f"{path}.stacking"),
        rounding=_choice(data.get("rounding", "down"), ROUNDING, f"{path}.rounding"),
        conditions=_conditions(data.get("conditions"), f"{path}.conditions"),
        actions=_actions(_required(data, "actions", path), f"{path}.actions"),
        valid_from=valid_from,
        valid_until=valid_until,
        active=_flag(data.get("active"), f"{path}.active"),
    )


def _conditions(data: Any, path: str) -> Conditions:
    if data is None:
        return Conditions()
    _check_keys(data, CONDITION_KEYS, path)
    lists = {key: _names(data.get(key), f"{path}.{key}") for key in LIST_CONDITIONS}
    days = _names(data.get("days"), f"{path}.days")
    for index, day in enumerate(days):
        if day not in DAYS:
            raise RuleError(f"{path}.days[{index}]", day, f"a day name: {', '.join(DAYS)}")
    amount_min = _optional_amount(data, "amount_min", path, "5.00")
    amount_max = _optional_amount(data, "amount_max", path, "100.00")
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        expected = f"at most amount_max {amount_max}"
        raise RuleError(f"{path}.amount_min", data["amount_min"], expected)
    hours = _hours(data.get("hours"), f"{path}.hours")
    return Conditions(**lists, amount_min=amount_min, amount_max=amount_max, days=days, hours=hours)


def _actions(data: Any, path: str) -> tuple[Action, ...]:
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Sequence) or not data:
        expected = "a non-empty list of actions such as [{type: bonus, points: 50}]"
        raise RuleError(path, data, expected)
    return tuple(_action(item, f"{path}[{index}]") for index, item in enumerate(data))


def _action(data: Any, path: str) -> Action:
    if not isinstance(data, Mapping):
        raise RuleError(path, data, "a mapping with a type key, such as {type: bonus, points: 50}")
    kind = _choice(_required(data, "type", path), ACTION_TYPES, f"{path}.type")
    if kind == "points_per_amount":
        _check_keys(data, ("type", "points", "per"), path)
        points = _required(data, "points", path)
        points = _decimal(points, f"{path}.points", "1", 0, inclusive=False)
        per = _decimal(data.get("per", "1"), f"{path}.per", "1.00", 0, inclusive=False)
        return PointsPerAmount(points=points, per=per)
    if kind == "multiplier":
        _check_keys(data, ("type", "factor"), path)
        factor = _decimal(_required(data, "factor", path), f"{path}.factor", "2", 1, inclusive=True)
        return Multiplier(factor=factor)
    _check_keys(data, ("type", "points"), path)
    points_path = f"{path}.points"
    points = _required(data, "points", path)
    if kind == "bonus":
        return Bonus(points=_whole(points, points_path, minimum=1))
    return Cap(points=_whole(points, points_path, minimum=0))


def _hours(data: Any, path: str) -> Hours | None:
    if data is None:
        return None
    _check_keys(data, ("from", "to"), path)
    start = _time(_required(data, "from", path), f"{path}.from")
    end = _time(_required(data, "to", path), f"{path}.to")
    if start == end:
        expected = "a time other than 'from'; leave out hours to accept every time of day"
        raise RuleError(f"{path}.to", data["to"], expected)
    return Hours(start=start, end=end)


def _check_keys(data: Any, allowed: tuple[str, ...], path: str) -> None:
    if not isinstance(data, Mapping):
        raise RuleError(path, data, f"a mapping with the keys {', '.join(allowed)}")
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RuleError(
            f"{path}.{key}", key, f"one of {', '.join(allowed)}{hint}", f"unknown key {key!r}"
        )


def _required(data: Mapping, key: str, path: str) -> Any:
    value = data.get(key)
    if value is None:
        raise RuleError(f"{path}.{key}", None, f"a value for {key!r}", "missing value")
    return value


def _choice(value: Any, choices: tuple[str, ...], path: str) -> str:
    if value is None:
        return choices[0]
    if value not in choices:
        raise RuleError(path, value, f"one of {', '.join(choices)}")
    return value


def _priority(value: Any, path: str) -> int:
    if value is None:
        return DEFAULT_PRIORITY
    low, high = PRIORITY_RANGE
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(path, value, f"a whole number from {low} to {high}; lower runs first")
    return value


def _flag(value: Any, path: str) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        raise RuleError(path, value, "true or false")
    return value


def _names(value: Any, path: str) -> tuple[str, ...]:
    """Return the distinct strings of a list condition, in their given order."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence) or not value:
        expected = "a non-empty list of codes such as [web, store]; leave the key out to accept all"
        raise RuleError(path, value, expected)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise RuleError(f"{path}[{index}]", item, "a non-empty code such as web")
    return tuple(dict.fromkeys(value))


def _decimal(value: Any, path: str, example: str, minimum: int, *, inclusive: bool) -> Decimal:
    """Parse a decimal string or number above ``minimum``, or equal to it when ``inclusive``."""
    if inclusive:
        expected = f'a decimal number of {minimum} or more such as "{example}"'
    else:
        expected = f'a decimal number greater than {minimum} such as "{example}"'
    if minimum == 0 and not inclusive:
        expected = f'a positive decimal number such as "{example}"'
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise RuleError(path, value, expected)
    try:
        # str() of a float is its shortest round-trip repr, so 5.1 becomes Decimal("5.1").
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleError(path, value, expected) from None
    if not number.is_finite():
        raise RuleError(path, value, expected)
    if abs(number) >= DECIMAL_LIMIT or _decimal_places(number) > MAX_DECIMAL_PLACES:
        limits = f"below {DECIMAL_LIMIT:,} with at most {MAX_DECIMAL_PLACES} decimal places"
        raise RuleError(path, value, f"{expected}, {limits}")
    if number < minimum or (number == minimum and not inclusive):
        raise RuleError(path, value, expected)
    return number


def _optional_amount(data: Mapping, key: str, path: str, example: str) -> Decimal | None:
    value = data.get(key)
    if value is None:
        return None
    return _decimal(value, f"{path}.{key}", example, 0, inclusive=True)


def _whole(value: Any, path: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_POINTS:
        raise RuleError(path, value, f"a whole number of points from {minimum} to {MAX_POINTS}")
    return value


def _time(value: Any, path: str) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 10:00 as the base-60 number 600.
        expected = 'a quoted time such as "10:00", because YAML reads an unquoted 10:00 as 600'
        raise RuleError(path, value, expected)
    match = TIME_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise RuleError(path, value, 'a 24-hour time HH:MM such as "06:00"')
    return time(int(match[1]), int(match[2]))


def _moment(value: Any, path: str) -> datetime | None:
    """Parse an aware datetime or ISO 8601 string and return it in UTC."""
    if value is None:
        return None
    expected = "a date and time with a UTC offset, such as 2025-01-01T00:00:00Z"
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RuleError(path, value, expected) from None
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        # A bare date is rejected too, because when it starts depends on the time zone.
        raise RuleError(path, value, expected)
    return moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _decimal_places(number: Decimal) -> int:
    """Return the decimal places of a finite number, ignoring trailing zeros (1.50 has 1)."""
    _, digits, exponent = number.as_tuple()
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient:
        return 0
    return max(0, -(exponent + len(digits) - len(coefficient)))


def _json_number(value: int | Decimal) -> int | str:
    """Return a whole Decimal as a JSON number, and any other as a string, to avoid floats."""
    if isinstance(value, Decimal) and value.as_tuple().exponent != 0:
        return str(value)
    return int(value)
