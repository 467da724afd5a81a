"""Write a batch of imported transactions with the ledger's rules, in bulk.

Each row goes through the same evaluator as live accrual and is credited the way
``saas.loyalty.ledger.post`` credits: debt first, then a new lot with its expiry. Orders,
entries and lots are inserted with one statement per table per batch, and each member row
is locked and updated once per batch.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Row, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.imports.report import ErrorReport
from saas.imports.rows import TransactionRow
from saas.loyalty import money
from saas.loyalty.errors import LoyaltyError
from saas.loyalty.evaluator import OrderFacts, evaluate
from saas.loyalty.expiry import lot_expiry
from saas.loyalty.models import (
    EntryKind,
    ExchangeRate,
    LedgerEntry,
    Lot,
    Member,
    MemberStatus,
    Order,
    Tier,
)
from saas.loyalty.orders import refund
from saas.loyalty.policies import Policies
from saas.loyalty.tiers import tier_for_points
from saas.tenancy.brands import BrandInfo

IN_CHUNK = 900  # bound parameters per IN (...) list, under every database's limit

_member = Member.__table__.c
MEMBER_COLUMNS = (_member.id, _member.ref, _member.status, _member.balance, _member.debt,
                  _member.tier_id, _member.tier_since, _member.last_activity_at,
                  _member.merged_into_id)
MemberRow = Row


@dataclass
class MemberState:
    id: int
    ref: str
    status: str
    balance: int
    debt: int
    tier_id: int | None
    tier_since: datetime | None
    last_activity_at: datetime | None
    qualifying: int
    changed: bool = False


@dataclass
class BatchTotals:
    imported: int = 0
    existing: int = 0
    refunds: int = 0
    members_created: int = 0
    points: int = 0


@dataclass
class ImportContext:
    """Settings shared by every batch of one import."""

    brand: BrandInfo
    source: str
    rules: list
    tiers: list[Tier]
    policies: Policies
    rates: dict[str, list[tuple[datetime, Decimal]]] = field(default_factory=dict)


def write_batch(session: Session, context: ImportContext, rows: list[TransactionRow],
                errors: ErrorReport, totals: BatchTotals) -> None:
    """Record a batch of parsed rows and commit it."""
    purchases = [row for row in rows if not row.is_refund]
    new_rows = _drop_recorded(session, context.source, purchases, totals)
    first_seen: dict[str, datetime] = {}
    for row in new_rows:
        seen = first_seen.get(row.member_ref)
        first_seen[row.member_ref] = row.ordered_at if seen is None else min(seen, row.ordered_at)
    members = _lock_members(session, context, first_seen, totals)
    orders, entries, lots = [], [], []
    for row in new_rows:
        _credit_row(context, row, members[row.member_ref], orders, entries, lots, errors, totals)
    _insert(session, orders, entries, lots)
    _save_members(session, members.values())
    for row in (row for row in rows if row.is_refund):
        _refund_row(session, context, row, errors, totals)
    session.commit()


def _drop_recorded(session: Session, source: str, rows: list[TransactionRow],
                   totals: BatchTotals) -> list[TransactionRow]:
    refs = list({row.order_ref for row in rows})
    recorded: set[str] = set()
    for start in range(0, len(refs), IN_CHUNK):
        chunk = refs[start:start + IN_CHUNK]
        recorded.update(session.scalars(
            select(Order.ref).where(Order.source == source, Order.ref.in_(chunk))
        ))
    fresh, seen = [], set()
    for row in rows:
        if row.order_ref in recorded or row.order_ref in seen:
            totals.existing += 1
            continue
        seen.add(row.order_ref)
        fresh.append(row)
    return fresh


def _lock_members(session: Session, context: ImportContext, first_seen: dict[str, datetime],
                  totals: BatchTotals) -> dict[str, MemberState]:
    """Lock the batch's members in id order, creating those seen for the first time."""
    table = Member.__table__
    found: dict[str, MemberRow] = {}
    refs = sorted(first_seen)
    for start in range(0, len(refs), IN_CHUNK):
        query = (select(*MEMBER_COLUMNS).where(table.c.ref.in_(refs[start:start + IN_CHUNK]))
                 .order_by(table.c.id).with_for_update())
        found.update({row.ref: row for row in session.execute(query)})
    found.update(_follow_aliases(session, found))
    missing = [ref for ref in refs if ref not in found]
    if missing:
        created = session.connection().execute(
            insert(table).returning(table.c.id, table.c.ref, sort_by_parameter_order=True),
            [_new_member(ref, first_seen[ref]) for ref in missing],
        ).all()
        totals.members_created += len(created)
        created_ids = {ref: member_id for member_id, ref in created}
    else:
        created_ids = {}
    qualifying = _qualifying(session, list({member.id for member in found.values()}))
    # An alias and the member it was merged into share one state, so both refs add up.
    by_id = {member.id: _state(member, qualifying.get(member.id, 0))
             for member in found.values()}
    states = {ref: by_id[member.id] for ref, member in found.items()}
    for ref, member_id in created_ids.items():
        states[ref] = MemberState(member_id, ref, MemberStatus.ACTIVE, 0, 0, None, None, None, 0)
    return states


