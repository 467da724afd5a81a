"""Server time of the portal home page for a signed-in member of the demo music store.

Runs in-process against the demo instance (run `make demo` first), through the whole WSGI
stack: dispatch, brand resolution, session, queries and template. Signs in as CDNOW
customer 00001 (an account is added once, marked as a benchmark account).

Usage: python bench/portal.py [--instance instance] [--requests 500]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from werkzeug.test import Client

from saas.config import load_settings
from saas.loyalty.members import get_member
from saas.portal.accounts import MemberAccount
from saas.runtime import Runtime
from saas.security.passwords import hash_password
from saas.wsgi_app import create_wsgi_app

SLUG = "music-store"
EMAIL = "benchmark-00001@example.com"
PASSWORD = "benchmark-password-1"


def ensure_account(runtime: Runtime) -> None:
    with runtime.brand_session(SLUG) as session:
        if session.scalars(select(MemberAccount).where(MemberAccount.email == EMAIL)).first():
            return
        member = get_member(session, "00001")
        session.add(MemberAccount(member_id=member.id, email=EMAIL,
                                  password_hash=hash_password(PASSWORD)))
        session.commit()


def sign_in(client: Client) -> None:
    page = client.get(f"/t/{SLUG}/sign-in")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    response = client.post(f"/t/{SLUG}/sign-in", data={"csrf_token": token, "email": EMAIL,
                                                       "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed with {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", default="instance")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    os.environ["TESSERA_INSTANCE_PATH"] = args.instance
    runtime = Runtime(load_settings())
    ensure_account(runtime)
    client = Client(create_wsgi_app(runtime=runtime))
    sign_in(client)
    for _ in range(20):  # warm caches and compiled templates
        client.get(f"/t/{SLUG}/")
    timings = []
    for _ in range(args.requests):
        start = time.perf_counter()
        response = client.get(f"/t/{SLUG}/")
        timings.append((time.perf_counter() - start) * 1000)
        if b'id="balance"' not in response.data:
            raise SystemExit("the home page did not show the balance")
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"requests: {len(timings)}, p50 {statistics.median(timings):.1f} ms, "
          f"p95 {p95:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
