"""Partner API accruals over HTTP: throughput, latency at a steady rate, and exactly-once.

The script provisions a throw-away platform and brand (one earn rule, N members) on the
local PostgreSQL, creates a partner with the scopes points:earn and members:read, and
starts gunicorn (``wsgi:app``, production settings, sync workers) on a free port of
127.0.0.1. Load comes from threads in this process, one new connection per request,
because gunicorn's sync workers close every connection after the response.

1. Throughput: C clients send POST /api/v1/accruals back to back for a fixed time, each
   with a fresh Idempotency-Key, first from Python threads and then from wrk if it is
   installed. Right after, pgbench runs the same writes in SQL with the same C clients:
   the idempotency claim in its own transaction, then order, ledger entry, lot, balance
   update and the completed idempotency record in one transaction, then the service-level
   request record. As in the application, the first and last commit without waiting for
   the WAL flush.
2. Latency at a steady rate: requests are sent on a fixed schedule (open loop), and each
   latency is measured from the scheduled time, so a slow server shows up as queueing.
   When the measured throughput is below the rate, a second run at half the throughput
   shows the latency of a server that is not saturated.
3. Exactly-once: orders from 32 clients, where some requests are sent twice with the same
   key and body, either at the same time or after the first response. A 409 (key in
   flight) is retried until a final response. The database is then checked for lost and
   duplicated orders and ledger entries.
4. Inside this process, the same app serves accruals through Werkzeug's test client, to
   count the SQL statements and transactions of one accrual and to profile the Python side.

The Redis database (default 11) is only written to, never flushed. Every database created
carries a unique ``tbench_`` prefix and is dropped at the end.

Usage: python bench/api.py [--workers 4] [--clients 4] [--seconds 30] [--members 10000]
                           [--rate 200] [--orders 10000] [--retry-share 0.3]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.test import Client

from bench.common import PG_SERVER, bench_runtime, machine
from saas.api.partners import create_partner
from saas.loyalty.models import EarnRule
from saas.runtime import Runtime
from saas.tenancy.provisioning import BrandSpec, create_brand
from saas.wsgi_app import create_wsgi_app

ROOT = Path(__file__).resolve().parent.parent
SLUG = "apibench"
BASE_DOMAIN = "bench.test"
HOST = f"{SLUG}.{BASE_DOMAIN}"
REDIS_URL = os.environ.get("TESSERA_BENCH_REDIS", "redis://127.0.0.1:6379/11")
ACCRUALS = "/api/v1/accruals"

# The API's writes of one accrual, as plain SQL: the idempotency claim commits on its own
# (saas.loyalty.idempotency._claim), then the order, the earn entry, its lot, the member's
# balance and the completed idempotency record commit together.
PGBENCH_SCRIPT = """\\set mid random(1, {members})
BEGIN;
SET LOCAL synchronous_commit TO OFF;
INSERT INTO idempotency_record (scope, key, request_hash, completed, created_at, expires_at)
  VALUES ('pgbench', gen_random_uuid()::text, repeat('0', 64), false, now(),
          now() + interval '35 days') RETURNING id AS rid \\gset
COMMIT;
BEGIN;
SELECT id FROM member WHERE id = :mid FOR UPDATE;
INSERT INTO purchase_order (source, ref, member_id, amount_minor, currency, base_amount_minor,
                            fx_rate, ordered_at, recorded_at, categories, items)
  VALUES ('pgbench', gen_random_uuid()::text, :mid, 1250, 'USD', 1250, '1', now(), now(),
          '[]', '[]') RETURNING id AS oid \\gset
INSERT INTO ledger_entry (member_id, kind, points, source, occurred_at, recorded_at,
                          reference_type, reference_id)
  VALUES (:mid, 'earn', 12, 'pgbench', now(), now(), 'order', :oid) RETURNING id AS eid \\gset
INSERT INTO lot (member_id, entry_id, points, remaining, earned_at)
  VALUES (:mid, :eid, 12, 12, now());