def _follow_aliases(session: Session, found: dict[str, MemberRow]) -> dict[str, MemberRow]:
    """Replace merged records by the member they were merged into (locked too)."""
    table = Member.__table__
    targets = {}
    for ref, member in found.items():
        seen = 0
        while member.merged_into_id is not None and seen < 10:
            query = select(*MEMBER_COLUMNS).where(table.c.id == member.merged_into_id)
            member = session.execute(query.with_for_update()).one()
            seen += 1
        targets[ref] = member
    return targets


def _new_member(ref: str, first_seen: datetime) -> dict:
    return {"ref": ref, "status": MemberStatus.ACTIVE, "joined_at": first_seen, "balance": 0,
            "debt": 0, "created_at": utcnow()}


def _qualifying(session: Session, member_ids: list[int]) -> dict[int, int]:
    """Points already earned by these members (lifetime; see the NOTE in _credit_row)."""
    totals: dict[int, int] = {}
    for start in range(0, len(member_ids), IN_CHUNK):
        chunk = member_ids[start:start + IN_CHUNK]
        rows = session.execute(
            select(LedgerEntry.member_id, func.sum(LedgerEntry.points))
            .where(LedgerEntry.member_id.in_(chunk),
                   LedgerEntry.kind.in_([EntryKind.EARN, EntryKind.REVERSE]),
                   LedgerEntry.reference_type == "order")
            .group_by(LedgerEntry.member_id)
        )
        totals.update({member_id: int(points) for member_id, points in rows})
    return totals


def _state(member: MemberRow, qualifying: int) -> MemberState:
    return MemberState(member.id, member.ref, member.status, member.balance, member.debt,
                       member.tier_id, member.tier_since, member.last_activity_at, qualifying)


def _credit_row(context: ImportContext, row: TransactionRow, member: MemberState,
                orders: list, entries: list, lots: list, errors: ErrorReport,
                totals: BatchTotals) -> None:
    if member.status != MemberStatus.ACTIVE:
        errors.add(row.line, "member", row.member_ref,
                   f"member {row.member_ref!r} is {member.status}; only active members earn")
        return
    try:
        rate = _rate(context, row.currency, row.ordered_at)
    except LoyaltyError as exc:
        errors.add(row.line, "currency", row.currency, exc.message)
        return
    base_minor = money.convert_to_base(row.amount_minor, row.currency,
                                       context.brand.base_currency, rate)
    tier = next((t for t in context.tiers if t.id == member.tier_id), None)
    evaluation = evaluate(
        context.rules,
        OrderFacts(amount_minor=base_minor, currency=context.brand.base_currency,
                   ordered_at=row.ordered_at, channel=row.channel,
                   categories=frozenset(row.categories), tier=tier.code if tier else None),
        context.brand.timezone,
        Decimal(tier.multiplier) if tier else Decimal(1),
        tier.code if tier else None,
    )
    index = len(orders)
    orders.append({
        "source": context.source, "ref": row.order_ref, "member_id": member.id,
        "amount_minor": row.amount_minor, "currency": row.currency,
        "base_amount_minor": base_minor, "fx_rate": str(rate), "ordered_at": row.ordered_at,
        "recorded_at": utcnow(), "channel": row.channel, "partner": None, "location": None,
        "categories": list(row.categories), "items": [],
    })
    totals.imported += 1
    member.last_activity_at = max(filter(None, [member.last_activity_at, row.ordered_at]))
    member.changed = True
    if evaluation.points:
        _post_credit(context, row, member, evaluation, index, entries, lots)
        totals.points += evaluation.points
    _upgrade_tier(context, member, evaluation.points, row.ordered_at)


def _upgrade_tier(context: ImportContext, member: MemberState, points: int,
                  at: datetime) -> None:
    """Move the member up as live accrual does after every order, zero-point ones included."""
    # NOTE: tier progress counts lifetime earnings plus this import. With a rolling
    # window, points that leave the window during the import are dropped only by the
    # scheduled tier recalculation.
    member.qualifying += points
    reached = tier_for_points(context.tiers, member.qualifying)
    current = next((t for t in context.tiers if t.id == member.tier_id), None)
    if reached is not None and (current is None or reached.threshold > current.threshold):
        member.tier_id = reached.id
        member.tier_since = at


