"""Tests for evaluating earn rules against an order."""

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saas.loyalty.evaluator import Evaluation, OrderFacts, RuleLine, evaluate
from saas.loyalty.money import currency_exponent
from saas.loyalty.rules import Bonus, RuleSpec, parse_rule

UTC = dt.UTC
NEW_YORK = "America/New_York"
# A Wednesday, 12:00 in Berlin.
NOON = dt.datetime(2025, 6, 4, 10, 0, tzinfo=UTC)


def rule(code="base", actions=None, **fields):
    data = {
        "code": code,
        "name": code.title(),
        "actions": actions or [{"type": "points_per_amount", "points": 1, "per": "1.00"}],
        **fields,
    }
    return parse_rule(data)


def order(amount_minor=1000, currency="EUR", ordered_at=NOON, **fields):
    return OrderFacts(amount_minor, currency, ordered_at, **fields)


def points(rules, facts, timezone="Europe/Berlin", **options):
    return evaluate(rules, facts, timezone, **options).points


def applies(conditions, facts, timezone="Europe/Berlin", **fields):
    """Return whether a bonus rule with these conditions applies to the order."""
    spec = rule("check", [{"type": "bonus", "points": 1}], conditions=conditions, **fields)
    return points([spec], facts, timezone) == 1


# Points per amount and rounding


@pytest.mark.parametrize(
    ("rounding", "amount_minor", "expected"),
    [
        ("half_up", 50, 1),
        ("half_up", 250, 3),
        ("half_up", 350, 4),
        ("half_up", 249, 2),
        ("half_even", 250, 2),
        ("half_even", 350, 4),
        ("down", 299, 2),
    ],
)
def test_rounding_one_point_per_euro(rounding, amount_minor, expected):
    assert points([rule(rounding=rounding)], order(amount_minor)) == expected


def test_jpy_point_per_hundred_yen():
    spec = rule(actions=[{"type": "points_per_amount", "points": 1, "per": "100"}])
    assert points([spec], order(500, "JPY")) == 5


def test_kwd_three_decimals_round_down():
    spec = rule(actions=[{"type": "points_per_amount", "points": 1, "per": "1"}])
    assert points([spec], order(2755, "KWD")) == 2


def test_inr_point_per_ten():
    spec = rule(actions=[{"type": "points_per_amount", "points": 1, "per": "10"}])
    assert points([spec], order(100000, "INR")) == 100


def test_fractional_points_rate():
    spec = rule(actions=[{"type": "points_per_amount", "points": "1.5", "per": "1.00"}])
    assert points([spec], order(1000)) == 15


def test_exact_thirds_not_truncated():
    spec = rule(actions=[{"type": "points_per_amount", "points": 3, "per": "3"}])
    assert points([spec], order(100)) == 1


def test_explanation_of_rate_line():
    line = evaluate([rule()], order(2933, "USD"), NEW_YORK).lines[0]
    assert line == RuleLine(
        "base", "Base", 29, "1 point per 1.00 USD on 29.33 USD = 29.33, rounded down"
    )


def test_explanation_without_rounding():
    spec = rule(actions=[{"type": "points_per_amount", "points": 1, "per": "10"}])
    line = evaluate([spec], order(100000, "INR"), "Asia/Kolkata").lines[0]
    assert line.explanation == "1 point per 10 INR on 1000.00 INR = 100"


def test_explanation_truncates_long_fraction():
    spec = rule(actions=[{"type": "points_per_amount", "points": 1, "per": "3"}])
    line = evaluate([spec], order(100), "Europe/Berlin").lines[0]
    assert line.explanation == "1 point per 3 EUR on 1.00 EUR = 0.3333..., rounded down"


def test_zero_amount_earns_bonus():
    spec = rule(actions=[
        {"type": "points_per_amount", "points": 1, "per": "1.00"},
        {"type": "bonus", "points": 50},
    ])  # fmt: skip
    assert points([spec], order(0)) == 50


def test_zero_point_rule_has_line():
    evaluation = evaluate([rule()], order(0), "Europe/Berlin")
    assert evaluation.points == 0
    assert [line.rule for line in evaluation.lines] == ["base"]