UPDATE member SET balance = balance + 12, last_activity_at = now() WHERE id = :mid;
UPDATE idempotency_record SET completed = true, status_code = 200,
  response = '{{"points": 12}}' WHERE id = :rid;
COMMIT;
BEGIN;
SET LOCAL synchronous_commit TO OFF;
INSERT INTO api_request (partner_id, endpoint, status, duration_ms, at)
  VALUES (1, 'api.accrual', 201, 1.0, now());
COMMIT;
"""


# --- Set-up ----------------------------------------------------------------------------------

def prepare(runtime: Runtime, members: int) -> tuple[str, str]:
    """Create the brand, its rule, members and partner, and return the client id and secret."""
    brand = create_brand(runtime, BrandSpec(slug=SLUG, name="API bench", region="us"))
    with runtime.open_brand_session(brand) as session:
        session.add(EarnRule(code="base", name="1 point per 1.00", priority=10, conditions={},
                             actions=[{"type": "points_per_amount", "points": 1,
                                       "per": "1.00"}]))
        session.execute(text(
            "INSERT INTO member (ref, status, joined_at, balance, debt, created_at) "
            "SELECT 'm' || i, 'active', now(), 0, 0, now() FROM generate_series(1, :n) i"),
            {"n": members})
        created = create_partner(session, "Bench partner", "points:earn members:read",
                                 rate_limit="1000000/minute")
        session.commit()
    return created.client_id, created.client_secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("TESSERA_")}
    environment.update({
        "TESSERA_ENV": "production",
        "TESSERA_DATABASE_URL": settings.database_url,
        "TESSERA_REGIONS": ",".join(f"{name}={url}" for name, url in settings.regions.items()),
        "TESSERA_SECRET_KEY": settings.secret_key,
        "TESSERA_BASE_DOMAIN": BASE_DOMAIN,
        "TESSERA_REDIS_URL": REDIS_URL,
        "TESSERA_INSTANCE_PATH": str(settings.instance_path),
        # Production sits behind a TLS proxy: Authlib rejects token requests over plain
        # HTTP, so each request carries the proxy's X-Forwarded-Proto: https.
        "TESSERA_TRUSTED_PROXIES": "1",
    })
    return environment


def start_server(runtime: Runtime, workers: int, port: int) -> subprocess.Popen:
    log = open(runtime.settings.instance_path / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "wsgi:app", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--backlog", "2048"],
        cwd=ROOT, env=server_environment(runtime), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            status, _, _ = request(port, "GET", "/healthz", None, {})
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not respond to /healthz within 60 s; see {log.name}")


# --- HTTP client -----------------------------------------------------------------------------

def request(port: int, method: str, path: str, body: bytes | None,
            headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={
            "Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1",
            **headers})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def fetch_token(port: int, client_id: str, secret: str) -> str:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, _, body = request(
        port, "POST", "/api/v1/oauth/token",
        b"grant_type=client_credentials&scope=points%3Aearn+members%3Aread",
        {"Authorization": f"Basic {credentials}",
         "Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise SystemExit(f"token request failed with {status}: {body[:300]!r}")
    return json.loads(body)["access_token"]


def accrual_body(order_ref: str, members: int, rng: random.Random,
                 ordered_at: bool = True) -> bytes:
    body = {"order_ref": order_ref, "member": f"m{rng.randint(1, members)}",
            "amount": {"amount_minor": rng.randint(100, 20000), "currency": "USD"},
            "categories": ["coffee"]}
    if ordered_at:
        # Without ordered_at the server takes the time of arrival, which becomes part of
        # the idempotency hash, so a retry would be rejected as a different request.
        body["ordered_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps(body).encode()


def post_accrual(port: int, token: str, key: str, body: bytes) -> tuple[int, bool, bytes]:
    status, headers, data = request(port, "POST", ACCRUALS, body, {
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Idempotency-Key": key})
    replayed = any(name.lower() == "idempotent-replayed" for name in headers)
    return status, replayed, data


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# --- 1. Throughput ---------------------------------------------------------------------------

def run_throughput(port: int, token: str, clients: int, seconds: float,
                   members: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(index)
        mine, codes = [], Counter()
        while time.monotonic() < stop_at:
            body = accrual_body(f"tp-{index}-{uuid.uuid4().hex}", members, rng)
            start = time.perf_counter()
            status, _, _ = post_accrual(port, token, str(uuid.uuid4()), body)
            mine.append((time.perf_counter() - start) * 1000)
            codes[status] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.monotonic() - start
    return {"requests": len(latencies), "per_second": statuses[201] / elapsed,
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "statuses": dict(statuses)}


WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  token, members, ordered_at, host = args[1], tonumber(args[2]), args[3], args[4]
  counter = 0
end

function request()
  counter = counter + 1
  local ref = "wrk-" .. tid .. "-" .. counter
  local body = string.format(
    '{"order_ref":"%s","member":"m%d","amount":{"amount_minor":%d,"currency":"USD"},'
    .. '"ordered_at":"%s","categories":["coffee"]}',
    ref, math.random(1, members), math.random(100, 20000), ordered_at)
  return wrk.format("POST", "/api/v1/accruals", {
    ["Host"] = host, ["X-Forwarded-Proto"] = "https", ["X-Forwarded-For"] = "127.0.0.1",
    ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = ref}, body)
end
"""


