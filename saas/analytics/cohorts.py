"""Cohort tables: members grouped by the local month they joined or first bought, or by
their tier, with the share of each cohort that bought in each later month and the revenue
per member.

Month n of a cohort is the n-th brand-local calendar month after the cohort's month (month 0
is the cohort's own month). Revenue is the orders' amount in the base currency, in minor
units, divided by the cohort's size. Tier cohorts are made of the members who joined in the chosen
months, grouped by their tier today. There, month n counts from each member's join month,
and its shares are of the members who have reached month n by today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty.errors import InvalidInput
from saas.loyalty.models import Member, Order, Tier
from saas.tenancy.settings import declare_setting, get_setting, put_setting

DEFINITIONS = ("join_month", "first_purchase_month", "tier")
MAX_MONTHS = 36


@dataclass(frozen=True)
class CohortRow:
    cohort: str  # YYYY-MM, or a tier code ("" for members without a tier)
    size: int
    retention: tuple[float | None, ...]  # share of the cohort buying in month n
    revenue_per_member: tuple[float | None, ...]  # minor units per cohort member


@dataclass(frozen=True)
class CohortTable:
    definition: str
    months: int
    rows: tuple[CohortRow, ...]

    def csv_rows(self) -> list[list[object]]:
        header = ["cohort", "size"]
        header += [f"retention_m{n}" for n in range(self.months)]
        header += [f"revenue_per_member_m{n}" for n in range(self.months)]
        return [header] + [[row.cohort, row.size, *row.retention, *row.revenue_per_member]
                           for row in self.rows]


def check_definition(definition: str) -> str:
    if definition not in DEFINITIONS:
        raise InvalidInput(f"unknown cohort definition {definition!r}; choose one of "
                           f"{', '.join(DEFINITIONS)}", field="definition", value=definition)
    return definition


def _month_index(values: pd.Series) -> pd.Series:
    return values.dt.year * 12 + values.dt.month - 1


def _month_number(day: date) -> int:
    """Return the month of ``day`` on the same scale as ``_month_index``."""
    return day.year * 12 + day.month - 1


def _label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cohort_table(session: Session, timezone: str, definition: str, *, start: date,
                 end: date, months: int = 12, today: date | None = None) -> CohortTable:
    """Build the cohorts whose month lies in [start, end], each followed for ``months``.

    Months after ``today`` (the brand's local date by default) have no value yet.
    """
    check_definition(definition)
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"invalid number of months {months!r}: give 1 to {MAX_MONTHS}",
                           field="months", value=months)
    if start > end:
        raise InvalidInput(f"the first month {start.isoformat()} is after the last "
                           f"{end.isoformat()}", field="start", value=start.isoformat())
    zone = ZoneInfo(timezone)
    today = today or utcnow().astimezone(zone).date()
    current = _month_number(today)
    members = pd.DataFrame(session.execute(
        select(Member.id, Member.joined_at, Member.tier_id)
        .where(Member.merged_into_id.is_(None))).all(),
        columns=["member_id", "joined_at", "tier_id"])
    orders = pd.DataFrame(session.execute(
        select(Order.member_id, Order.ordered_at, Order.base_amount_minor)).all(),
        columns=["member_id", "ordered_at", "amount"])
    if members.empty:
        return CohortTable(definition, months, ())
    members["joined"] = _month_index(pd.to_datetime(members["joined_at"], utc=True)
                                     .dt.tz_convert(zone))
    if orders.empty:
        orders["month"] = pd.Series(dtype="int64")
    else:
        orders["month"] = _month_index(pd.to_datetime(orders["ordered_at"], utc=True)
                                       .dt.tz_convert(zone))
    if definition == "tier":
        return _tier_table(session, members, orders, start, end, months, current)
    if definition == "join_month":
        members["cohort"] = members["joined"]
    else:
        first = orders.groupby("member_id")["month"].min().rename("cohort")
        members = members.join(first, on="member_id", how="inner")
    low, high = _month_number(start), _month_number(end)
    members = members[(members["cohort"] >= low) & (members["cohort"] <= high)]
    sizes = members.groupby("cohort")["member_id"].count()
    merged = orders.merge(members[["member_id", "cohort"]], on="member_id")
    merged["offset"] = merged["month"] - merged["cohort"]
    merged = merged[(merged["offset"] >= 0) & (merged["offset"] < months)]
    buyers = merged.groupby(["cohort", "offset"])["member_id"].nunique()
    revenue = merged.groupby(["cohort", "offset"])["amount"].sum()
    rows = []
    for cohort, size in sizes.sort_index().items():
        retention, per_member = [], []
        for offset in range(months):
            if cohort + offset > current:
                retention.append(None)
                per_member.append(None)
                continue
            retention.append(round(float(buyers.get((cohort, offset), 0)) / size, 4))
            per_member.append(round(float(revenue.get((cohort, offset), 0)) / size, 2))
        rows.append(CohortRow(_label(int(cohort)), int(size), tuple(retention),
                              tuple(per_member)))
    return CohortTable(definition, months, tuple(rows))


def _tier_table(session: Session, members: pd.DataFrame, orders: pd.DataFrame, start: date,
                end: date, months: int, current: int) -> CohortTable:
    low, high = _month_number(start), _month_number(end)
    members = members[(members["joined"] >= low) & (members["joined"] <= high)].copy()
    tiers = session.execute(select(Tier.id, Tier.code).order_by(Tier.threshold, Tier.id)).all()
    codes = {tier_id: code for tier_id, code in tiers}
    members["cohort"] = members["tier_id"].map(lambda value: codes.get(value, ""))
    merged = orders.merge(members[["member_id", "cohort", "joined"]], on="member_id")
    merged["offset"] = merged["month"] - merged["joined"]
    merged = merged[(merged["offset"] >= 0) & (merged["offset"] < months)]
    buyers = merged.groupby(["cohort", "offset"])["member_id"].nunique()
    revenue = merged.groupby(["cohort", "offset"])["amount"].sum()
    rows = []
    for code in ["", *codes.values()]:
        joined = members.loc[members["cohort"] == code, "joined"]
        if joined.empty:
            continue
        retention, per_member = [], []
        for offset in range(months):
            # Only members whose month n has begun by today can have bought in it.
            reached = int((joined + offset <= current).sum())
            if not reached:
                retention.append(None)
                per_member.append(None)
                continue
            retention.append(round(float(buyers.get((code, offset), 0)) / reached, 4))
            per_member.append(round(float(revenue.get((code, offset), 0)) / reached, 2))
        rows.append(CohortRow(code, len(joined), tuple(retention), tuple(per_member)))
    return CohortTable("tier", months, tuple(rows))


RECIPIENTS_SETTING = "analytics.cohort_report_recipients"
LAST_SENT_SETTING = "analytics.cohort_report_last_month"


def _recipients(value: object) -> list[str]:
    from saas.console.accounts import normalise_email

    if not isinstance(value, list):
        raise ValueError(f"invalid recipients {value!r}: expected a list of email addresses")
    return sorted({normalise_email(str(address)) for address in value})


def _month_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 7:
        raise ValueError(f"invalid month {value!r}: expected YYYY-MM")
    return value


declare_setting(RECIPIENTS_SETTING, [], _recipients)
declare_setting(LAST_SENT_SETTING, None, _month_text)


def send_monthly_cohort_report(session: Session, brand_name: str, timezone: str,
                               now: datetime | None = None) -> bool:
    """Email last year's join-month cohorts once per local month; commits. Returns whether
    a report went out."""
    from saas.analytics.reports import csv_text
    from saas.notifications.outbox import queue_email

    recipients = get_setting(session, RECIPIENTS_SETTING)
    today = (now or utcnow()).astimezone(ZoneInfo(timezone)).date()
    month = today.strftime("%Y-%m")
    if not recipients or get_setting(session, LAST_SENT_SETTING) == month:
        return False
    end = date(today.year, today.month, 1)
    start = date(end.year - 1, end.month, 1)
    table = cohort_table(session, timezone, "join_month", start=start, end=end, months=12,
                         today=today)
    rows = table.csv_rows()
    body = (f"Join-month cohorts of {brand_name} from {start:%Y-%m} to {end:%Y-%m}: share of "
            "each cohort buying in each later month, and revenue per member in minor units, "
            "as CSV:\n\n" + csv_text(rows[0], rows[1:]))
    for address in recipients:
        queue_email(session, address, f"{brand_name}: monthly cohort report {month}", body)
    put_setting(session, LAST_SENT_SETTING, month)
    session.commit()
    return True
