"""Exactly-once requests: a key's first outcome is stored and replayed for its retries.

A key is claimed in a short transaction of its own, so a concurrent duplicate sees it as
in flight; the outcome is stored in the same transaction as the work itself, so either
both are committed or neither is. Rejections (insufficient points, say) are outcomes too
and are replayed like successes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from saas.db import commit_without_waiting, dialect_insert, utcnow
from saas.loyalty.errors import IdempotencyInFlight, IdempotencyMismatch, InvalidInput, LoyaltyError
from saas.loyalty.models import IdempotencyRecord

log = logging.getLogger(__name__)

RETENTION = timedelta(days=35)
# A claim older than this is taken to belong to a crashed process and may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Outcome:
    ok: bool
    body: dict[str, Any]
    replayed: bool = False


def request_hash(payload: dict[str, Any]) -> str:
    """Hash the request's meaning: key order and whitespace do not matter."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"invalid idempotency key {key!r}: give 1-{MAX_KEY_LENGTH} printable characters",
            field="Idempotency-Key", value=key,
        )
    return key


def run_once(session: Session, scope: str, key: str, payload: dict[str, Any],
             operation: Callable[[], Any], now: datetime | None = None) -> Outcome:
    """Run ``operation`` once per (scope, key) and commit; replay its outcome afterwards.

    ``session`` must have no transaction open. ``operation`` does its work in ``session``
    and returns an object with ``as_json()``; a LoyaltyError it raises becomes the stored
    rejection. Raises IdempotencyMismatch or IdempotencyInFlight without writing anything.
    """
    check_key(key)
    if session.in_transaction():
        raise RuntimeError("run_once needs a session without an open transaction")
    digest = request_hash(payload)
    now = now or utcnow()
    record_id, replay = _claim(session, scope, key, digest, now)
    if replay is not None:
        return replay
    try:
        result = operation()
    except LoyaltyError as rejection:
        session.rollback()
        return _finish(session, record_id, ok=False, body=rejection.as_json())
    except BaseException:
        session.rollback()
        _release(session, record_id)
        raise
    return _finish(session, record_id, ok=True, body=result.as_json())


def _claim(session: Session, scope: str, key: str, digest: str,
           now: datetime) -> tuple[int | None, Outcome | None]:
    with Session(session.get_bind()) as claim:
        # The operation's own commit is synchronous and comes later in the WAL, so a claim
        # lost in a crash belongs to a request that wrote nothing.
        commit_without_waiting(claim)
        record_id = claim.scalar(
            dialect_insert(claim)(IdempotencyRecord)
            .values(scope=scope, key=key, request_hash=digest, completed=False,
                    created_at=now, expires_at=now + RETENTION)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.id)
        )
        if record_id is not None:
            claim.commit()
            return record_id, None
        record = claim.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)).one_or_none()
        if record is None or record.expires_at < now:
            # Gone since the insert, or expired: start again with a fresh claim.
            if record is not None:
                claim.delete(record)
            claim.commit()
            return _claim(session, scope, key, digest, now)
        return record.id, _existing(claim, record, digest, now)


def _existing(claim: Session, record: IdempotencyRecord, digest: str,
              now: datetime) -> Outcome | None:
    if record.request_hash != digest:
        raise IdempotencyMismatch(
            f"idempotency key {record.key!r} was used with a different request; "
            "use a new key for a new request", field="Idempotency-Key", value=record.key,
        )
    if record.completed:
        return Outcome(ok=record.status_code == 200, body=record.response or {}, replayed=True)
    if now - record.created_at < ABANDONED_AFTER:
        raise IdempotencyInFlight(
            f"a request with idempotency key {record.key!r} is still being processed; "
            "retry in a moment", field="Idempotency-Key", value=record.key,
        )
    log.warning("taking over abandoned idempotency key %s in %s", record.key, record.scope)
    record.created_at = now
    claim.commit()
    return None


def _finish(session: Session, record_id: int, *, ok: bool, body: dict[str, Any]) -> Outcome:
    session.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
                    .values(completed=True, status_code=200 if ok else 400, response=body))
    session.commit()
    return Outcome(ok=ok, body=body)



def _release(session: Session, record_id: int) -> None:
    with Session(session.get_bind()) as claim:
        claim.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
        claim.commit()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < (now or utcnow()))
    )
    return result.rowcount
