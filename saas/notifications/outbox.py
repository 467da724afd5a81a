"""Emails go to an outbox row in the same transaction as the change that causes them.

A periodic job relays pending rows: through SMTP when ``TESSERA_SMTP_URL`` is set, or to the
log in development, so a crash between the change and the send loses no email.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RELAY_BATCH = 100

Sender = Callable[[EmailMessage], None]


class OutboxEmail(BrandModel):
    __tablename__ = "outbox_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def queue_email(session: Session, to: str, subject: str, body: str) -> OutboxEmail:
    """Add an email to the outbox; it is sent only if the caller's transaction commits."""
    email = OutboxEmail(to_address=to, subject=subject, body_text=body)
    session.add(email)
    return email


def relay_outbox(session: Session, sender: Sender, sender_address: str,
                 now: datetime | None = None) -> dict[str, int]:
    """Send pending emails, recording each success or failure; the caller commits."""
    now = now or utcnow()
    pending = session.scalars(
        select(OutboxEmail).where(OutboxEmail.sent_at.is_(None),
                                  OutboxEmail.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEmail.id).limit(RELAY_BATCH)
    ).all()
    sent = failed = 0
    for email in pending:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            sender_address, email.to_address, email.subject)
        message.set_content(email.body_text)
        email.attempts += 1
        try:
            sender(message)
        except (OSError, smtplib.SMTPException) as exc:
            email.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("email %s to %s failed (attempt %d): %s", email.id,
                        email.to_address, email.attempts, exc)
            failed += 1
            continue
        email.sent_at = now
        sent += 1
    return {"sent": sent, "failed": failed}


def log_sender(message: EmailMessage) -> None:
    """Development sender: write the email to the log instead of sending it."""
    log.info("email to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


def smtp_sender(url: str) -> Sender:
    """Build a sender for ``smtp://user:password@host:port`` (``smtps://`` for TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"TESSERA_SMTP_URL={url!r} is invalid: expected smtp:// or smtps://")

    def send(message: EmailMessage) -> None:
        client_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with client_class(parts.hostname or "127.0.0.1", parts.port or 25, timeout=10) as client:
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)

    return send
