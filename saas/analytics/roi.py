"""Program return on investment, from the KPIs and assumptions the brand edits.

ROI = (incremental margin - program cost) / program cost, where
- incremental margin = revenue from members * incremental share * margin rate: the share of
  member revenue the program caused, at the brand's gross margin;
- program cost = points redeemed * the value of one point + the fixed monthly cost, prorated
  to the period's days (30.44 days per month).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from saas.tenancy.settings import declare_setting, get_setting

SETTING = "analytics.roi"
DEFAULTS = {"margin_percent": 30, "incremental_percent": 20, "monthly_cost_minor": 0}
DAYS_PER_MONTH = Decimal("30.44")


def check_assumptions(value: Any) -> dict:
    if not isinstance(value, dict) or set(value) - set(DEFAULTS):
        raise ValueError(f"invalid ROI assumptions {value!r}: expected keys "
                         f"{', '.join(DEFAULTS)}")
    clean = dict(DEFAULTS)
    for key, raw in value.items():
        try:
            number = Decimal(str(raw))
        except ArithmeticError:
            raise ValueError(f"invalid {key} {raw!r}: expected a number") from None
        high = Decimal(100) if key.endswith("_percent") else Decimal(10) ** 15
        if not number.is_finite() or not 0 <= number <= high:
            raise ValueError(f"invalid {key} {raw!r}: expected 0 to {high}")
        clean[key] = int(number) if key == "monthly_cost_minor" else float(number)
    return clean


declare_setting(SETTING, dict(DEFAULTS), check_assumptions)


@dataclass(frozen=True)
class Roi:
    assumptions: dict
    member_revenue_minor: int
    incremental_margin_minor: int
    redemption_cost_minor: int
    fixed_cost_minor: int
    ratio: float | None

    @property
    def cost_minor(self) -> int:
        return self.redemption_cost_minor + self.fixed_cost_minor


def program_roi(session: Session, figures: dict, point_value_minor: Decimal,
                days: int) -> Roi:
    """ROI of a period from its KPI figures (``KpiEngine.figures``) and the assumptions."""
    assumptions = get_setting(session, SETTING)
    revenue = int(figures.get("member_revenue_minor") or 0)
    margin = (Decimal(revenue) * Decimal(str(assumptions["incremental_percent"])) / 100
              * Decimal(str(assumptions["margin_percent"])) / 100)
    redemption = Decimal(int(figures.get("points_redeemed") or 0)) * point_value_minor
    fixed = Decimal(assumptions["monthly_cost_minor"]) * days / DAYS_PER_MONTH
    cost = redemption + fixed
    ratio = float((margin - cost) / cost) if cost > 0 else None
    return Roi(assumptions, revenue, round(margin), round(redemption), round(fixed), ratio)
