"""Accruals per second through the domain function, next to pgbench on the same SQL shape.

Both run against the same brand database on the local PostgreSQL, with the same number of
concurrent clients. Tessera's ``accrue`` evaluates the rules, locks the member row, writes
the order, entry and lot, and checks the tier. The pgbench script only locks the member
row, inserts an entry and updates the balance.

Usage: python bench/accruals.py [--clients 4] [--seconds 20] [--members 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.common import PG_SERVER, bench_runtime, machine
from saas.loyalty.models import EarnRule, Tier
from saas.loyalty.orders import OrderInput, accrue
from saas.tenancy.provisioning import BrandSpec, create_brand

RULES = [
    ("base", 10, {}, [{"type": "points_per_amount", "points": 1, "per": "1.00"}]),
    ("weekend", 20, {"days": ["sat", "sun"]}, [{"type": "multiplier", "factor": "2"}]),
    ("coffee-bonus", 30, {"categories": ["coffee"], "hours": {"from": "06:00", "to": "10:00"}},
     [{"type": "bonus", "points": 5}]),
    ("big-basket", 40, {"amount_min": "100.00"}, [{"type": "bonus", "points": 25}]),
    ("cap", 90, {}, [{"type": "cap", "points": 5000}]),
]

PGBENCH_SCRIPT = """\\set mid random(1, {members})
BEGIN;
SELECT balance FROM member WHERE id = :mid FOR UPDATE;
INSERT INTO ledger_entry (member_id, kind, points, source, occurred_at, recorded_at)
  VALUES (:mid, 'earn', 10, 'pgbench', now(), now());
UPDATE member SET balance = balance + 10 WHERE id = :mid;
END;
"""


def prepare(runtime, members: int):
    brand = create_brand(runtime, BrandSpec(slug="bench", name="Bench", region="us"))
    with runtime.open_brand_session(brand) as session:
        for code, priority, conditions, actions in RULES:
            session.add(EarnRule(code=code, name=code, priority=priority, conditions=conditions,
                                 actions=actions))
        session.add_all([Tier(code="bronze", name={"en": "Bronze"}, threshold=0),
                         Tier(code="silver", name={"en": "Silver"}, threshold=1000,
                              multiplier="1.1")])
        session.commit()
        session.execute(text(
            "INSERT INTO member (ref, status, joined_at, balance, debt, created_at) "
            "SELECT 'm' || i, 'active', now(), 0, 0, now() FROM generate_series(1, :n) i"),
            {"n": members})
        session.commit()
    return brand


def client(settings, index: int, seconds: float, members: int, counter) -> None:
    from saas.runtime import Runtime

    runtime = Runtime(settings, application_name="bench-client")
    brand = runtime.brand("bench")
    done, start = 0, time.monotonic()
    when = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with runtime.open_brand_session(brand) as session:
        while time.monotonic() - start < seconds:
            member = f"m{(done * 7919 + index * 104729) % members + 1}"
            order = OrderInput(f"c{index}-{done}", member, 1000 + done % 20000, "USD",
                               when + timedelta(minutes=done), categories=("coffee",))
            accrue(session, brand, order, source="bench")
            session.commit()
            done += 1
    with counter.get_lock():
        counter.value += done
    runtime.close()


def run_domain(runtime, clients: int, seconds: float, members: int) -> float:
    counter = multiprocessing.Value("i", 0)
    workers = [multiprocessing.Process(target=client,
                                       args=(runtime.settings, i, seconds, members, counter))
               for i in range(clients)]
    start = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counter.value / (time.monotonic() - start)


def run_pgbench(database: str, clients: int, seconds: float, members: int) -> float:
    script = Path(tempfile.mkdtemp()) / "accrual.sql"
    script.write_text(PGBENCH_SCRIPT.format(members=members))
    host = PG_SERVER.split("@")[-1]
    output = subprocess.run(
        ["pgbench", "-n", "-h", host.split(":")[0], "-p", host.split(":")[1], "-U", "postgres",
         "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(int(seconds)),
         "-f", str(script), database],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(re.search(r"tps = ([0-9.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--members", type=int, default=10000)
    args = parser.parse_args()
    with bench_runtime() as (runtime, prefix):
        prepare(runtime, args.members)
        runtime.engines.dispose_all()
        domain = run_domain(runtime, args.clients, args.seconds, args.members)
        sql = run_pgbench(f"{prefix}_us_bench", args.clients, args.seconds, args.members)
    print(f"machine: {machine()}")
    print(f"clients: {args.clients}, seconds: {args.seconds}, members: {args.members}")
    print(f"domain accruals/s: {domain:.0f}")
    print(f"pgbench same-shape transactions/s: {sql:.0f}")
    print(f"ratio: {domain / sql:.2f}")


if __name__ == "__main__":
    main()
