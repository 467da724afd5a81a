"""Server time of the brand console's analytics dashboard on a large brand (PostgreSQL).

Provisions a throw-away platform and brand with the application's own code. Then it fills the
brand database by SQL alone (``INSERT … SELECT … FROM generate_series``). Members joined over
three years and orders span the last two, with a few channels and partners. Each member
order has one earn entry, and there are redemptions and expiries. Each redemption and each
expiry spends the points of one earlier earn entry of the same member, so no balance is ever
negative, and every member's ``balance`` is the sum of its entries. Lots are not generated,
because neither the rollup nor the dashboard reads them.

It then times one rollup over all rows, and the dashboard for the default range (30 days) and
for 90 and 365 days two ways: ``KpiEngine.kpis`` plus the three chart series, and the full
``/admin/analytics`` page through the WSGI app with a signed-in analyst (all 14 tiles).
Finally it lists the slowest SQL statements of one 365-day request and their
``EXPLAIN (ANALYZE, BUFFERS)`` plans.

Usage: python bench/dashboard.py [--members 1000000] [--entries 10000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import event, text
from werkzeug.test import Client

from bench.common import PG_SERVER, bench_runtime, machine
from saas.analytics.kpis import KpiEngine
from saas.analytics.rollup import rollup
from saas.tenancy.provisioning import BrandSpec, create_brand
from saas.wsgi_app import create_wsgi_app
from tests.console_helpers import console_sign_in, make_console_user

SLUG = "bench"
TIMEZONE = "America/New_York"
HISTORY_DAYS = 730
# Members joined over the year before the order history and during it.
JOIN_DAYS = HISTORY_DAYS + 365
# Shares of the ledger entries by kind; the rest are earn entries.
REDEEM_SHARE = 0.08
EXPIRE_SHARE = 0.04
# One order in GUEST_EVERY has no member, so it earns nothing.
GUEST_EVERY = 18
WARM_UP = 5
PAGE = f"/t/{SLUG}/admin/analytics"

INSERT_MEMBERS = """
INSERT INTO member (ref, email, locale, status, joined_at, balance, debt, created_at)
SELECT 'm' || lpad(i::text, 7, '0'), 'member' || i || '@example.com', 'en', 'active',
       joined, 0, 0, joined
FROM (SELECT i, :join_start + (i - 1 + random()) / :members * :join_span AS joined
      FROM generate_series(1, :members) i) AS generated
"""

# Orders grow linearly over the history: order i of n is placed at sqrt(i / n) of the span,
# so ids rise with ordered_at. A member order goes to a member who had joined by then: half
# uniformly among them, half skewed towards the oldest members (frequent buyers).
INSERT_ORDERS = """
INSERT INTO purchase_order (source, ref, member_id, amount_minor, currency, base_amount_minor,
                            fx_rate, ordered_at, recorded_at, channel, partner, categories,
                            items)
SELECT channel, 'o' || i, member_id, amount, 'USD', amount, '1', ordered_at,
       ordered_at + interval '2 seconds', channel, partner, '[]', '[]'
FROM (
    SELECT i, ordered_at, 500 + floor(20000 * random() ^ 2)::bigint AS amount,
           CASE WHEN i % :guest_every = 0 THEN NULL
                WHEN random() < 0.5 THEN 1 + floor(joined * random())::bigint
                ELSE 1 + floor(joined * random() ^ 3)::bigint END AS member_id,
           CASE WHEN channel_pick < 0.45 THEN 'store' WHEN channel_pick < 0.85 THEN 'web'
                ELSE 'app' END AS channel,
           CASE WHEN partner_pick < 0.05 THEN 'fuelco' WHEN partner_pick < 0.08 THEN 'skyair'
                WHEN partner_pick < 0.10 THEN 'firstbank' END AS partner
    FROM (
        SELECT i, ordered_at, random() AS channel_pick, random() AS partner_pick,
               greatest(1, least(:members, floor(:members * extract(epoch FROM
                   ordered_at - :join_start) / extract(epoch FROM :join_span))))::bigint
                   AS joined
        FROM (SELECT i, :history_start + sqrt((i - 1 + random()) / :orders) * :history_span
                        AS ordered_at
              FROM generate_series(1, :orders) i) AS timed
    ) AS placed
) AS generated
"""

INSERT_REWARDS = """
INSERT INTO reward (code, name, description, cost_points, active)
SELECT 'reward-' || cost, json_build_object('en', cost || '-point reward'), '{}', cost, true
FROM unnest(ARRAY[25, 50, 100, 200]) AS cost
"""

# Candidate earn entries, one per member order, kept until the ledger is written.
CREATE_EARNS = """
CREATE TEMPORARY TABLE bench_earn AS
SELECT id AS order_id, member_id, base_amount_minor / 100 AS points, ordered_at, recorded_at,
       source
