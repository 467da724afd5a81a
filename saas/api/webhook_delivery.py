"""Send due webhook events: claim them, POST them signed, record each outcome.

A claim is a short transaction that picks due events (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has a single writer), counts the attempt and moves ``next_attempt_at``
ahead by the lease. The request is sent with no transaction open, and the outcome is written
only if the event is still on the attempt this worker claimed. A worker that stops between
claim and outcome leaves the event to be claimed again when the lease ends, so delivery is
at least once. Receivers deduplicate by the ``Tessera-Delivery`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from saas.api.webhooks import WebhookEndpoint, WebhookEvent, decrypt_secret, resolve_public
from saas.db import utcnow

log = logging.getLogger(__name__)

# Seconds allowed to connect, and for each read of the response.
TIMEOUT_SECONDS = 5.0
CLAIM_BATCH = 10
# Longer than a batch of deliveries that each run into the timeout, so a lease ends only
# when its worker has stopped.
LEASE = timedelta(seconds=CLAIM_BATCH * TIMEOUT_SECONDS * 2 + 30)
# One run stops claiming after this long; the next scheduled run takes the rest.
RUN_BUDGET_SECONDS = 50.0
DELIVERED_RETENTION = timedelta(days=30)
MAX_ERROR_LENGTH = 500
USER_AGENT = "Tessera-Webhooks/1"


@dataclass(frozen=True)
class Delivery:
    """A claimed event with everything needed to send it, read inside the claim."""

    event_id: int
    attempt: int
    event_type: str
    url: str
    secret: str | None
    body: bytes
    # Set when the event cannot be sent at all, such as an undecryptable secret.
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the endpoint's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def event_body(row: WebhookEvent) -> bytes:
    envelope = {"id": row.id, "type": row.event_type, "created_at": row.created_at.isoformat(),
                "data": row.payload}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def claim_due(session: Session, now: datetime, secret_key: str, max_attempts: int,
              limit: int = CLAIM_BATCH, lease: timedelta = LEASE) -> list[Delivery]:
    """Claim up to ``limit`` due events in one transaction and commit it.

    An event found with every attempt already spent was interrupted on its last attempt
    and is marked dead instead.
    """
    query = (select(WebhookEvent, WebhookEndpoint)
             .join(WebhookEndpoint, WebhookEndpoint.id == WebhookEvent.endpoint_id)
             .where(WebhookEvent.delivered_at.is_(None), WebhookEvent.dead_at.is_(None),
                    WebhookEvent.next_attempt_at <= now, WebhookEndpoint.active.is_(True))
             .order_by(WebhookEvent.next_attempt_at, WebhookEvent.id)
             .limit(limit)
             .with_for_update(skip_locked=True, of=WebhookEvent))
    deliveries = []
    try:
        for row, endpoint in session.execute(query).all():
            if row.attempts >= max_attempts:
                row.dead_at = now
                row.last_error = "the last attempt was interrupted before its outcome was recorded"
                log.error("webhook event %s is dead: %s", row.id, row.last_error)
                continue
            row.attempts += 1
            row.next_attempt_at = now + lease
            try:
                secret, error = decrypt_secret(endpoint.secret_encrypted, secret_key), None
            except ValueError as exc:
                secret, error = None, str(exc)
            deliveries.append(Delivery(row.id, row.attempts, row.event_type, endpoint.url,
                                       secret, event_body(row), error))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return deliveries


def send(delivery: Delivery, allow_hosts: Iterable[str] = (), now: float | None = None,
         timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """POST the event once. A 2xx status is success, and any other status or no response fails."""
    if delivery.error is not None:
        return Outcome(False, delivery.error)
    timestamp = int(now if now is not None else time.time())
    signed = signature(delivery.secret, timestamp, delivery.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Tessera-Event": delivery.event_type,
        "Tessera-Delivery": str(delivery.event_id),
        "Tessera-Timestamp": str(timestamp),
        "Tessera-Signature": f"t={timestamp},v1={signed}",
    }
    try:
        connection = _connect(delivery.url, allow_hosts, timeout)
    except ValueError as exc:
        return Outcome(False, f"not sent: {exc}")
    parts = urlsplit(delivery.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=delivery.body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(200).decode("utf-8", "replace")
    except TimeoutError:
        return Outcome(False, f"timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return Outcome(True, f"HTTP {response.status}")
    detail = f"HTTP {response.status} {response.reason}"
    if 300 <= response.status < 400:
        detail += " (redirects are not followed; register the final URL)"
    return Outcome(False, f"{detail}: {excerpt}" if excerpt else detail)


def _connect(url: str, allow_hosts: Iterable[str], timeout: float) -> http.client.HTTPConnection:
    """Open a connection to the URL's host, pinned to an address checked just now.

    The host is resolved again at each delivery, and every address must still be public.
    The connection goes to the address that was checked, so a DNS change between check and
    connect cannot point the request at an internal service.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if host in {name.lower() for name in allow_hosts}:
        connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                            else http.client.HTTPConnection)
        return connection_class(host, parts.port, timeout=timeout)
    if parts.scheme != "https":
        raise ValueError(f"{url} is not https and its host is not in TESSERA_WEBHOOK_ALLOW_HOSTS")
    port = parts.port or 443
    address = resolve_public(host, port)[0]
    connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                             context=ssl.create_default_context())

    def create_connection(_address, timeout=None, source_address=None):
        return socket.create_connection((address, port), timeout, source_address)

    connection._create_connection = create_connection
    return connection