def test_no_rules_no_points():
    assert evaluate([], order(), "Europe/Berlin") == Evaluation(points=0, lines=())


# Conditions


def test_channel_matches():
    assert applies({"channels": ["web", "store"]}, order(channel="store"))


def test_channel_mismatch():
    assert not applies({"channels": ["web"]}, order(channel="store"))


def test_channel_missing_on_order():
    assert not applies({"channels": ["web"]}, order())


def test_partner_matches():
    assert applies({"partners": ["acme"]}, order(partner="acme"))


def test_partner_mismatch():
    assert not applies({"partners": ["acme"]}, order(partner="globex"))


def test_category_any_of_matches():
    facts = order(categories=frozenset({"cake", "coffee"}))
    assert applies({"categories": ["tea", "coffee"]}, facts)


def test_category_none_matching():
    facts = order(categories=frozenset({"cake"}))
    assert not applies({"categories": ["tea", "coffee"]}, facts)


@pytest.mark.parametrize(
    ("amount_minor", "expected"),
    [(499, False), (500, True), (10000, True), (10001, False)],
)
def test_amount_bounds_inclusive(amount_minor, expected):
    conditions = {"amount_min": "5.00", "amount_max": "100.00"}
    assert applies(conditions, order(amount_minor)) is expected


def test_amount_compared_in_major_units():
    assert applies({"amount_min": "2.755"}, order(2755, "KWD"))


def test_tier_matches():
    assert applies({"tiers": ["silver", "gold"]}, order(tier="gold"))


def test_tier_mismatch():
    assert not applies({"tiers": ["gold"]}, order(tier="silver"))


def test_tier_missing_on_order():
    assert not applies({"tiers": ["gold"]}, order())


def test_segment_any_of_matches():
    facts = order(segments=frozenset({"new", "champions"}))
    assert applies({"segments": ["champions"]}, facts)


def test_segment_mismatch():
    assert not applies({"segments": ["champions"]}, order(segments=frozenset({"new"})))


# Days and hours in the brand's time zone


def test_day_in_local_time():
    # 03:30 UTC on Sunday 3 November 2024 is 23:30 on Saturday in New York (EDT, UTC-4).
    facts = order(ordered_at=dt.datetime(2024, 11, 3, 3, 30, tzinfo=UTC))
    assert applies({"days": ["sat"]}, facts, NEW_YORK)
    assert not applies({"days": ["sun"]}, facts, NEW_YORK)


def test_hours_before_dst_end():
    # 05:30 UTC is 01:30 EDT, the first 01:30 of 3 November 2024.
    facts = order(ordered_at=dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC))
    assert applies({"hours": {"from": "01:00", "to": "02:00"}}, facts, NEW_YORK)
    assert applies({"days": ["sun"]}, facts, NEW_YORK)


def test_hours_repeated_after_dst_end():
    # Clocks fall back at 06:00 UTC, so 06:30 UTC is 01:30 EST, the second 01:30.
    facts = order(ordered_at=dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC))
    assert applies({"hours": {"from": "01:00", "to": "02:00"}}, facts, NEW_YORK)


def test_hours_after_dst_end():
    # 07:30 UTC is 02:30 EST.
    facts = order(ordered_at=dt.datetime(2024, 11, 3, 7, 30, tzinfo=UTC))
    assert not applies({"hours": {"from": "01:00", "to": "02:00"}}, facts, NEW_YORK)
    assert applies({"hours": {"from": "02:00", "to": "03:00"}}, facts, NEW_YORK)


def test_hours_after_dst_start():
    # Clocks spring forward at 07:00 UTC on 10 March 2024, so 07:30 UTC is 03:30 EDT.
    facts = order(ordered_at=dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC))
    assert applies({"hours": {"from": "03:00", "to": "04:00"}}, facts, NEW_YORK)
    assert not applies({"hours": {"from": "02:00", "to": "03:00"}}, facts, NEW_YORK)


