"""The report builder's query layer: datasets with named dimensions and measures.

A report names a dataset, dimensions to group by, measures, filters and a sort, all chosen
from fixed lists; every name is checked against those lists and every value is passed as a
bound parameter, so nothing a user types ever becomes SQL text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Select, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.errors import InvalidInput
from saas.loyalty.models import LedgerEntry, Member, Order, Redemption

MAX_ROWS = 10_000
OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in")


@dataclass(frozen=True)
class Dataset:
    table: Any
    dimensions: dict[str, Callable[[], ColumnElement]]
    measures: dict[str, Callable[[], ColumnElement]]
    filters: dict[str, Callable[[], ColumnElement]] = field(default_factory=dict)


DATASETS: dict[str, Dataset] = {
    "members": Dataset(
        Member,
        dimensions={"status": lambda: Member.status, "locale": lambda: Member.locale},
        measures={"members": lambda: func.count(Member.id),
                  "balance": lambda: func.sum(Member.balance)},
        filters={"status": lambda: Member.status, "joined_at": lambda: Member.joined_at,
                 "balance": lambda: Member.balance},
    ),
    "ledger_entries": Dataset(
        LedgerEntry,
        dimensions={"kind": lambda: LedgerEntry.kind, "source": lambda: LedgerEntry.source},
        measures={"entries": lambda: func.count(LedgerEntry.id),
                  "points": lambda: func.sum(LedgerEntry.points)},
        filters={"kind": lambda: LedgerEntry.kind, "source": lambda: LedgerEntry.source,
                 "occurred_at": lambda: LedgerEntry.occurred_at},
    ),
    "redemptions": Dataset(
        Redemption,
        dimensions={"status": lambda: Redemption.status, "source": lambda: Redemption.source},
        measures={"redemptions": lambda: func.count(Redemption.id),
                  "points": lambda: func.sum(Redemption.points)},
        filters={"status": lambda: Redemption.status, "issued_at": lambda: Redemption.issued_at},
    ),
    "orders": Dataset(
        Order,
        dimensions={"channel": lambda: Order.channel, "partner": lambda: Order.partner,
                    "currency": lambda: Order.currency, "location": lambda: Order.location,
                    "tier": lambda: Order.tier},
        measures={"orders": lambda: func.count(Order.id),
                  "revenue_minor": lambda: func.sum(Order.base_amount_minor),
                  "average_order_minor": lambda: func.avg(Order.base_amount_minor),
                  "members": lambda: func.count(func.distinct(Order.member_id))},
        filters={"channel": lambda: Order.channel, "partner": lambda: Order.partner,
                 "tier": lambda: Order.tier, "ordered_at": lambda: Order.ordered_at,
                 "amount_minor": lambda: Order.base_amount_minor},
    ),
}


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    value: Any


@dataclass(frozen=True)
class ReportSpec:
    dataset: str
    dimensions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    sort: str | None = None
    descending: bool = False
    limit: int = 1000


def _choose(name: str, allowed: dict, what: str, field_name: str) -> Any:
    if name not in allowed:
        raise InvalidInput(f"unknown {what} {name!r}; choose one of {', '.join(sorted(allowed))}",
                           field=field_name, value=name)
    return allowed[name]()


def _condition(column: ColumnElement, item: Filter) -> ColumnElement:
    value = item.value
    if isinstance(value, str) and item.field.endswith("_at"):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"invalid time {item.value!r} for {item.field!r}: give ISO 8601 "
                               "such as 2025-01-31T00:00:00Z", field=f"filters.{item.field}",
                               value=item.value) from None
    match item.operator:
        case "eq":
            return column == value
        case "ne":
            return column != value
        case "lt":
            return column < value
        case "le":
            return column <= value
        case "gt":
            return column > value
        case "ge":
            return column >= value
        case "in":
            if not isinstance(value, list | tuple) or not value:
                raise InvalidInput(f"the 'in' filter on {item.field!r} needs a non-empty list",
                                   field=f"filters.{item.field}", value=str(value))
            return column.in_(list(value))
    raise InvalidInput(f"unknown operator {item.operator!r}; choose one of "
                       f"{', '.join(OPERATORS)}", field="filters.operator", value=item.operator)


def build_query(spec: ReportSpec) -> Select:
    """Return the query of ``spec``, or raise InvalidInput naming the first unknown name."""
    dataset = DATASETS.get(spec.dataset)
    if dataset is None:
        raise InvalidInput(f"unknown dataset {spec.dataset!r}; choose one of "
                           f"{', '.join(sorted(DATASETS))}", field="dataset", value=spec.dataset)
    if not spec.measures:
        raise InvalidInput("choose at least one measure", field="measures")
    if not 1 <= spec.limit <= MAX_ROWS:
        raise InvalidInput(f"invalid limit {spec.limit!r}: give 1 to {MAX_ROWS}",
                           field="limit", value=spec.limit)
    dimensions = [_choose(name, dataset.dimensions, "dimension", "dimensions").label(name)
                  for name in spec.dimensions]
    measures = [_choose(name, dataset.measures, "measure", "measures").label(name)
                for name in spec.measures]
    query = select(*dimensions, *measures).select_from(dataset.table)
    for item in spec.filters:
        column = _choose(item.field, dataset.filters, "filter field", "filters")
        query = query.where(_condition(column, item))
    if dimensions:
        query = query.group_by(*dimensions)
    if spec.sort is not None:
        labels = {column.key: column for column in (*dimensions, *measures)}
        if spec.sort not in labels:
            raise InvalidInput(f"unknown sort column {spec.sort!r}; sort by one of the chosen "
                               f"dimensions or measures: {', '.join(labels)}", field="sort",
                               value=spec.sort)
        column = labels[spec.sort]
        query = query.order_by(column.desc() if spec.descending else column.asc())
    return query.limit(spec.limit)


def run_report(session: Session, spec: ReportSpec) -> tuple[list[str], list[tuple]]:
    """Run the report and return its column names and rows."""
    query = build_query(spec)
    result = session.execute(query)
    return list(result.keys()), [tuple(row) for row in result.all()]


@dataclass(frozen=True)
class Statistics:
    """How two numeric columns of a report's rows relate."""

    x: str
    y: str
    n: int
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float
    slope: float
    intercept: float
    r_squared: float
    slope_interval: tuple[float, float]  # 95 % confidence interval
    intercept_interval: tuple[float, float]


