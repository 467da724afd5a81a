"""Cost of the ``analytics.rollup`` job per 1,000 new ledger entries on PostgreSQL.

Each round inserts 1,000 orders and their 1,000 earn entries by SQL (half of them with a
channel), then times one rollup run that adds exactly those rows to ``kpi_day``, commit
included. Live rounds put the orders on one local day, as a minute of live traffic does.
Spread rounds put them on 365 days, as an import of history does, so the run upserts about
730 day rows per source. A final catch-up run times a backlog of many rounds at once.

Usage: python bench/rollup.py [--rounds 20] [--backlog 100] [--members 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.common import bench_runtime, machine
from saas.analytics.rollup import rollup
from saas.tenancy.provisioning import BrandSpec, create_brand

BATCH = 1_000
TIMEZONE = "America/New_York"

INSERT_ORDERS = """
INSERT INTO purchase_order (source, ref, member_id, amount_minor, currency, base_amount_minor,
                            fx_rate, ordered_at, recorded_at, channel, categories, items)
SELECT 'bench', 'r' || :round || '-' || i, 1 + (i * 7919) % :members, 1000 + i % 9000, 'USD',
       1000 + i % 9000, '1', timestamptz '2025-01-01' + (i % :days) * interval '1 day'
       + (i % 24) * interval '1 hour', now(),
       CASE WHEN i % 2 = 0 THEN 'web' END, '[]', '[]'
FROM generate_series(1, :count) i
"""

INSERT_ENTRIES = """
INSERT INTO ledger_entry (member_id, kind, points, source, reference_type, reference_id,
                          occurred_at, recorded_at)
SELECT member_id, 'earn', base_amount_minor / 100, 'bench', 'order', id, ordered_at, now()
FROM purchase_order WHERE id > :after ORDER BY id
"""


def add_rows(session, round_number: int, count: int, members: int, days: int) -> None:
    after = session.execute(text("SELECT coalesce(max(id), 0) FROM purchase_order")).scalar()
    session.execute(text(INSERT_ORDERS), {"round": round_number, "count": count,
                                          "members": members, "days": days})
    session.execute(text(INSERT_ENTRIES), {"after": after})
    session.commit()


def timed_rollup(session) -> tuple[float, dict]:
    start = time.perf_counter()
    added = rollup(session, TIMEZONE, grace=timedelta(0))
    session.commit()
    return time.perf_counter() - start, added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20,
                        help="rounds of 1,000 entries, alternately live and spread; default 20")
    parser.add_argument("--backlog", type=int, default=100,
                        help="rounds of 1,000 entries rolled up in one catch-up run; default 100")
    parser.add_argument("--members", type=int, default=10_000,
                        help="members the orders are spread over; default 10000")
    args = parser.parse_args()

    with bench_runtime() as (runtime, _prefix):
        brand = create_brand(runtime, BrandSpec(slug="bench", name="Bench", region="us",
                                                timezone=TIMEZONE))
        with runtime.open_brand_session(brand) as session:
            session.execute(text(
                "INSERT INTO member (ref, status, joined_at, balance, debt, created_at) "
                "SELECT 'm' || i, 'active', timestamptz '2024-06-01' + i * interval '1 hour', "
                "0, 0, now() FROM generate_series(1, :n) i"), {"n": args.members})
            session.commit()
            timed_rollup(session)  # the members, so the rounds time entries and orders only

            seconds: dict[int, list[float]] = {1: [], 365: []}
            for round_number in range(args.rounds):
                days = 1 if round_number % 2 == 0 else 365
                add_rows(session, round_number, BATCH, args.members, days)
                elapsed, added = timed_rollup(session)
                assert added["ledger_entry"] == BATCH, added
                seconds[days].append(elapsed)

            add_rows(session, args.rounds, BATCH * args.backlog, args.members, 365)
            backlog_seconds, added = timed_rollup(session)
            assert added["ledger_entry"] == BATCH * args.backlog, added

    print(f"machine: {machine()}")
    for days, label in ((1, "live, one day"), (365, "spread over 365 days")):
        print(f"run of {BATCH:,} entries and {BATCH:,} orders ({label}, "
              f"{len(seconds[days])} runs): median {statistics.median(seconds[days]) * 1000:.0f} "
              f"ms, max {max(seconds[days]) * 1000:.0f} ms")
    print(f"catch-up run of {BATCH * args.backlog:,} entries and orders: "
          f"{backlog_seconds:.2f} s, {backlog_seconds / args.backlog * 1000:.0f} ms "
          f"per {BATCH:,} entries")


if __name__ == "__main__":
    main()