def run_wrk(port: int, token: str, clients: int, seconds: float, members: int,
            folder: Path) -> dict | None:
    """Run the throughput load from wrk (C, event loop) instead of Python threads."""
    if shutil.which("wrk") is None:
        return None
    script = folder / "accruals.lua"
    script.write_text(WRK_SCRIPT)
    ordered_at = datetime.now(UTC).isoformat(timespec="seconds")
    output = subprocess.run(
        ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{int(seconds)}s",
         "--latency", "-s", str(script), f"http://127.0.0.1:{port}", "--", token,
         str(members), ordered_at, HOST],
        check=True, capture_output=True, text=True).stdout

    def milliseconds(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([0-9.]+)(us|ms|s)\b", output).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return {"requests": requests, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "per_second": (requests - (int(non_2xx.group(1)) if non_2xx else 0)) / seconds,
            "p50": milliseconds("50"), "p99": milliseconds("99"), "output": output}


def run_pgbench(database: str, clients: int, seconds: float, members: int,
                folder: Path) -> dict:
    script = folder / "accrual.sql"
    script.write_text(PGBENCH_SCRIPT.format(members=members))
    host, port = PG_SERVER.split("@")[-1].split(":")
    finished = subprocess.run(
        ["pgbench", "-n", "-h", host, "-p", port, "-U", "postgres", "-c", str(clients),
         "-j", str(clients), "-T", str(int(seconds)), "-r", "-f", str(script), database],
        capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"pgbench failed with {finished.returncode}: {finished.stderr[-2000:]}")
    output = finished.stdout
    return {"per_second": float(re.search(r"tps = ([0-9.]+)", output).group(1)),
            "latency": float(re.search(r"latency average = ([0-9.]+) ms", output).group(1)),
            "output": output}


# --- 2. Latency at a steady rate -------------------------------------------------------------

def run_steady(port: int, token: str, rate: float, seconds: float, members: int) -> dict:
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    next_index = iter(range(total))
    start = time.monotonic() + 0.5
    # A server slower than the rate falls further behind with every request. Requests
    # not sent by this deadline are counted as skipped instead of queueing for minutes.
    deadline = start + seconds + 10

    def sender(index: int) -> None:
        rng = random.Random(index)
        codes = Counter()
        while True:
            with lock:
                number = next(next_index, None)
            if number is None:
                break
            scheduled = start + number / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() > deadline:
                codes["skipped"] += 1
                continue
            body = accrual_body(f"st-{int(rate)}-{number}", members, rng)
            status, _, _ = post_accrual(port, token, str(uuid.uuid4()), body)
            latency = (time.monotonic() - scheduled) * 1000
            codes[status] += 1
            with lock:
                latencies.append(latency)
        with lock:
            statuses.update(codes)

    # Enough senders that a request waits for a free sender only if the server is
    # already more than 64 requests behind.
    with ThreadPoolExecutor(64) as pool:
        list(pool.map(sender, range(64)))
    achieved = len(latencies) / (time.monotonic() - start)
    return {"rate": rate, "requests": total, "achieved": achieved,
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "statuses": dict(statuses)}


