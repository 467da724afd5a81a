"""Claim codes: single use, expiry, and a limit on wrong guesses."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.loyalty.claims import (
    MAX_ATTEMPTS,
    ClaimCode,
    ClaimRejected,
    issue_claim_code,
    redeem_claim_code,
)
from saas.loyalty.members import enrol_member

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def session(runtime, make_brand):
    make_brand("shop")
    with runtime.brand_session("shop") as session:
        enrol_member(session, "00042")
        session.commit()
        yield session


def test_code_unlocks_member_once(session):
    issued = issue_claim_code(session, "00042", issued_by="test", now=NOW)
    session.commit()
    member = redeem_claim_code(session, "00042", issued.code.lower(), now=NOW)
    session.commit()
    assert member.ref == "00042"
    with pytest.raises(ClaimRejected):
        redeem_claim_code(session, "00042", issued.code, now=NOW)


def test_code_stored_hashed(session):
    issued = issue_claim_code(session, "00042", issued_by="test", now=NOW)
    session.commit()
    stored = session.scalars(select(ClaimCode.code_hash)).one()
    assert issued.code not in stored


def test_expired_code_rejected(session):
    issued = issue_claim_code(session, "00042", issued_by="test", ttl=timedelta(days=1), now=NOW)
    session.commit()
    with pytest.raises(ClaimRejected, match="invalid or expired"):
        redeem_claim_code(session, "00042", issued.code, now=NOW + timedelta(days=2))


def test_new_code_voids_old(session):
    old = issue_claim_code(session, "00042", issued_by="test", now=NOW)
    issue_claim_code(session, "00042", issued_by="test", now=NOW)
    session.commit()
    with pytest.raises(ClaimRejected):
        redeem_claim_code(session, "00042", old.code, now=NOW)


def test_wrong_guesses_void_code(session):
    issued = issue_claim_code(session, "00042", issued_by="test", now=NOW)
    session.commit()
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(ClaimRejected):
            redeem_claim_code(session, "00042", "WRONGWRONG", now=NOW)
        session.rollback()
    with pytest.raises(ClaimRejected):
        redeem_claim_code(session, "00042", issued.code, now=NOW)