def test_hours_summer_and_winter_offsets():
    # 10:30 UTC is 06:30 EDT in July but 05:30 EST in January.
    window = {"hours": {"from": "06:00", "to": "10:00"}}
    summer = order(ordered_at=dt.datetime(2024, 7, 1, 10, 30, tzinfo=UTC))
    winter = order(ordered_at=dt.datetime(2024, 1, 15, 10, 30, tzinfo=UTC))
    assert applies(window, summer, NEW_YORK)
    assert not applies(window, winter, NEW_YORK)


@pytest.mark.parametrize(
    ("local", "expected"),
    [("05:59", False), ("06:00", True), ("09:59", True), ("10:00", False)],
)
def test_hours_bounds(local, expected):
    hour, minute = map(int, local.split(":"))
    # Berlin is UTC+2 in June.
    facts = order(ordered_at=dt.datetime(2025, 6, 4, hour - 2, minute, tzinfo=UTC))
    assert applies({"hours": {"from": "06:00", "to": "10:00"}}, facts) is expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [("21:59", False), ("22:00", True), ("23:30", True), ("01:59", True), ("02:00", False)],
)
def test_hours_wrap_midnight(local, expected):
    hour, minute = map(int, local.split(":"))
    local_time = dt.datetime(2024, 1, 15, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    facts = order(ordered_at=local_time.astimezone(UTC))
    assert applies({"hours": {"from": "22:00", "to": "02:00"}}, facts, NEW_YORK) is expected


def test_hours_and_days_combined():
    # 23:30 on Friday 12 January 2024 in New York is 04:30 UTC on Saturday.
    facts = order(ordered_at=dt.datetime(2024, 1, 13, 4, 30, tzinfo=UTC))
    conditions = {"days": ["fri"], "hours": {"from": "22:00", "to": "02:00"}}
    assert applies(conditions, facts, NEW_YORK)


# Validity and activity


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), False),
        (dt.datetime(2025, 1, 1, tzinfo=UTC), True),
        (dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), True),
        (dt.datetime(2026, 1, 1, tzinfo=UTC), False),
    ],
)
def test_validity_window_bounds(moment, expected):
    window = {"valid_from": "2025-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}
    assert applies({}, order(ordered_at=moment), **window) is expected


def test_inactive_rule_skipped():
    assert not applies({}, order(), active=False)


# Stacking, actions and order


def test_rules_stack_by_default():
    rules = [rule("base"), rule("extra", [{"type": "bonus", "points": 5}])]
    assert points(rules, order(1000)) == 15


def test_exclusive_stops_later_rules():
    rules = [
        rule("base", priority=20),
        rule("promo", [{"type": "bonus", "points": 100}], priority=10, stacking="exclusive"),
    ]
    evaluation = evaluate(rules, order(1000), "Europe/Berlin")
    assert evaluation.points == 100
    assert [line.rule for line in evaluation.lines] == ["promo"]


def test_exclusive_keeps_earlier_rules():
    rules = [
        rule("base", priority=10),
        rule("promo", [{"type": "bonus", "points": 100}], priority=20, stacking="exclusive"),
        rule("late", [{"type": "bonus", "points": 1}], priority=30),
    ]
    assert points(rules, order(1000)) == 110


def test_skipped_exclusive_stops_nothing():
    promo = rule(
        "promo",
        [{"type": "bonus", "points": 100}],
        priority=10,
        stacking="exclusive",
        conditions={"channels": ["web"]},
    )
    assert points([promo, rule("base", priority=20)], order(1000, channel="store")) == 10


def test_multiplier_doubles_earlier_points():
    rules = [
        rule("base", priority=10),
        rule("double", [{"type": "multiplier", "factor": "2"}], priority=20),
    ]
    evaluation = evaluate(rules, order(1000), "Europe/Berlin")
    assert evaluation.points == 20
    assert evaluation.lines[1].points == 10


def test_multiplier_includes_own_points():
    spec = rule(actions=[
        {"type": "points_per_amount", "points": 1, "per": "1.00"},
        {"type": "multiplier", "factor": "3"},
    ])  # fmt: skip
    assert points([spec], order(1000)) == 30


def test_multiplier_ignores_later_actions():
    spec = rule(actions=[
        {"type": "multiplier", "factor": "2"},
        {"type": "bonus", "points": 5},
    ])  # fmt: skip
    assert points([spec], order(1000)) == 5


def test_multiplied_thirds_stay_exact():
    spec = rule(actions=[
        {"type": "points_per_amount", "points": 1, "per": "3.00"},
        {"type": "multiplier", "factor": "3"},
    ])  # fmt: skip
    assert points([spec], order(100)) == 1


def test_rule_rounds_once():
    # 1.25 + 1.25 = 2.50 rounds half up to 3; rounding each step would give 1 + 1.
    spec = rule(
        actions=[
            {"type": "points_per_amount", "points": 1, "per": "1.00"},
            {"type": "multiplier", "factor": "2"},
        ],
        rounding="half_up",
    )
    assert points([spec], order(125)) == 3


def test_rule_explanation_lists_steps():
    spec = rule(actions=[
        {"type": "points_per_amount", "points": 1, "per": "1.00"},
        {"type": "multiplier", "factor": "2"},
        {"type": "bonus", "points": 50},
    ])  # fmt: skip
    line = evaluate([spec], order(125), "Europe/Berlin").lines[0]
    assert line.explanation == (
        "1 point per 1.00 EUR on 1.25 EUR = 1.25; x2 on 1.25 points = +1.25; bonus 50; "
        "total 52.5, rounded down"
    )


def test_bonus_adds_fixed_points():
    assert points([rule(actions=[{"type": "bonus", "points": 50}])], order(1)) == 50


def test_priority_lower_runs_first():
    rules = [
        rule("a", [{"type": "bonus", "points": 1}], priority=10, stacking="exclusive"),
        rule("z", [{"type": "bonus", "points": 2}], priority=5, stacking="exclusive"),
    ]
    assert points(rules, order()) == 2


def test_priority_ties_by_code():
    rules = [
        rule("b", [{"type": "bonus", "points": 2}], priority=10, stacking="exclusive"),
        rule("a", [{"type": "bonus", "points": 1}], priority=10, stacking="exclusive"),
    ]
    assert points(rules, order()) == 1


def test_lines_in_evaluation_order():
    rules = [rule("b", priority=10), rule("c", priority=5), rule("a", priority=10)]
    lines = evaluate(rules, order(), "Europe/Berlin").lines
    assert [line.rule for line in lines] == ["c", "a", "b"]


# Tier multiplier and cap


def test_tier_multiplier_line():
    evaluation = evaluate([rule()], order(2900), "Europe/Berlin", Decimal("1.5"), "Gold")
    assert evaluation.points == 43
    assert evaluation.lines[1] == RuleLine(
        None, "Gold", 14, "x1.5 Gold multiplier on 29 points = +14, rounded down"
    )


def test_tier_name_defaults_to_code():
    evaluation = evaluate([rule()], order(tier="gold"), "Europe/Berlin", Decimal(2))
    assert evaluation.lines[1].name == "gold"


def test_tier_multiplier_one_no_line():
    evaluation = evaluate([rule()], order(), "Europe/Berlin", Decimal(1), "Gold")
    assert len(evaluation.lines) == 1


def test_tier_multiplier_below_one():
    evaluation = evaluate([rule()], order(1000), "Europe/Berlin", Decimal("0.75"), "Basic")
    assert evaluation.lines[1].points == -3
    assert evaluation.points == 7


def test_cap_after_tier_multiplier():
    rules = [
        rule("base", [{"type": "points_per_amount", "points": 1, "per": "1.00"}]),
        rule("limit", [{"type": "cap", "points": 120}]),
    ]
    evaluation = evaluate(rules, order(10000), "Europe/Berlin", Decimal("1.5"), "Gold")
    assert evaluation.points == 120
    assert [line.points for line in evaluation.lines] == [100, 0, 50, -30]
    assert evaluation.lines[-1].rule is None


def test_cap_not_reached_no_line():
    rules = [rule("base"), rule("limit", [{"type": "cap", "points": 500}])]
    evaluation = evaluate(rules, order(1000), "Europe/Berlin")
    assert evaluation.points == 10
    assert len(evaluation.lines) == 2


def test_smallest_cap_applies():
    rules = [
        rule("base", priority=1),
        rule("high", [{"type": "cap", "points": 8}], priority=2),
        rule("low", [{"type": "cap", "points": 5}], priority=3),
    ]
    evaluation = evaluate(rules, order(1000), "Europe/Berlin")
    assert evaluation.points == 5
    assert evaluation.lines[-1].explanation == "total of 10 capped at 5 points by rule 'low'"


def test_cap_of_skipped_rule_ignored():
    limit = rule("limit", [{"type": "cap", "points": 1}], conditions={"channels": ["web"]})
    assert points([rule("base"), limit], order(1000, channel="store")) == 10


def test_total_never_negative():
    # parse_rule rejects negative bonuses, so only a hand-built spec can go below zero.
    spec = RuleSpec(code="penalty", name="Penalty", actions=(Bonus(points=-10),))
    evaluation = evaluate([spec], order(), "Europe/Berlin")
    assert evaluation.points == 0
    assert evaluation.lines[-1].points == 10


def test_as_json_shape():
    evaluation = evaluate([rule()], order(2933, "USD"), NEW_YORK)
    assert evaluation.as_json() == {
        "points": 29,
        "lines": [
            {
                "rule": "base",
                "name": "Base",
                "points": 29,
                "explanation": "1 point per 1.00 USD on 29.33 USD = 29.33, rounded down",
            }
        ],
    }


# Invalid input


def test_unknown_timezone_raises():
    with pytest.raises(ValueError, match="'Mars/Olympus'"):
        evaluate([rule()], order(), "Mars/Olympus")


def test_negative_tier_multiplier_raises():
    with pytest.raises(ValueError, match="tier multiplier"):
        evaluate([rule()], order(), "Europe/Berlin", Decimal(-1))


def test_naive_order_time_raises():
    with pytest.raises(ValueError, match="time zone"):
        order(ordered_at=dt.datetime(2025, 1, 1))


def test_negative_order_amount_raises():
    with pytest.raises(ValueError, match="-1"):
        order(-1)


def test_order_categories_must_be_frozenset():
    with pytest.raises(ValueError, match="categories"):
        order(categories=["coffee"])


# Properties


@given(
    amount_minor=st.integers(min_value=0, max_value=10**15),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
    rate_points=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2),
    per=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10000), places=3),
)
def test_rate_points_match_floor(amount_minor, currency, rate_points, per):
    spec = rule(actions=[{"type": "points_per_amount", "points": rate_points, "per": per}])
    earned = points([spec], order(amount_minor, currency))
    amount_major = Fraction(amount_minor, 10 ** currency_exponent(currency))
    assert earned == math.floor(amount_major / Fraction(per) * Fraction(rate_points))
    assert earned >= 0