# --- 3. Exactly-once under retries -----------------------------------------------------------

@dataclass
class Tally:
    created: int = 0  # 201 without Idempotent-Replayed: the request did the work
    replayed: int = 0  # 201 with Idempotent-Replayed: the stored outcome of an earlier one
    in_flight: int = 0  # 409 while the same key was still being processed
    other: Counter = field(default_factory=Counter)
    mismatched_bodies: int = 0


def run_exactly_once(port: int, token: str, orders: int, clients: int, members: int,
                     retry_share: float) -> tuple[Tally, dict[str, int]]:
    """Send each order once or twice with one key, and return the tally and points per ref."""
    tally = Tally()
    points: dict[str, int] = {}
    lock = threading.Lock()

    def send_until_final(key: str, body: bytes) -> dict | None:
        while True:
            status, replayed, data = post_accrual(port, token, key, body)
            with lock:
                if status == 201 and replayed:
                    tally.replayed += 1
                elif status == 201:
                    tally.created += 1
                elif status == 409:
                    tally.in_flight += 1
                else:
                    tally.other[status] += 1
            if status == 409:
                time.sleep(0.01)
                continue
            return json.loads(data) if status == 201 else None

    def order(number: int) -> None:
        rng = random.Random(number)
        ref = f"eo-{number}"
        key = f"key-{number}"
        body = accrual_body(ref, members, rng)
        duplicate = rng.random() < retry_share
        if duplicate and rng.random() < 0.5:
            # The same request twice at the same moment, as from a client that timed out
            # early and resent at once.
            with ThreadPoolExecutor(2) as pair:
                answers = list(pair.map(lambda _: send_until_final(key, body), range(2)))
        else:
            answers = [send_until_final(key, body)]
            if duplicate:
                answers.append(send_until_final(key, body))
        finals = [answer for answer in answers if answer is not None]
        with lock:
            if finals:
                points[ref] = finals[0]["points"]
            if any(answer != finals[0] for answer in finals[1:]):
                tally.mismatched_bodies += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(order, range(orders)))
    return tally, points


def check_ledger(runtime: Runtime, orders: int, points: dict[str, int]) -> dict[str, int]:
    """Count lost and duplicated orders and entries of the exactly-once run."""
    with runtime.brand_session(SLUG) as session:
        def scalar(sql: str) -> int:
            return session.execute(text(sql)).scalar_one() or 0

        recorded = dict(session.execute(text(
            "SELECT o.ref, COALESCE(SUM(e.points), 0) FROM purchase_order o "
            "LEFT JOIN ledger_entry e ON e.reference_type = 'order' AND e.reference_id = o.id "
            "AND e.kind = 'earn' WHERE o.ref LIKE 'eo-%' GROUP BY o.ref")).all())
        expected = {f"eo-{number}" for number in range(orders)}
        return {
            "orders": scalar("SELECT count(*) FROM purchase_order WHERE ref LIKE 'eo-%'"),
            "orders_lost": len(expected - set(recorded)),
            "orders_unexpected": len(set(recorded) - expected),
            "orders_with_other_than_one_entry": scalar(
                "SELECT count(*) FROM (SELECT o.id FROM purchase_order o LEFT JOIN ledger_entry e "
                "ON e.reference_type = 'order' AND e.reference_id = o.id AND e.kind = 'earn' "
                "WHERE o.ref LIKE 'eo-%' GROUP BY o.id HAVING count(e.id) <> 1) AS odd"),
            "points_differing_from_answers": sum(
                1 for ref, value in points.items() if recorded.get(ref) != value),
            "ledger_sum": scalar("SELECT SUM(points) FROM ledger_entry"),
            "balance_sum": scalar("SELECT SUM(balance) FROM member"),
            "lot_sum": scalar("SELECT SUM(points) FROM lot"),
        }


# --- 4. Statements and profile of one accrual ------------------------------------------------