FROM purchase_order WHERE member_id IS NOT NULL
"""

# A redemption spends one earlier earn entry's points (order ids ending in 3 or 7) on the
# most expensive reward they cover, 1 to 90 days later. A hash of the order id picks the sample.
INSERT_REDEMPTIONS = """
INSERT INTO redemption (member_id, reward_id, points, source, status, issued_at, used_at,
                        used_by)
SELECT member_id, reward.id, reward.cost_points, source, 'used', issued_at, issued_at, source
FROM (
    SELECT member_id, source, ordered_at + (1 + order_id % 90) * interval '1 day' AS issued_at,
           (SELECT max(cost) FROM unnest(ARRAY[25, 50, 100, 200]) AS cost
            WHERE cost <= points) AS cost
    FROM bench_earn
    WHERE order_id % 10 IN (3, 7) AND points >= 25
          AND ordered_at + (1 + order_id % 90) * interval '1 day' < :history_end
    ORDER BY (order_id * 2654435761) % 4294967311
    LIMIT :count
) AS picked
JOIN reward ON reward.cost_points = picked.cost
ORDER BY issued_at
"""

# An expiry takes all points of one earn entry (order ids ending in 1, 5 or 9) at the end of
# the UTC day twelve months after it was earned.
CREATE_EXPIRIES = """
CREATE TEMPORARY TABLE bench_expiry AS
SELECT member_id, -points AS points,
       date_trunc('day', ordered_at + interval '12 months') + interval '1 day' AS occurred_at
FROM bench_earn
WHERE order_id % 10 IN (1, 5, 9) AND points > 0
      AND date_trunc('day', ordered_at + interval '12 months') + interval '1 day' < :history_end
ORDER BY (order_id * 2654435761) % 4294967311
LIMIT :count
"""

# All entries in one statement, in time order, so entry ids rise with occurred_at.
INSERT_ENTRIES = """
INSERT INTO ledger_entry (member_id, kind, points, source, reference_type, reference_id,
                          occurred_at, recorded_at)
SELECT member_id, kind, points, source, reference_type, reference_id, occurred_at, recorded_at
FROM (
    SELECT member_id, 'earn' AS kind, points, source, 'order' AS reference_type,
           order_id AS reference_id, ordered_at AS occurred_at, recorded_at
    FROM bench_earn WHERE points > 0
    UNION ALL
    SELECT member_id, 'redeem', -points, source, 'redemption', id, issued_at, issued_at
    FROM redemption
    UNION ALL
    SELECT member_id, 'expire', points, 'system', NULL, NULL, occurred_at, occurred_at
    FROM bench_expiry
) AS entries
ORDER BY occurred_at
"""

UPDATE_BALANCES = """
UPDATE member SET balance = totals.balance, last_activity_at = totals.last_activity_at
FROM (SELECT member_id, sum(points) AS balance,
             max(occurred_at) FILTER (WHERE kind <> 'expire') AS last_activity_at
      FROM ledger_entry GROUP BY member_id) AS totals
