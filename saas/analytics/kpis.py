"""KPIs of a brand for a range of its local days, each next to the previous period.

Every figure comes from the rollup, so it includes only what the rollup has processed: sums
(points, orders, revenue, new members) from the ``kpi_day`` rows, and counts of distinct
members (active, repeat buyers) from the day member sets of ``kpi_day_members``. The member
total is the sum of new members less the merged records, which the member table has few of.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.analytics.activity import MemberCounter
from saas.analytics.models import ALL, MEASURES, ORDER_DIMENSIONS, KpiDay
from saas.analytics.rollup import day_bounds
from saas.loyalty.models import Member
from saas.loyalty.money import currency_exponent
from saas.tenancy.settings import declare_setting, get_setting

POINT_VALUE_KEY = "analytics.point_value_minor"
ACTIVE_WINDOWS = (30, 90)


def _point_value_minor(value: Any) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"invalid point value {value!r}: expected a decimal number of minor "
                         "units, such as 1 or 0.5") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"invalid point value {value!r}: expected zero or more minor units")
    return str(number)


# Money value of one point in minor units of the base currency, for the liability in money.
# None (the default) derives it from the loyalty setting ``points.value`` (major units).
declare_setting(POINT_VALUE_KEY, None, _point_value_minor)


def point_value_minor(session: Session, base_currency: str) -> Decimal:
    """Return one point's value in minor units of the base currency."""
    from saas.loyalty import policies  # noqa: F401 - declares ``points.value``

    configured = get_setting(session, POINT_VALUE_KEY)
    if configured is not None:
        return Decimal(configured)
    major = Decimal(get_setting(session, "points.value"))
    return major.scaleb(currency_exponent(base_currency))