def statistics(columns: list[str], rows: list[tuple], x: str, y: str) -> Statistics | None:
    """Correlations and a least-squares line of ``y`` on ``x``; None with fewer than 3 rows
    or a constant column."""
    from scipy import stats

    if x not in columns or y not in columns:
        raise InvalidInput(f"choose two of the report's columns ({', '.join(columns)}) for the "
                           "statistics", field="statistics", value=f"{x}, {y}")
    pairs = [(row[columns.index(x)], row[columns.index(y)]) for row in rows]
    pairs = [(float(a), float(b)) for a, b in pairs if a is not None and b is not None]
    if len(pairs) < 3:
        return None
    xs, ys = zip(*pairs, strict=True)
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    pearson = stats.pearsonr(xs, ys)
    spearman = stats.spearmanr(xs, ys)
    line = stats.linregress(xs, ys)
    t = stats.t.ppf(0.975, len(pairs) - 2)
    return Statistics(
        x=x, y=y, n=len(pairs), pearson_r=float(pearson.statistic),
        pearson_p=float(pearson.pvalue), spearman_rho=float(spearman.statistic),
        spearman_p=float(spearman.pvalue), slope=float(line.slope),
        intercept=float(line.intercept), r_squared=float(line.rvalue ** 2),
        slope_interval=(float(line.slope - t * line.stderr), float(line.slope + t * line.stderr)),
        intercept_interval=(float(line.intercept - t * line.intercept_stderr),
                            float(line.intercept + t * line.intercept_stderr)),
    )


SCHEDULES = {"none": None, "daily": 1, "weekly": 7, "monthly": 30}


class SavedReport(BrandModel):
    """A report's definition, kept by a console user and optionally shared and scheduled."""

    __tablename__ = "saved_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(320))
    shared: Mapped[bool] = mapped_column(default=False)
    schedule: Mapped[str] = mapped_column(String(16), default="none")
    # Addresses the scheduled CSV goes to, space-separated.
    recipients: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def spec_json(spec: ReportSpec) -> dict:
    return {"dataset": spec.dataset, "dimensions": list(spec.dimensions),
            "measures": list(spec.measures),
            "filters": [[item.field, item.operator, item.value] for item in spec.filters],
            "sort": spec.sort, "descending": spec.descending, "limit": spec.limit}


def spec_from_json(data: dict) -> ReportSpec:
    return ReportSpec(dataset=data["dataset"], dimensions=tuple(data.get("dimensions", ())),
                      measures=tuple(data.get("measures", ())),
                      filters=tuple(Filter(*item) for item in data.get("filters", ())),
                      sort=data.get("sort"), descending=bool(data.get("descending")),
                      limit=int(data.get("limit", 1000)))


def csv_text(columns: list[str], rows: list[tuple]) -> str:
    import io

    from saas.imports.report import write_rows

    stream = io.StringIO(newline="")
    write_rows(stream, columns, rows)
    return stream.getvalue()


def send_due_reports(session: Session, brand_name: str, now: datetime | None = None) -> int:
    """Email every scheduled report that is due as CSV through the outbox; commits."""
    from datetime import timedelta

    from saas.notifications.outbox import queue_email

    now = now or utcnow()
    sent = 0
    for report in session.scalars(select(SavedReport).where(SavedReport.schedule != "none")):
        days = SCHEDULES.get(report.schedule)
        if days is None or not report.recipients.split():
            continue
        if report.last_sent_at is not None and report.last_sent_at > now - timedelta(days=days):
            continue
        columns, rows = run_report(session, spec_from_json(report.spec))
        body = (f"{report.name} ({report.schedule} report of {brand_name}, "
                f"{now:%Y-%m-%d %H:%M} UTC), {len(rows)} rows as CSV:\n\n"
                + csv_text(columns, rows))
        for address in report.recipients.split():
            queue_email(session, address, f"{brand_name}: {report.name}", body)
        report.last_sent_at = now
        sent += 1
    session.commit()
    return sent
