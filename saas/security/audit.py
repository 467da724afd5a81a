"""A hash-chained audit trail of admin changes, one chain per database.

Each entry stores who changed what (before and after), when, the request id and client
address, and a hash over its content and the previous entry's hash. The entry is written
in the same transaction as the change, in the database that holds the changed row, and a
one-row head table, locked while the entry is added, keeps each chain a single line even
with concurrent writers. ``verify_chain`` recomputes the hashes and reports the first row
that does not match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, PlatformModel, UTCDateTime, utcnow
from saas.logging import current_context

GENESIS = "0" * 64


class _AuditColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class _HeadColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))


class PlatformAuditEntry(_AuditColumns, PlatformModel):
    __tablename__ = "audit_entry"


class PlatformAuditHead(_HeadColumns, PlatformModel):
    __tablename__ = "audit_head"


class BrandAuditEntry(_AuditColumns, BrandModel):
    __tablename__ = "audit_entry"


class BrandAuditHead(_HeadColumns, BrandModel):
    __tablename__ = "audit_head"


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken_id: int | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _models(platform: bool):
    return (PlatformAuditEntry, PlatformAuditHead) if platform else (BrandAuditEntry,
                                                                     BrandAuditHead)


def _digest(previous_hash: str, entry) -> str:
    content = {
        "actor": entry.actor, "action": entry.action, "target": entry.target,
        "before": entry.before, "after": entry.after, "request_id": entry.request_id,
        "client_address": entry.client_address,
        "recorded_at": entry.recorded_at.isoformat(timespec="microseconds"),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((previous_hash + text).encode()).hexdigest()


def record(session: Session, *, actor: str, action: str, target: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           client_address: str | None = None, platform: bool = False) -> None:
    """Append an entry to the chain of ``session``'s database; the caller commits."""
    entry_model, head_model = _models(platform)
    head = session.scalars(select(head_model).where(head_model.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).one_or_none()
    if head is None:
        head = head_model(id=1, last_hash=GENESIS)
        session.add(head)
    request_id = current_context().get("request_id")
    entry = entry_model(
        actor=actor, action=action, target=target, before=before, after=after,
        request_id=None if request_id in (None, "-") else request_id,
        client_address=client_address, recorded_at=utcnow(), previous_hash=head.last_hash,
    )
    entry.entry_hash = _digest(head.last_hash, entry)
    session.add(entry)
    head.last_hash = entry.entry_hash


def verify_chain(session: Session, *, platform: bool = False) -> ChainReport:
    """Recompute the chain from the first entry; report the first entry that does not fit."""
    entry_model, head_model = _models(platform)
    previous = GENESIS
    count = 0
    for entry in session.scalars(select(entry_model).order_by(entry_model.id)):
        count += 1
        if entry.previous_hash != previous:
            return ChainReport(count, entry.id, "its previous hash differs from the entry before")
        if _digest(previous, entry) != entry.entry_hash:
            return ChainReport(count, entry.id, "its content does not match its hash")
        previous = entry.entry_hash
    head = session.get(head_model, 1)
    if head is not None and head.last_hash != previous:
        return ChainReport(count, None,
                           "the chain head does not match the last entry: entries were removed")
    return ChainReport(count, None)


__all__ = ["BrandAuditEntry", "ChainReport", "PlatformAuditEntry", "record", "verify_chain"]
