"""The incremental rollup: add new ledger entries, orders, members and refunds to the day rows.

Each run reads only rows whose id is above the source's watermark, sums them by the
brand's local day and dimension, adds the sums to ``kpi_day`` with one upsert per batch, and
moves the watermark, all in the caller's transaction. It also adds buyers and redeemers to
the day member sets (``kpi_day_members``), written at the end of the run or when too many are
in memory. Accruals never touch these tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from saas.analytics.activity import DayMemberSets
from saas.analytics.models import ALL, ORDER_DIMENSIONS, KpiDay, KpiDayMembers, RollupWatermark
from saas.db import dialect_insert, utcnow
from saas.loyalty.models import EntryKind, LedgerEntry, Member, Order, OrderRefund

BATCH_SIZE = 10_000
# Day rows per executemany call of the upsert.
UPSERT_ROWS = 1_000
# Member sets per executemany call. Each is a serialized bitmap of up to a few hundred KB.
UPSERT_SETS = 100
# Member sets a run keeps in memory before it writes them out, so a long backlog (an import of
# years of history) uses bounded memory. Dense sets of a large brand are about 30 KB each.
MEMORY_SETS = 5_000
# Ids come from sequences, so a transaction can commit a lower id after a higher one is
# already visible. A run stops before a gap in the ids while the row after it is younger
# than this, and treats an older gap as ids of rolled-back transactions.
# NOTE: a transaction that stays open longer than GRACE with an uncommitted row is skipped.
GRACE = timedelta(minutes=10)

Key = tuple[date, str, str]
Sums = dict[Key, dict[str, int]]


@dataclass(frozen=True)
class Source:
    name: str
    read: Callable[[Session, int, int], list[Any]]
    add: Callable[[Sums, DayMemberSets, Any, ZoneInfo], None]
    # The business timestamp whose local day a row counts on.
    moment: str
    # Whether rows of this source change the day member sets.
    changes_members: bool


def rollup(session: Session, timezone: str, *, now: datetime | None = None,
           grace: timedelta = GRACE, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Add every committed row past the watermarks; return the rows added per source.

    The caller commits. Concurrent runs for one brand wait for each other on the watermark
    rows (row locks on PostgreSQL, the single writer on SQLite).
    """
    zone = ZoneInfo(timezone)
    cutoff = (now or utcnow()) - grace
    marks = _lock_watermarks(session)
    members = DayMemberSets(session)
    added = {}
    for source in SOURCES:
        added[source.name] = _roll_source(session, source, marks[source.name], zone, cutoff,
                                          batch_size, members)
    _upsert_member_sets(session, members)
    return added


def _roll_source(session: Session, source: Source, mark: RollupWatermark, zone: ZoneInfo,
                 cutoff: datetime, batch_size: int, members: DayMemberSets) -> int:
    count = 0
    while True:
        rows = source.read(session, mark.last_id, batch_size)
        ready = rows_before_recent_gap(rows, mark.last_id, cutoff)
        if not ready:
            return count
        if source.changes_members:
            members.load({local_day(getattr(row, source.moment), zone) for row in ready})
        sums: Sums = defaultdict(lambda: defaultdict(int))
        for row in ready:
            source.add(sums, members, row, zone)
        _upsert(session, sums)
        if len(members.sets) > MEMORY_SETS:
            _upsert_member_sets(session, members)
            members.forget()
        mark.last_id = ready[-1].id
        mark.updated_at = utcnow()
        count += len(ready)
        if len(ready) < len(rows) or len(rows) < batch_size:
            return count


def rows_before_recent_gap(rows: list[Any], last_id: int, cutoff: datetime) -> list[Any]:
    """Return the rows up to the first gap in ids whose next row was recorded after cutoff."""
    previous = last_id
    for index, row in enumerate(rows):
        if row.id != previous + 1 and row.recorded_at > cutoff:
            return rows[:index]
        previous = row.id
    return rows


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """Return the brand's calendar day of a UTC timestamp."""
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a local day; it lasts 23 or 25 hours across DST."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


# --- Sources ------------------------------------------------------------------------------

def _read_entries(session: Session, last_id: int, limit: int) -> list[Any]:
    of_order = and_(LedgerEntry.reference_type == "order", Order.id == LedgerEntry.reference_id)
    return list(session.execute(
        select(LedgerEntry.id, LedgerEntry.member_id, LedgerEntry.kind, LedgerEntry.points,
               LedgerEntry.reference_type, LedgerEntry.occurred_at, LedgerEntry.recorded_at,
               Order.channel, Order.partner, Order.tier)
        .outerjoin(Order, of_order)
        .where(LedgerEntry.id > last_id).order_by(LedgerEntry.id).limit(limit)
    ))


def _add_entry(sums: Sums, members: DayMemberSets, row: Any, zone: ZoneInfo) -> None:
    day = local_day(row.occurred_at, zone)
    measure, points = entry_measure(row.kind, row.points, row.reference_type)
    for key in _keys(day, row):
        sums[key][measure] += points
    if row.kind == EntryKind.REDEEM:
        members.add_redeemer(day, row.member_id)


def entry_measure(kind: str, points: int, reference_type: str | None) -> tuple[str, int]:
    """Return the day-row measure a ledger entry adds to, and the amount it adds.

    A reversal of an order's points lowers points earned, and a cancelled redemption lowers
    points redeemed, so both read as net figures.
    """
    if kind == EntryKind.EARN:
        return "points_earned", points
    if kind == EntryKind.REDEEM:
        return "points_redeemed", -points
    if kind == EntryKind.EXPIRE:
        return "points_expired", -points
    if kind == EntryKind.ADJUST:
        return "points_adjusted", points
    if kind == EntryKind.REVERSE and reference_type == "order":
        return "points_earned", points
    if kind == EntryKind.REVERSE and reference_type == "redemption":
        return "points_redeemed", -points
    return "points_other", points


