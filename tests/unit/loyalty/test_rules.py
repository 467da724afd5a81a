"""Tests for parsing and validating earn rules, and their stored JSON form."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import yaml

from saas.loyalty.models import EarnRule
from saas.loyalty.rules import (
    Bonus,
    Cap,
    Conditions,
    Hours,
    Multiplier,
    PointsPerAmount,
    RuleError,
    RuleSpec,
    parse_rule,
    parse_rules,
)

UTC = dt.UTC

FULL_RULE = """
code: breakfast
name: "Double points at breakfast"
priority: 10
stacking: exclusive
rounding: half_up
valid_from: 2025-01-01T00:00:00Z
valid_until: 2026-01-01T00:00:00Z
active: true
conditions:
  channels: [web, store]
  partners: [acme]
  categories: [coffee, tea]
  amount_min: "5.00"
  amount_max: 100
  days: [mon, tue, wed, thu, fri]
  hours: {from: "06:00", to: "10:00"}
  tiers: [silver, gold]
  segments: [champions]
actions:
  - {type: points_per_amount, points: 1, per: "1.00"}
  - {type: multiplier, factor: "2"}
  - {type: bonus, points: 50}
  - {type: cap, points: 500}
"""


def minimal(**overrides):
    data = {"code": "base", "name": "Base", "actions": [{"type": "bonus", "points": 5}]}
    data.update(overrides)
    return data


def error_of(data, path="rule"):
    with pytest.raises(RuleError) as caught:
        parse_rule(data, path)
    return caught.value


# Valid rules


def test_minimal_rule_defaults():
    spec = parse_rule(minimal())
    assert spec.priority == 100
    assert spec.stacking == "stack"
    assert spec.rounding == "down"
    assert spec.active is True
    assert spec.conditions == Conditions()
    assert spec.valid_from is None
    assert spec.valid_until is None


def test_full_yaml_rule_fields():
    spec = parse_rule(yaml.safe_load(FULL_RULE))
    assert spec.code == "breakfast"
    assert spec.priority == 10
    assert spec.stacking == "exclusive"
    assert spec.rounding == "half_up"
    assert spec.valid_from == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert spec.valid_until == dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_full_yaml_rule_conditions():
    conditions = parse_rule(yaml.safe_load(FULL_RULE)).conditions
    assert conditions.channels == ("web", "store")
    assert conditions.partners == ("acme",)
    assert conditions.categories == ("coffee", "tea")
    assert conditions.amount_min == Decimal("5.00")
    assert conditions.amount_max == Decimal(100)
    assert conditions.days == ("mon", "tue", "wed", "thu", "fri")
    assert conditions.hours == Hours(dt.time(6), dt.time(10))
    assert conditions.tiers == ("silver", "gold")
    assert conditions.segments == ("champions",)


def test_full_yaml_rule_actions():
    actions = parse_rule(yaml.safe_load(FULL_RULE)).actions
    assert actions == (
        PointsPerAmount(points=Decimal(1), per=Decimal("1.00")),
        Multiplier(factor=Decimal(2)),
        Bonus(points=50),
        Cap(points=500),
    )


def test_per_defaults_to_one():
    spec = parse_rule(minimal(actions=[{"type": "points_per_amount", "points": 2}]))
    assert spec.actions[0].per == Decimal(1)


def test_float_amount_parsed_exactly():
    spec = parse_rule(minimal(conditions={"amount_min": 5.1}))
    assert spec.conditions.amount_min == Decimal("5.1")


def test_fractional_points_per_amount():
    spec = parse_rule(minimal(actions=[{"type": "points_per_amount", "points": "1.5"}]))
    assert spec.actions[0].points == Decimal("1.5")


def test_null_optional_keys_use_defaults():
    spec = parse_rule(minimal(priority=None, active=None, conditions=None, valid_from=None))
    assert spec == parse_rule(minimal())


def test_iso_string_validity_in_utc():
    spec = parse_rule(minimal(valid_from="2025-01-01T01:00:00+01:00"))
    assert spec.valid_from == dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert spec.valid_from.tzinfo is UTC


def test_duplicate_list_entries_removed():
    spec = parse_rule(minimal(conditions={"channels": ["web", "store", "web"]}))
    assert spec.conditions.channels == ("web", "store")


def test_hours_may_wrap_midnight():
    spec = parse_rule(minimal(conditions={"hours": {"from": "22:00", "to": "02:00"}}))
    assert spec.conditions.hours == Hours(dt.time(22), dt.time(2))


def test_parse_rules_keeps_order():
    specs = parse_rules([minimal(code="b"), minimal(code="a")])
    assert [spec.code for spec in specs] == ["b", "a"]


# Stored form


def test_to_json_round_trips():
    spec = parse_rule(yaml.safe_load(FULL_RULE))
    assert parse_rule(spec.to_json()) == spec


def test_to_json_is_json_serialisable():
    stored = parse_rule(yaml.safe_load(FULL_RULE)).to_json()
    assert json.loads(json.dumps(stored)) == stored


def test_to_json_stored_shapes():
    stored = parse_rule(yaml.safe_load(FULL_RULE)).to_json()
    assert stored["valid_from"] == "2025-01-01T00:00:00+00:00"
    assert stored["conditions"]["hours"] == {"from": "06:00", "to": "10:00"}
    assert stored["conditions"]["amount_min"] == "5.00"
    assert stored["actions"][0] == {"type": "points_per_amount", "points": 1, "per": "1.00"}
    assert stored["actions"][1] == {"type": "multiplier", "factor": 2}
    assert stored["actions"][3] == {"type": "cap", "points": 500}


def test_to_json_omits_unset_conditions():
    stored = parse_rule(minimal(conditions={"tiers": ["gold"]})).to_json()
    assert stored["conditions"] == {"tiers": ["gold"]}


def test_from_model_matches_parse():
    data = yaml.safe_load(FULL_RULE)
    row = EarnRule(**data)
    assert RuleSpec.from_model(row) == parse_rule(data)


def test_from_model_unset_columns_default():
    row = EarnRule(code="base", name="Base", actions=[{"type": "bonus", "points": 5}])
    assert RuleSpec.from_model(row) == parse_rule(minimal())


def test_from_model_error_names_row():
    row = EarnRule(code="base", name="Base", actions=[{"type": "bonus", "points": -5}])
    with pytest.raises(RuleError) as caught:
        RuleSpec.from_model(row)
    assert caught.value.path == "earn_rule['base'].actions[0].points"


# Errors: every case names the key path and the rejected value


def test_error_message_format():
    rules = [minimal(code="a"), minimal(code="b"), minimal(code="c")]
    rules[2]["actions"] = [{"type": "points_per_amount", "points": 1, "per": "0"}]
    with pytest.raises(RuleError) as caught:
        parse_rules(rules)
    assert caught.value.path == "earn_rules[2].actions[0].per"
    assert caught.value.value == "0"
    assert str(caught.value) == (
        "earn_rules[2].actions[0].per: invalid value '0': "
        'expected a positive decimal number such as "1.00"'
    )


def test_error_is_value_error():
    assert issubclass(RuleError, ValueError)


def test_error_unknown_top_key():
    error = error_of(minimal(condtions={}))
    assert error.path == "rule.condtions"
    assert error.value == "condtions"
    assert "did you mean 'conditions'?" in str(error)


def test_error_unknown_condition_key():
    error = error_of(minimal(conditions={"channel": ["web"]}))
    assert error.path == "rule.conditions.channel"
    assert error.value == "channel"
    assert "'channels'" in str(error)


def test_error_unknown_action_key():
    error = error_of(minimal(actions=[{"type": "bonus", "points": 5, "per": "1"}]))
    assert error.path == "rule.actions[0].per"
    assert error.value == "per"


def test_error_rule_not_mapping():
    error = error_of(["code", "base"])
    assert error.path == "rule"
    assert error.value == ["code", "base"]


@pytest.mark.parametrize("code", ["bad code", "a" * 65, "", 7, "küche"])
def test_error_invalid_code(code):
    error = error_of(minimal(code=code))
    assert error.path == "rule.code"
    assert error.value == code
    assert "letters, digits" in str(error)


def test_error_missing_code():
    data = minimal()
    del data["code"]
    error = error_of(data)
    assert error.path == "rule.code"
    assert error.value is None
    assert "missing value" in str(error)


@pytest.mark.parametrize("name", ["  ", 5, "n" * 201])
def test_error_invalid_name(name):
    error = error_of(minimal(name=name))
    assert error.path == "rule.name"
    assert error.value == name


@pytest.mark.parametrize("priority", ["10", True, 1.5, 2**31])
def test_error_invalid_priority(priority):
    error = error_of(minimal(priority=priority))
    assert error.path == "rule.priority"
    assert error.value == priority


def test_error_unknown_stacking():
    error = error_of(minimal(stacking="exclusiv"))
    assert error.path == "rule.stacking"
    assert error.value == "exclusiv"
    assert "stack, exclusive" in str(error)


def test_error_unknown_rounding():
    error = error_of(minimal(rounding="ceil"))
    assert error.path == "rule.rounding"
    assert error.value == "ceil"
    assert "down, half_up, half_even" in str(error)


def test_error_active_not_bool():
    error = error_of(minimal(active="yes"))
    assert error.path == "rule.active"
    assert error.value == "yes"


def test_error_empty_actions():
    error = error_of(minimal(actions=[]))
    assert error.path == "rule.actions"
    assert error.value == []
    assert "non-empty list" in str(error)


def test_error_actions_not_list():
    error = error_of(minimal(actions={"type": "bonus", "points": 5}))
    assert error.path == "rule.actions"
    assert error.value == {"type": "bonus", "points": 5}


def test_error_action_not_mapping():
    error = error_of(minimal(actions=["bonus"]))
    assert error.path == "rule.actions[0]"
    assert error.value == "bonus"


def test_error_unknown_action_type():
    error = error_of(minimal(actions=[{"type": "double"}]))
    assert error.path == "rule.actions[0].type"
    assert error.value == "double"
    assert "points_per_amount, multiplier, bonus, cap" in str(error)


def test_error_missing_action_points():
    error = error_of(minimal(actions=[{"type": "points_per_amount", "per": "1.00"}]))
    assert error.path == "rule.actions[0].points"
    assert "missing value" in str(error)


@pytest.mark.parametrize("points", [-1, "-0.5", 0])
def test_error_non_positive_rate_points(points):
    error = error_of(minimal(actions=[{"type": "points_per_amount", "points": points}]))
    assert error.path == "rule.actions[0].points"
    assert error.value == points


@pytest.mark.parametrize("per", ["0", -1, "abc", "NaN", "Infinity", True])
def test_error_invalid_per(per):
    error = error_of(minimal(actions=[{"type": "points_per_amount", "points": 1, "per": per}]))
    assert error.path == "rule.actions[0].per"
    assert error.value == per


@pytest.mark.parametrize("per", ["0.0000000000001", "1E+15", "1E-999999"])
def test_error_per_out_of_bounds(per):
    error = error_of(minimal(actions=[{"type": "points_per_amount", "points": 1, "per": per}]))
    assert error.path == "rule.actions[0].per"
    assert error.value == per
    assert "below 1,000,000,000,000,000 with at most 12 decimal places" in str(error)


def test_trailing_zeros_not_places():
    per = "1." + "0" * 20
    spec = parse_rule(minimal(actions=[{"type": "points_per_amount", "points": 1, "per": per}]))
    assert spec.actions[0].per == 1


@pytest.mark.parametrize("points", [-5, 0, 2.5, "50"])
def test_error_invalid_bonus_points(points):
    error = error_of(minimal(actions=[{"type": "bonus", "points": points}]))
    assert error.path == "rule.actions[0].points"
    assert error.value == points


def test_error_negative_cap():
    error = error_of(minimal(actions=[{"type": "cap", "points": -1}]))
    assert error.path == "rule.actions[0].points"
    assert error.value == -1


def test_zero_cap_is_valid():
    spec = parse_rule(minimal(actions=[{"type": "cap", "points": 0}]))
    assert spec.actions == (Cap(points=0),)


@pytest.mark.parametrize("factor", ["0.5", 0, "two"])
def test_error_invalid_factor(factor):
    error = error_of(minimal(actions=[{"type": "multiplier", "factor": factor}]))
    assert error.path == "rule.actions[0].factor"
    assert error.value == factor


def test_error_unknown_day():
    error = error_of(minimal(conditions={"days": ["mon", "funday"]}))
    assert error.path == "rule.conditions.days[1]"
    assert error.value == "funday"
    assert "mon, tue, wed, thu, fri, sat, sun" in str(error)


def test_error_capitalised_day():
    error = error_of(minimal(conditions={"days": ["Mon"]}))
    assert error.path == "rule.conditions.days[0]"
    assert error.value == "Mon"


@pytest.mark.parametrize("start", ["6am", "24:00", "6:00", "06:60", None])
def test_error_invalid_hours_from(start):
    error = error_of(minimal(conditions={"hours": {"from": start, "to": "10:00"}}))
    assert error.path == "rule.conditions.hours.from"
    assert error.value == start


def test_error_unquoted_yaml_time():
    data = yaml.safe_load("conditions: {hours: {from: '06:00', to: 10:00}}")
    error = error_of(minimal(**data))
    assert error.path == "rule.conditions.hours.to"
    assert error.value == 600
    assert "quoted time" in str(error)


def test_error_equal_hours():
    error = error_of(minimal(conditions={"hours": {"from": "06:00", "to": "06:00"}}))
    assert error.path == "rule.conditions.hours.to"
    assert error.value == "06:00"


def test_error_hours_not_mapping():
    error = error_of(minimal(conditions={"hours": "06:00-10:00"}))
    assert error.path == "rule.conditions.hours"
    assert error.value == "06:00-10:00"


def test_error_hours_unknown_key():
    error = error_of(minimal(conditions={"hours": {"from": "06:00", "until": "10:00"}}))
    assert error.path == "rule.conditions.hours.until"
    assert error.value == "until"


@pytest.mark.parametrize("channels", ["web", [], {"web": True}])
def test_error_channels_not_list(channels):
    error = error_of(minimal(conditions={"channels": channels}))
    assert error.path == "rule.conditions.channels"
    assert error.value == channels


def test_error_channel_not_string():
    error = error_of(minimal(conditions={"channels": ["web", 1]}))
    assert error.path == "rule.conditions.channels[1]"
    assert error.value == 1


def test_error_segment_empty_string():
    error = error_of(minimal(conditions={"segments": [""]}))
    assert error.path == "rule.conditions.segments[0]"
    assert error.value == ""


@pytest.mark.parametrize("amount", ["-1", "abc", -0.01])
def test_error_invalid_amount_min(amount):
    error = error_of(minimal(conditions={"amount_min": amount}))
    assert error.path == "rule.conditions.amount_min"
    assert error.value == amount


def test_error_amount_min_above_max():
    error = error_of(minimal(conditions={"amount_min": "100.01", "amount_max": "100.00"}))
    assert error.path == "rule.conditions.amount_min"
    assert error.value == "100.01"
    assert "at most amount_max 100.00" in str(error)


def test_equal_amount_bounds_valid():
    spec = parse_rule(minimal(conditions={"amount_min": "5", "amount_max": "5.00"}))
    assert spec.conditions.amount_min == spec.conditions.amount_max


def test_error_conditions_not_mapping():
    error = error_of(minimal(conditions=["web"]))
    assert error.path == "rule.conditions"
    assert error.value == ["web"]


def test_error_validity_equal_bounds():
    moment = "2025-01-01T00:00:00Z"
    error = error_of(minimal(valid_from=moment, valid_until=moment))
    assert error.path == "rule.valid_until"
    assert error.value == moment
    assert "after valid_from" in str(error)


def test_error_validity_reversed():
    data = minimal(valid_from="2026-01-01T00:00:00Z", valid_until="2025-01-01T00:00:00Z")
    error = error_of(data)
    assert error.path == "rule.valid_until"
    assert error.value == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "moment",
    ["2025-01-01T00:00:00", dt.datetime(2025, 1, 1), dt.date(2025, 1, 1), "tomorrow", 20250101],
)
def test_error_invalid_valid_from(moment):
    error = error_of(minimal(valid_from=moment))
    assert error.path == "rule.valid_from"
    assert error.value == moment
    assert "UTC offset" in str(error)


def test_error_duplicate_code():
    with pytest.raises(RuleError) as caught:
        parse_rules([minimal(code="base"), minimal(code="base")])
    assert caught.value.path == "earn_rules[1].code"
    assert caught.value.value == "base"


def test_error_rules_not_list():
    with pytest.raises(RuleError) as caught:
        parse_rules(minimal())
    assert caught.value.path == "earn_rules"