def _post_credit(context, row, member, evaluation, order_index, entries, lots) -> None:
    points = evaluation.points
    paid = min(member.debt, points)
    member.debt -= paid
    member.balance += points
    entry_index = len(entries)
    entries.append({
        "member_id": member.id, "kind": EntryKind.EARN, "points": points,
        "source": context.source, "reference_type": "order", "order_index": order_index,
        "idempotency_key": None, "reason": None,
        "detail": {"lines": evaluation.as_json()["lines"]},
        "occurred_at": row.ordered_at, "recorded_at": utcnow(),
    })
    if points - paid:
        lots.append({
            "member_id": member.id, "entry_index": entry_index, "points": points - paid,
            "remaining": points - paid, "earned_at": row.ordered_at,
            "expires_at": lot_expiry(row.ordered_at, context.policies.expiry,
                                     context.brand.timezone),
        })


def _rate(context: ImportContext, currency: str, at: datetime) -> Decimal:
    from saas.loyalty.errors import NoExchangeRate

    if currency == context.brand.base_currency:
        return Decimal(1)
    history = context.rates.get(currency, [])
    position = bisect.bisect_right([start for start, _ in history], at)
    if position == 0:
        raise NoExchangeRate(f"no exchange rate from {currency} to "
                             f"{context.brand.base_currency} at {at.isoformat()}; add one")
    return history[position - 1][1]


def load_rates(session: Session) -> dict[str, list[tuple[datetime, Decimal]]]:
    rates: dict[str, list[tuple[datetime, Decimal]]] = {}
    for rate in session.scalars(select(ExchangeRate).order_by(ExchangeRate.valid_from)):
        rates.setdefault(rate.currency, []).append((rate.valid_from, Decimal(rate.rate)))
    return rates


def _insert(session: Session, orders: list, entries: list, lots: list) -> None:
    """Insert with ids taken up front, so no statement needs RETURNING in file order."""
    if not orders:
        return
    connection = session.connection()
    order_ids = allocate_ids(connection, Order.__table__, len(orders))
    for order, order_id in zip(orders, order_ids, strict=True):
        order["id"] = order_id
    insert_rows(connection, Order.__table__, orders)
    if not entries:
        return
    entry_ids = allocate_ids(connection, LedgerEntry.__table__, len(entries))
    for entry, entry_id in zip(entries, entry_ids, strict=True):
        entry["id"] = entry_id
        entry["reference_id"] = order_ids[entry.pop("order_index")]
    insert_rows(connection, LedgerEntry.__table__, entries)
    for lot in lots:
        lot["entry_id"] = entry_ids[lot.pop("entry_index")]
    if lots:
        insert_rows(connection, Lot.__table__, lots)


def insert_rows(connection, table, rows: list[dict]) -> None:
    """Insert many rows: COPY on PostgreSQL, one executemany elsewhere."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    names = ", ".join(columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([
                json.dumps(row[name]) if name in json_columns else row[name] for name in columns
            ])


def allocate_ids(connection, table, count: int) -> list[int]:
    """Reserve ``count`` primary keys of ``table``.

    PostgreSQL hands them out from the table's sequence. On SQLite the batch has the
    database's only write lock, so the ids after the current maximum are free.
    """
    if connection.dialect.name == "postgresql":
        return list(connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :count)"),
            {"table": table.name, "count": count},
        ).scalars())
    start = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see how much the import has grown the tables.

    Statistics taken while the tables were empty make the planner scan them in full,
    which turns each look-up of a batch into seconds once the import has added rows.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("purchase_order", "member", "ledger_entry", "lot"):
        session.execute(text(f"ANALYZE {table}"))
    session.commit()


def _save_members(session: Session, members) -> None:
    unique = {m.id: m for m in members if m.changed}.values()
    changed = [
        {"member_id": m.id, "balance": m.balance, "debt": m.debt, "tier_id": m.tier_id,
         "tier_since": m.tier_since, "last_activity_at": m.last_activity_at}
        for m in unique
    ]
    if not changed:
        return
    statement = (
        update(Member.__table__)
        .where(Member.__table__.c.id == bindparam("member_id"))
        .values(balance=bindparam("balance"), debt=bindparam("debt"),
                tier_id=bindparam("tier_id"), tier_since=bindparam("tier_since"),
                last_activity_at=bindparam("last_activity_at"))
    )
    session.connection().execute(statement, changed)


def _refund_row(session: Session, context: ImportContext, row: TransactionRow,
                errors: ErrorReport, totals: BatchTotals) -> None:
    try:
        with session.begin_nested():
            result = refund(session, context.source, row.order_ref, row.refund_ref,
                            row.amount_minor, at=row.ordered_at)
    except LoyaltyError as exc:
        errors.add(row.line, "refund", row.order_ref, exc.message)
        return
    if not result.replayed:
        totals.refunds += 1