def _read_refunds(session: Session, last_id: int, limit: int) -> list[Any]:
    earlier_refund = aliased(OrderRefund)
    earlier = (select(func.coalesce(func.sum(earlier_refund.amount_minor), 0))
               .where(earlier_refund.order_id == OrderRefund.order_id,
                      earlier_refund.id < OrderRefund.id)
               .scalar_subquery())
    return list(session.execute(
        select(OrderRefund.id, OrderRefund.amount_minor, OrderRefund.refunded_at,
               OrderRefund.recorded_at, earlier.label("earlier_minor"), Order.member_id,
               Order.amount_minor.label("order_minor"), Order.base_amount_minor, Order.channel,
               Order.partner, Order.tier)
        .join(Order, Order.id == OrderRefund.order_id)
        .where(OrderRefund.id > last_id).order_by(OrderRefund.id).limit(limit)
    ))


def _add_refund(sums: Sums, members: DayMemberSets, row: Any, zone: ZoneInfo) -> None:
    amount = refund_base_minor(row.earlier_minor, row.amount_minor, row.order_minor,
                               row.base_amount_minor)
    for key in _keys(local_day(row.refunded_at, zone), row):
        sums[key]["revenue_minor"] -= amount
        if row.member_id is not None:
            sums[key]["member_revenue_minor"] -= amount


def refund_base_minor(earlier: int, amount: int, order_amount: int, order_base: int) -> int:
    """Return a refund's share of the order's amount in the base currency.

    Refunds are taken cumulatively, so the refunds that return a whole order's amount
    return exactly its base amount, whatever the rounding of each one.
    """
    if not order_amount:
        return 0
    return ((earlier + amount) * order_base // order_amount
            - earlier * order_base // order_amount)


def _read_orders(session: Session, last_id: int, limit: int) -> list[Any]:
    return list(session.execute(
        select(Order.id, Order.member_id, Order.base_amount_minor, Order.ordered_at,
               Order.recorded_at, Order.channel, Order.partner, Order.tier)
        .where(Order.id > last_id).order_by(Order.id).limit(limit)
    ))


def _add_order(sums: Sums, members: DayMemberSets, row: Any, zone: ZoneInfo) -> None:
    for key in _keys(local_day(row.ordered_at, zone), row):
        measures = sums[key]
        measures["orders"] += 1
        measures["revenue_minor"] += row.base_amount_minor
        if row.member_id is not None:
            measures["member_orders"] += 1
            measures["member_revenue_minor"] += row.base_amount_minor
            members.add_buyer(*key, row.member_id)


def _read_members(session: Session, last_id: int, limit: int) -> list[Any]:
    return list(session.execute(
        select(Member.id, Member.joined_at, Member.created_at.label("recorded_at"))
        .where(Member.id > last_id).order_by(Member.id).limit(limit)
    ))


def _add_member(sums: Sums, members: DayMemberSets, row: Any, zone: ZoneInfo) -> None:
    sums[(local_day(row.joined_at, zone), ALL, "")]["new_members"] += 1


def _keys(day: date, row: Any) -> Iterable[Key]:
    """Return the day row keys of an order's row: brand-wide, then each dimension it has."""
    yield day, ALL, ""
    for dimension in ORDER_DIMENSIONS:
        value = getattr(row, dimension)
        if value:
            yield day, dimension, value


SOURCES = (
    Source("ledger_entry", _read_entries, _add_entry, "occurred_at", True),
    Source("purchase_order", _read_orders, _add_order, "ordered_at", True),
    Source("member", _read_members, _add_member, "joined_at", False),
    Source("order_refund", _read_refunds, _add_refund, "refunded_at", False),
)


# --- Writing ------------------------------------------------------------------------------

def _lock_watermarks(session: Session) -> dict[str, RollupWatermark]:
    names = [source.name for source in SOURCES]
    insert = dialect_insert(session)
    session.execute(insert(RollupWatermark).values(
        [{"source": name, "last_id": 0, "updated_at": utcnow()} for name in names]
    ).on_conflict_do_nothing(index_elements=["source"]))
    marks = session.scalars(
        select(RollupWatermark).where(RollupWatermark.source.in_(names)).with_for_update()
        .execution_options(populate_existing=True)
    )
    return {mark.source: mark for mark in marks}


def _upsert(session: Session, sums: Sums) -> None:
    if not sums:
        return
    insert = dialect_insert(session)
    now = utcnow()
    # One statement per set of measures, because a multi-row upsert names its columns once.
    by_columns: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for (day, dimension, value), measures in sums.items():
        columns = tuple(sorted(measures))
        by_columns[columns].append({"day": day, "dimension": dimension, "value": value,
                                    "updated_at": now, **measures})
    table = KpiDay.__table__
    connection = session.connection()
    for columns, rows in by_columns.items():
        # Core executemany, so the statement compiles once for any number of rows.
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "dimension", "value"],
            set_={**{name: table.c[name] + statement.excluded[name] for name in columns},
                  "updated_at": statement.excluded.updated_at},
        )
        for start in range(0, len(rows), UPSERT_ROWS):
            connection.execute(statement, rows[start:start + UPSERT_ROWS])


def _upsert_member_sets(session: Session, members: DayMemberSets) -> None:
    rows = members.rows()
    if not rows:
        return
    insert = dialect_insert(session)
    table = KpiDayMembers.__table__
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "dimension", "value", "kind"],
        set_={name: statement.excluded[name] for name in ("members", "size", "updated_at")},
    )
    connection = session.connection()
    for start in range(0, len(rows), UPSERT_SETS):
        connection.execute(statement, rows[start:start + UPSERT_SETS])