def inspect_in_process(runtime: Runtime, client_id: str, secret: str, members: int,
                       profiled: int) -> dict:
    """Serve accruals in this process to count statements, time them and profile them."""
    settings = replace(runtime.settings, env="production", redis_url=REDIS_URL,
                       base_domain=BASE_DOMAIN, trusted_proxies=1)
    local = Runtime(settings, application_name="tbench-inspect")
    client = Client(create_wsgi_app(runtime=local))
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = client.post("/api/v1/oauth/token", base_url=f"https://{HOST}",
                        data={"grant_type": "client_credentials", "scope": "points:earn"},
                        headers={"Authorization": f"Basic {credentials}"}).json["access_token"]
    rng = random.Random(7)

    def send(body: bytes, key: str | None = None):
        return client.post(ACCRUALS, base_url=f"https://{HOST}", data=body,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json",
                                    "Idempotency-Key": key or str(uuid.uuid4())})

    def accrue(ref: str) -> None:
        response = send(accrual_body(ref, members, rng))
        if response.status_code != 201:
            raise SystemExit(f"in-process accrual failed with {response.status_code}: "
                             f"{response.data[:300]!r}")

    for number in range(20):  # warm the engine, caches and compiled statements
        accrue(f"warm-{number}")

    # The same body twice with one key, without ordered_at, a second apart.
    body = accrual_body("no-time", members, rng, ordered_at=False)
    first = send(body, "no-time")
    time.sleep(1.1)
    second = send(body, "no-time")
    retry_without_time = (first.status_code, second.status_code,
                          (second.json or {}).get("type", ""))

    statements: list[str] = []
    commits = [0]
    database_seconds = [0.0]
    started: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()
        statements.append(" ".join(statement.split())[:110])

    def after(conn, cursor, statement, parameters, context, executemany):
        database_seconds[0] += time.perf_counter() - started.pop(id(cursor))

    def on_commit(conn):
        commits[0] += 1

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "commit", on_commit)
    try:
        accrue("counted")
        one = {"statements": list(statements), "commits": commits[0]}
        database_seconds[0] = 0.0
        timed_start = time.perf_counter()
        for number in range(profiled):
            accrue(f"timed-{number}")
        wall = time.perf_counter() - timed_start
        database = database_seconds[0]
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
        event.remove(Engine, "commit", on_commit)

    profiler = cProfile.Profile()
    profiler.enable()
    for number in range(profiled):
        accrue(f"profiled-{number}")
    profiler.disable()
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report)
    stats.sort_stats("cumulative").print_stats(r"saas|flask|werkzeug|sqlalchemy|authlib|"
                                                r"limiter|jsonschema", 30)
    stats.sort_stats("tottime").print_stats(15)
    local.close()
    return one | {"timed": profiled, "wall_ms": wall * 1000 / profiled,
                  "database_ms": database * 1000 / profiled,
                  "retry_without_time": retry_without_time, "profile": report.getvalue()}


# --- Main ------------------------------------------------------------------------------------