@dataclass(frozen=True)
class Kpi:
    """One figure for the period and for the period of the same length just before it."""

    name: str
    value: int | float | None
    previous: int | float | None
    # "count", "points", "money" (minor units of the base currency) or "ratio" (0 to 1).
    unit: str

    @property
    def change(self) -> float | None:
        """Relative change against the previous period; None when that was zero or missing."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class DayValue:
    day: date
    utc_start: datetime
    utc_end: datetime
    value: int


# Metrics that ``daily_series`` can return: the day row measures and the net points change.
SERIES_METRICS = (*MEASURES, "points_net")

KPI_UNITS = {
    "members_total": "count",
    "new_members": "count",
    "active_members_30d": "count",
    "active_members_90d": "count",
    "points_earned": "points",
    "points_redeemed": "points",
    "points_expired": "points",
    "points_adjusted": "points",
    "points_outstanding": "points",
    "liability_minor": "money",
    "redemption_rate": "ratio",
    "breakage_rate": "ratio",
    "orders": "count",
    "revenue_minor": "money",
    "member_orders": "count",
    "member_revenue_minor": "money",
    "average_order_value_minor": "money",
    "non_member_average_order_value_minor": "money",
    "repeat_purchase_rate": "ratio",
    "active_members": "count",
    "buyers": "count",
    "repeat_buyers": "count",
}


class KpiEngine:
    """KPIs of one brand database, by the brand's local days (``timezone``, an IANA name).

    ``dimension`` and ``value`` narrow the figures to the orders of one channel or partner and
    the points of those orders, so redeemed and expired points are zero there. Member totals,
    new members and the liability belong to no order and stay brand-wide.
    """

    def __init__(self, session: Session, timezone: str, base_currency: str) -> None:
        self.session = session
        self.zone = ZoneInfo(timezone)
        self.base_currency = base_currency

    # --- Daily series --------------------------------------------------------------------

    def daily_series(self, metric: str, start: date, end: date, *, dimension: str = ALL,
                     value: str = "") -> list[DayValue]:
        """Return one row per local day from start to end (inclusive), zero on days without
        activity, with each day's UTC bounds."""
        if metric not in SERIES_METRICS:
            raise ValueError(f"unknown metric {metric!r}; expected one of "
                             f"{', '.join(SERIES_METRICS)}")
        _check_range(start, end)
        _check_dimension(dimension)
        column = _net_points() if metric == "points_net" else getattr(KpiDay, metric)
        found = dict(self.session.execute(
            select(KpiDay.day, column).where(
                KpiDay.day >= start, KpiDay.day <= end, KpiDay.dimension == dimension,
                KpiDay.value == value,
            )
        ).all())
        rows = []
        day = start
        while day <= end:
            utc_start, utc_end = day_bounds(day, self.zone)
            rows.append(DayValue(day, utc_start, utc_end, int(found.get(day) or 0)))
            day += timedelta(days=1)
        return rows

    # --- KPIs ------------------------------------------------------------------------------

    def kpis(self, start: date, end: date, *, dimension: str = ALL,
             value: str = "") -> dict[str, Kpi]:
        """Return every KPI of KPI_UNITS for the local days start to end (inclusive)."""
        _check_range(start, end)
        _check_dimension(dimension)
        length = (end - start).days + 1
        previous_end = start - timedelta(days=1)
        previous_start = previous_end - timedelta(days=length - 1)
        current = self.figures(start, end, dimension=dimension, value=value)
        before = self.figures(previous_start, previous_end, dimension=dimension, value=value)
        return {name: Kpi(name, current[name], before[name], unit)
                for name, unit in KPI_UNITS.items()}

    def figures(self, start: date, end: date, *, dimension: str = ALL,
                value: str = "") -> dict[str, int | float | None]:
        """Return the KPI values of one period, without a comparison."""
        utc_end = day_bounds(end, self.zone)[1]
        sums = self._sums(start, end, dimension, value)
        figures: dict[str, int | float | None] = dict(sums)
        if dimension != ALL:
            # Members belong to no order, so they are counted brand-wide.
            figures["new_members"] = self._sums(start, end, ALL, "")["new_members"]

        outstanding = self._outstanding(end)
        figures["points_outstanding"] = outstanding
        figures["liability_minor"] = _round_minor(
            outstanding * point_value_minor(self.session, self.base_currency))
        figures["redemption_rate"] = _ratio(sums["points_redeemed"], sums["points_earned"])
        figures["breakage_rate"] = _ratio(sums["points_expired"], sums["points_earned"])
        figures["average_order_value_minor"] = _average_minor(sums["member_revenue_minor"],
                                                              sums["member_orders"])
        # Orders without a member, where the brand records them (imports, the till).
        figures["non_member_average_order_value_minor"] = _average_minor(
            sums["revenue_minor"] - sums["member_revenue_minor"],
            sums["orders"] - sums["member_orders"])

        figures["members_total"] = self._members_total(end, utc_end)
        # An active window is the local days up to the period's end, so it may start earlier.
        counter = MemberCounter(self.session, min(start, _window_start(end, max(ACTIVE_WINDOWS))),
                                end, dimension, value)
        for days in ACTIVE_WINDOWS:
            figures[f"active_members_{days}d"] = counter.active(_window_start(end, days), end)
        buyers, repeat = counter.buyers(start, end)
        figures["active_members"] = counter.active(start, end)
        figures["buyers"] = buyers
        figures["repeat_buyers"] = repeat
        figures["repeat_purchase_rate"] = _ratio(repeat, buyers)
        return figures

    def composition(self, start: date, end: date, dimension: str) -> list[tuple[str, int]]:
        """Return the revenue of each value of an order dimension in start..end, largest
        first, with the revenue of orders without a value under the empty string."""
        _check_range(start, end)
        _check_dimension(dimension)
        rows = self.session.execute(
            select(KpiDay.value, func.sum(KpiDay.revenue_minor))
            .where(KpiDay.day >= start, KpiDay.day <= end, KpiDay.dimension == dimension)
            .group_by(KpiDay.value)
        ).all()
        parts = [(value, int(total)) for value, total in rows]
        rest = self._sums(start, end, ALL, "")["revenue_minor"] - sum(
            total for _value, total in parts)
        if rest:
            parts.append(("", rest))
        return sorted(parts, key=lambda part: (-part[1], part[0]))

    def _sums(self, start: date, end: date, dimension: str, value: str) -> dict[str, int]:
        row = self.session.execute(
            select(*[func.coalesce(func.sum(getattr(KpiDay, name)), 0) for name in MEASURES])
            .where(KpiDay.day >= start, KpiDay.day <= end, KpiDay.dimension == dimension,
                   KpiDay.value == value)
        ).one()
        return {name: int(total) for name, total in zip(MEASURES, row, strict=True)}

    def _outstanding(self, end: date) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(_net_points()), 0))
            .where(KpiDay.day <= end, KpiDay.dimension == ALL)
        )
        return int(total)

    def _members_total(self, end: date, utc_end: datetime) -> int:
        # NOTE: merged records are left out by their state today, not at the period's end.
        joined = self.session.scalar(
            select(func.coalesce(func.sum(KpiDay.new_members), 0))
            .where(KpiDay.day <= end, KpiDay.dimension == ALL)
        )
        merged = self.session.scalar(
            select(func.count()).select_from(Member)
            .where(Member.merged_into_id.is_not(None), Member.joined_at < utc_end)
        )
        return int(joined) - int(merged)


def _net_points():
    return (KpiDay.points_earned - KpiDay.points_redeemed - KpiDay.points_expired
            + KpiDay.points_adjusted + KpiDay.points_other)


def _window_start(end: date, days: int) -> date:
    return end - timedelta(days=days - 1)


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValueError(f"invalid date range {start} to {end}: the end is before the start")


def _check_dimension(dimension: str) -> None:
    if dimension != ALL and dimension not in ORDER_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; expected {ALL} or one of "
                         f"{', '.join(ORDER_DIMENSIONS)}")


def _average_minor(total: int, count: int) -> int | None:
    average = _ratio(total, count)
    return None if average is None else _round_minor(Decimal(str(average)))


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def _round_minor(amount: Decimal | int) -> int:
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