WHERE member.id = totals.member_id
"""


def generate(session, members: int, entries: int, history_end: datetime) -> list[tuple]:
    """Fill the brand database; return (step, seconds, rows) for each step."""
    redeems = round(entries * REDEEM_SHARE)
    expiries = round(entries * EXPIRE_SHARE)
    earns = entries - redeems - expiries
    orders = math.ceil(earns * GUEST_EVERY / (GUEST_EVERY - 1))
    history_start = history_end - timedelta(days=HISTORY_DAYS)
    values = {
        "members": members, "orders": orders, "guest_every": GUEST_EVERY,
        "join_start": history_end - timedelta(days=JOIN_DAYS),
        "join_span": timedelta(days=JOIN_DAYS), "history_start": history_start,
        "history_span": timedelta(days=HISTORY_DAYS), "history_end": history_end,
    }
    # Session settings only: a fixed seed, and room for the sorts of the big inserts.
    session.execute(text("SELECT setseed(0.42)"))
    session.execute(text("SET work_mem = '256MB'"))
    steps = []

    def step(name: str, sql: str, **extra) -> int:
        start = time.perf_counter()
        rows = session.execute(text(sql), {**values, **extra}).rowcount
        steps.append((name, time.perf_counter() - start, rows))
        return rows

    step("members", INSERT_MEMBERS)
    step("orders", INSERT_ORDERS)
    step("rewards", INSERT_REWARDS)
    earn_rows = step("earn candidates (temporary table)", CREATE_EARNS)
    step("redemptions", INSERT_REDEMPTIONS, count=redeems)
    step("expiries (temporary table)", CREATE_EXPIRIES, count=expiries)
    if earn_rows != earns:
        # The guest share is fixed, so the earn entries only approximate the target count.
        print(f"earn entries: {earn_rows:,} (target {earns:,})")
    step("ledger entries", INSERT_ENTRIES)
    step("member balances", UPDATE_BALANCES)
    start = time.perf_counter()
    session.commit()
    steps.append(("commit", time.perf_counter() - start, 0))
    return steps


def vacuum_analyze(database_url: str) -> float:
    start = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def check_ledger(session) -> dict[str, int]:
    """Count rows and check that balances match the entries and never go negative."""
    counts = dict(session.execute(text(
        "SELECT kind, count(*) FROM ledger_entry GROUP BY kind")).all())
    counts["members"] = session.scalar(text("SELECT count(*) FROM member"))
    counts["orders"] = session.scalar(text("SELECT count(*) FROM purchase_order"))
    counts["redemptions"] = session.scalar(text("SELECT count(*) FROM redemption"))
    mismatched = session.scalar(text(
        "SELECT count(*) FROM member LEFT JOIN (SELECT member_id, sum(points) AS total "
        "FROM ledger_entry GROUP BY member_id) AS sums ON sums.member_id = member.id "
        "WHERE member.balance <> coalesce(sums.total, 0) OR member.balance < 0"))
    if mismatched:
        raise SystemExit(f"{mismatched} members have a balance that differs from their "
                         "entries or is negative")
    session.rollback()
    return counts


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[math.ceil(len(ordered) * 0.95) - 1]


def timed(call: Callable[[], None], requests: int) -> list[float]:
    for _ in range(WARM_UP):
        call()
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


class StatementLog:
    """SQL statements of a brand engine with their parameters and times, while recording."""

    def __init__(self, engine) -> None:
        self.recording = False
        self.statements: list[tuple[float, str, object]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection, cursor, statement, parameters, context, executemany):
        connection.info["bench_started"] = time.perf_counter()

    def _after(self, connection, cursor, statement, parameters, context, executemany):
        if self.recording:
            elapsed = (time.perf_counter() - connection.info["bench_started"]) * 1000
            self.statements.append((elapsed, statement, parameters))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000,
                        help="members to generate; default 1000000")
    parser.add_argument("--entries", type=int, default=10_000_000,
                        help="ledger entries to generate (88 %% earn, 8 %% redeem, 4 %% expire); "
                             "default 10000000")
    parser.add_argument("--requests", type=int, default=50,
                        help="timed requests per range and method, after 5 warm-up "
                             "requests; default 50")
    parser.add_argument("--explain", type=int, default=4,
                        help="slowest statements of a 365-day request to EXPLAIN ANALYZE; "
                             "default 4")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"load average before: {os.getloadavg()}")
    # The history ends at midnight UTC today, so every generated row is in the past.
    history_end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    with bench_runtime() as (runtime, prefix):
        brand = create_brand(runtime, BrandSpec(slug=SLUG, name="Bench", region="us",
                                                timezone=TIMEZONE))
        with runtime.open_brand_session(brand) as session:
            started = time.perf_counter()
            steps = generate(session, args.members, args.entries, history_end)
            steps.append(("VACUUM ANALYZE", vacuum_analyze(
                f"{PG_SERVER}/{prefix}_us_{SLUG}"), 0))
            generation = time.perf_counter() - started
            for name, seconds, rows in steps:
                print(f"  {name}: {seconds:.1f} s" + (f", {rows:,} rows" if rows else ""))
            print(f"generation: {generation:.1f} s")
            print(f"rows: {check_ledger(session)}")
            size = session.scalar(text("SELECT pg_size_pretty(pg_database_size("
                                       "current_database()))"))
            print(f"database size: {size}")

            # The whole history is older than any open transaction, so no grace is needed.
            start = time.perf_counter()
            added = rollup(session, TIMEZONE, grace=timedelta(0))
            session.commit()
            print(f"rollup: {time.perf_counter() - start:.1f} s, {added}, peak memory of the "
                  f"process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
            vacuum_analyze(f"{PG_SERVER}/{prefix}_us_{SLUG}")
            latest = session.scalar(text(
                "SELECT max(day) FROM kpi_day WHERE dimension = 'all'"))
            session.rollback()

        measure(runtime, brand, latest, args)
    print(f"load average after: {os.getloadavg()}")


def engine_request(engine: KpiEngine, start: date, end: date) -> None:
    """Compute what the dashboard shows: the KPIs and the three chart series."""
    engine.kpis(start, end)
    for metric in ("points_earned", "points_redeemed", "new_members"):
        engine.daily_series(metric, start, end)
    engine.session.rollback()


def page_request(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200 or b'data-kpi="members_total"' not in response.data:
        raise SystemExit(f"{url} returned {response.status_code} without the KPI tiles")


def measure(runtime, brand, latest: date, args) -> None:
    """Time the dashboard for each range, then explain the slowest statements."""
    email = "analyst@example.com"
    secret = make_console_user(runtime, email, brand=SLUG, role="analyst")
    client = Client(create_wsgi_app(runtime=runtime))
    response = console_sign_in(runtime, client, f"/t/{SLUG}", email, secret)
    if response.status_code != 302:
        raise SystemExit(f"console sign-in failed with {response.status_code}")

    ranges = {"30 days (default)": None, "90 days": 90, "365 days": 365}
    with runtime.open_brand_session(brand) as session:
        log = StatementLog(session.get_bind())
        engine = KpiEngine(session, brand.timezone, brand.base_currency)
        for label, days in ranges.items():
            start = latest - timedelta(days=(days or 30) - 1)
            url = PAGE if days is None else f"{PAGE}?start={start}&end={latest}"

            calls = (("KpiEngine", partial(engine_request, engine, start, latest)),
                     ("page", partial(page_request, client, url)))
            for method, call in calls:
                p50, p95 = percentiles(timed(call, args.requests))
                print(f"{label}, {method}: {args.requests} requests, p50 {p50:.0f} ms, "
                      f"p95 {p95:.0f} ms")

        log.recording = True
        direct_start = latest - timedelta(days=364)
        engine.kpis(direct_start, latest)
        log.recording = False
        session.rollback()
        slowest = sorted(log.statements, key=lambda item: item[0], reverse=True)
        total = sum(item[0] for item in slowest)
        print(f"365-day kpis: {len(slowest)} statements, {total:.0f} ms in all; slowest:")
        connection = session.connection()
        for elapsed, statement, parameters in slowest[:args.explain]:
            print(f"--- {elapsed:.0f} ms\n{statement}\n{parameters}")
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            print("\n".join(row[0] for row in plan))
        session.rollback()


if __name__ == "__main__":
    main()