def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=4,
                        help="concurrent clients of the throughput run and of pgbench")
    parser.add_argument("--seconds", type=float, default=30,
                        help="length of the throughput, pgbench and steady-rate runs")
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=200, help="requests per second, steady")
    parser.add_argument("--orders", type=int, default=10000, help="orders of the exactly-once run")
    parser.add_argument("--retry-share", type=float, default=0.3,
                        help="share of exactly-once orders sent twice")
    parser.add_argument("--profiled", type=int, default=300,
                        help="in-process accruals timed, then as many under cProfile")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"load average before: {load_average()}")
    with bench_runtime() as (runtime, prefix):
        client_id, secret = prepare(runtime, args.members)
        runtime.engines.dispose_all()
        inspected = inspect_in_process(runtime, client_id, secret, args.members, args.profiled)
        port = free_port()
        server = start_server(runtime, args.workers, port)
        try:
            token = fetch_token(port, client_id, secret)
            # Warm every worker, because its first requests open engines and fill caches.
            run_throughput(port, token, args.clients, 5, args.members)
            throughput = run_throughput(port, token, args.clients, args.seconds, args.members)
            from_wrk = run_wrk(port, token, args.clients, args.seconds, args.members,
                               runtime.settings.instance_path)
            sql = run_pgbench(f"{prefix}_us_{SLUG}", args.clients, args.seconds, args.members,
                              runtime.settings.instance_path)
            token = fetch_token(port, client_id, secret)
            steady = [run_steady(port, token, args.rate, args.seconds, args.members)]
            # The latency the server gives when it is not saturated, for comparison.
            half = round(throughput["per_second"] / 2)
            if half < args.rate:
                steady.append(run_steady(port, token, half, args.seconds, args.members))
            token = fetch_token(port, client_id, secret)
            started = time.monotonic()
            tally, points = run_exactly_once(port, token, args.orders, 32, args.members,
                                             args.retry_share)
            exactly_once_seconds = time.monotonic() - started
        finally:
            server.terminate()
            server.wait(30)
        ledger = check_ledger(runtime, args.orders, points)
    print(f"load average after: {load_average()}")
    report(args, inspected, throughput, from_wrk, sql, steady, tally, exactly_once_seconds, ledger)


def report(args, inspected, throughput, from_wrk, sql, steady, tally, exactly_once_seconds,
           ledger) -> None:
    print(f"\nworkers: {args.workers}, clients: {args.clients}, seconds: {args.seconds:.0f}, "
          f"members: {args.members}")
    print(f"\none accrual in-process: {len(inspected['statements'])} SQL statements, "
          f"{inspected['commits']} commits")
    for statement in inspected["statements"]:
        print(f"  {statement}")
    print(f"in-process over {inspected['timed']} accruals, one at a time: "
          f"{inspected['wall_ms']:.2f} ms per request, of which {inspected['database_ms']:.2f} "
          "ms inside cursor.execute (round trips and the server's work)")
    print("same body and key twice without ordered_at: statuses "
          f"{inspected['retry_without_time'][:2]}, second {inspected['retry_without_time'][2]}")
    print(inspected["profile"])
    print(f"API accruals/s: {throughput['per_second']:.0f} "
          f"({throughput['requests']} requests, statuses {throughput['statuses']}), "
          f"p50 {throughput['p50']:.1f} ms, p99 {throughput['p99']:.1f} ms")
    if from_wrk is None:
        print("wrk: not installed")
    else:
        print(f"wrk accruals/s: {from_wrk['per_second']:.0f} ({from_wrk['requests']} requests, "
              f"{from_wrk['non_2xx']} not 2xx), p50 {from_wrk['p50']:.1f} ms, "
              f"p99 {from_wrk['p99']:.1f} ms")
    print(f"pgbench same-writes transactions/s: {sql['per_second']:.0f}, "
          f"latency average {sql['latency']:.2f} ms")
    print(f"ratio API/pgbench: {throughput['per_second'] / sql['per_second']:.2f} with the "
          "Python load generator" + ("" if from_wrk is None else
                                     f", {from_wrk['per_second'] / sql['per_second']:.2f} "
                                     "with wrk") + " (target 0.5)")
    for run in steady:
        print(f"steady {run['rate']:.0f}/s for {args.seconds:.0f} s: achieved "
              f"{run['achieved']:.0f}/s, p50 {run['p50']:.1f} ms, p99 {run['p99']:.1f} ms, "
              f"max {run['max']:.1f} ms (target p99 <= 25 ms at 200/s), "
              f"statuses {run['statuses']}")
    print(f"exactly-once: {args.orders} orders, 32 clients, {args.retry_share:.0%} sent twice, "
          f"{exactly_once_seconds:.0f} s: 201 created {tally.created}, 201 replayed "
          f"{tally.replayed}, 409 in flight {tally.in_flight}, other {dict(tally.other)}, "
          f"replays with a different body {tally.mismatched_bodies}")
    print(f"database after: {ledger}")
    print("pgbench per-statement latencies:")
    print(sql["output"].split("statement latencies in milliseconds", 1)[-1])


if __name__ == "__main__":
    main()