def record_outcome(session: Session, delivery: Delivery, outcome: Outcome, now: datetime,
                   backoff: Sequence[int]) -> str:
    """Write the outcome if the event is still on this attempt; commit; return its state."""
    values: dict = {"last_error": None if outcome.ok else outcome.detail[:MAX_ERROR_LENGTH]}
    if outcome.ok:
        values["delivered_at"] = now
        state = "delivered"
    elif delivery.attempt > len(backoff):
        values["dead_at"] = now
        state = "dead"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=backoff[delivery.attempt - 1])
        state = "retry"
    result = session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == delivery.event_id, WebhookEvent.attempts == delivery.attempt,
               WebhookEvent.delivered_at.is_(None), WebhookEvent.dead_at.is_(None))
        .values(**values))
    session.commit()
    if result.rowcount == 0:
        log.warning("webhook event %s attempt %d finished after its lease ended; outcome %s "
                    "not recorded", delivery.event_id, delivery.attempt, outcome.detail)
        return "stale"
    if state == "delivered":
        log.info("webhook event %s delivered (attempt %d)", delivery.event_id, delivery.attempt)
    elif state == "dead":
        log.error("webhook event %s is dead after %d attempts: %s", delivery.event_id,
                  delivery.attempt, outcome.detail)
    else:
        log.warning("webhook event %s attempt %d failed, retry at %s: %s", delivery.event_id,
                    delivery.attempt, values["next_attempt_at"].isoformat(), outcome.detail)
    return state


def deliver_due(session: Session, settings, now: datetime | None = None,
                budget_seconds: float = RUN_BUDGET_SECONDS) -> dict[str, int]:
    """Send every due event, batch by batch, until none is due or the budget is spent.

    ``now`` fixes the clock for claims and outcomes (tests); by default each batch reads it.
    """
    counts = {"delivered": 0, "retry": 0, "dead": 0, "stale": 0}
    max_attempts = len(settings.webhook_backoff) + 1
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        claimed_at = now or utcnow()
        batch = claim_due(session, claimed_at, settings.secret_key, max_attempts)
        if not batch:
            break
        for delivery in batch:
            outcome = send(delivery, settings.webhook_allow_hosts,
                           now.timestamp() if now else None)
            state = record_outcome(session, delivery, outcome, now or utcnow(),
                                   settings.webhook_backoff)
            counts[state] += 1
    return counts


def purge_delivered(session: Session, now: datetime | None = None) -> int:
    """Delete events delivered more than DELIVERED_RETENTION ago; dead events stay."""
    cutoff = (now or utcnow()) - DELIVERED_RETENTION
    result = session.execute(delete(WebhookEvent).where(WebhookEvent.delivered_at < cutoff))
    return result.rowcount


# --- Waking the job ------------------------------------------------------------------------

WAKE_TTL_SECONDS = 60
_memory_lock = threading.Lock()


def _wake_key(slug: str) -> str:
    return f"tessera:webhooks:wake:{slug}"


def wake_delivery(runtime, slug: str) -> None:
    """Queue ``webhooks.deliver`` for the brand unless a queued run has not started yet.

    A run clears the mark before it claims, so events committed before the mark was seen
    are always picked up by that run. Errors are logged: the schedule still runs the job
    every minute.
    """
    from saas.jobs.queueing import JobQueueUnavailable, enqueue

    try:
        if not _set_wake_mark(runtime, slug):
            return
        enqueue(runtime, slug, "webhooks.deliver")
    except (RedisError, JobQueueUnavailable) as exc:
        log.warning("webhook delivery for brand %s waits for the schedule: %s", slug, exc)
        clear_wake_mark(runtime, slug)


def _set_wake_mark(runtime, slug: str) -> bool:
    if runtime.redis is not None:
        return bool(runtime.redis.set(_wake_key(slug), "1", nx=True, ex=WAKE_TTL_SECONDS))
    now = time.monotonic()
    with _memory_lock:
        marks = runtime.__dict__.setdefault("webhook_wake_marks", {})
        if marks.get(slug, 0.0) > now:
            return False
        marks[slug] = now + WAKE_TTL_SECONDS
        return True


def clear_wake_mark(runtime, slug: str) -> None:
    if runtime.redis is not None:
        try:
            runtime.redis.delete(_wake_key(slug))
        except RedisError as exc:
            log.warning("could not clear the webhook wake mark of %s: %s", slug, exc)
        return
    with _memory_lock:
        runtime.__dict__.setdefault("webhook_wake_marks", {}).pop(slug, None)
