"""Members: references, enrolment, look-up through merge aliases, status changes."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.loyalty.errors import InvalidInput, MemberNotActive, NotFound
from saas.loyalty.models import Member, MemberStatus

MEMBER_REF = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def check_ref(ref: object, field: str = "member") -> str:
    """Return ``ref`` unchanged if it is a valid member reference, else raise InvalidInput."""
    if not isinstance(ref, str) or not MEMBER_REF.match(ref):
        raise InvalidInput(
            f"invalid member reference {ref!r}: use 1-64 letters, digits, '-', '_' or '.'",
            field=field, value=ref,
        )
    return ref


def find_member(session: Session, ref: str) -> Member | None:
    """Return the member with ``ref``, following merge aliases to the surviving record."""
    member = session.scalars(select(Member).where(Member.ref == ref)).one_or_none()
    seen = 0
    while member is not None and member.merged_into_id is not None and seen < 10:
        member = session.get(Member, member.merged_into_id)
        seen += 1
    return member


def get_member(session: Session, ref: str) -> Member:
    check_ref(ref)
    member = find_member(session, ref)
    if member is None:
        raise NotFound(f"no member with reference {ref!r}", field="member", value=ref)
    return member


def enrol_member(session: Session, ref: str, *, email: str | None = None,
                 locale: str | None = None, joined_at: datetime | None = None) -> Member:
    """Create a member; the caller commits. An existing reference is rejected."""
    check_ref(ref)
    if email is not None and not EMAIL.match(email):
        raise InvalidInput(f"invalid email address {email!r}", field="email", value=email)
    if find_member(session, ref) is not None:
        raise InvalidInput(f"member {ref!r} already exists", field="member", value=ref)
    member = Member(ref=ref, email=email, locale=locale, joined_at=joined_at or utcnow(),
                    status=MemberStatus.ACTIVE, balance=0, debt=0)
    session.add(member)
    session.flush()
    return member


def lock_member(session: Session, member_id: int) -> Member:
    """Reload the member under a row lock (one writer at a time on SQLite)."""
    query = (
        select(Member)
        .where(Member.id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


def lock_member_by_ref(session: Session, ref: str) -> Member | None:
    """Find and lock the member with ``ref`` in one query, following a merge alias."""
    query = (select(Member).where(Member.ref == ref).with_for_update()
             .execution_options(populate_existing=True))
    member = session.scalars(query).one_or_none()
    if member is not None and member.merged_into_id is not None:
        target = find_member(session, ref)
        return lock_member(session, target.id)
    return member


def require_active(member: Member) -> None:
    if member.status != MemberStatus.ACTIVE:
        raise MemberNotActive(
            f"member {member.ref!r} is {member.status}; only active members earn and redeem",
            field="member", value=member.ref,
        )


def set_member_status(session: Session, ref: str, status: MemberStatus) -> Member:
    member = lock_member(session, get_member(session, ref).id)
    member.status = status
    return member