@given(
    amount_minor=st.integers(min_value=0, max_value=10**9),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 366),
    multiplier=st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=2),
)
def test_evaluation_is_pure(amount_minor, minutes, multiplier):
    rules = [
        rule("base", rounding="half_even"),
        rule("evening", [{"type": "multiplier", "factor": "2"}],
             conditions={"hours": {"from": "18:00", "to": "02:00"}}),
        rule("limit", [{"type": "cap", "points": 5000}]),
    ]  # fmt: skip
    facts = order(amount_minor, ordered_at=NOON + dt.timedelta(minutes=minutes))
    first = evaluate(rules, facts, NEW_YORK, multiplier, "Gold")
    second = evaluate(rules, facts, NEW_YORK, multiplier, "Gold")
    assert first == second
    assert first.points == sum(line.points for line in first.lines)


@given(
    amount_minor=st.integers(min_value=0, max_value=10**12),
    rate_points=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2),
    rounding=st.sampled_from(["half_up", "half_even"]),
)
def test_half_rounding_matches_decimal(amount_minor, rate_points, rounding):
    spec = rule(
        actions=[{"type": "points_per_amount", "points": rate_points, "per": "0.10"}],
        rounding=rounding,
    )
    exact = Decimal(amount_minor).scaleb(-2) * rate_points * 10
    mode = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}[rounding]
    assert points([spec], order(amount_minor)) == int(exact.quantize(Decimal(1), rounding=mode))
