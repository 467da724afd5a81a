"""Member accounts and the email outbox, on SQLite and PostgreSQL."""

import socketserver
import threading

import pytest
from sqlalchemy import func, select

from saas.cache import BrandCache, MemoryStore
from saas.loyalty.claims import issue_claim_code
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import enrol_member, get_member
from saas.notifications.outbox import OutboxEmail, relay_outbox, smtp_sender
from saas.portal.accounts import (
    SignInFailed,
    SignInThrottled,
    authenticate,
    claim_member,
    sign_up,
    verify_email,
)
from saas.security.throttle import FREE_ATTEMPTS, SignInThrottle

SECRET = "s" * 40
VERIFY_URL = "http://shop.example.test/verify"


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop")
    with runtime.brand_session("shop") as session:
        yield brand, session


def throttle():
    return SignInThrottle(BrandCache("shop", None, MemoryStore()), "member")


def token_from_outbox(session):
    body = session.scalars(select(OutboxEmail.body_text).order_by(OutboxEmail.id.desc())).first()
    return body.split("token=")[1].strip()


def test_sign_up_queues_verification(shop):
    brand, session = shop
    result = sign_up(session, brand, SECRET, "Ana@Example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    email = session.scalars(select(OutboxEmail)).one()
    assert result.account_id is not None
    assert email.to_address == "ana@example.com"
    assert VERIFY_URL + "?token=" in email.body_text


def test_verify_link_confirms_address(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    account = verify_email(session, brand, SECRET, token_from_outbox(session))
    assert account.verified_at is not None


def test_verify_link_of_other_brand_rejected(runtime, make_brand, shop):
    brand, session = shop
    other = make_brand("other")
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    with pytest.raises(InvalidInput, match="invalid"):
        verify_email(session, other, SECRET, token_from_outbox(session))


def test_second_sign_up_reveals_nothing(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    again = sign_up(session, brand, SECRET, "ana@example.com", "another-pass-99", VERIFY_URL)
    session.commit()
    assert again.account_id is None
    assert session.scalar(select(func.count(OutboxEmail.id))) == 2


def test_weak_password_rejected(shop):
    brand, session = shop
    with pytest.raises(InvalidInput, match="at least 10"):
        sign_up(session, brand, SECRET, "ana@example.com", "short", VERIFY_URL)


def test_sign_in_checks_password(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    limiter = throttle()
    assert authenticate(session, limiter, "ANA@example.com", "violet-harbour-42", "10.0.0.1")
    with pytest.raises(SignInFailed):
        authenticate(session, limiter, "ana@example.com", "wrong-password", "10.0.0.1")
    with pytest.raises(SignInFailed):
        authenticate(session, limiter, "nobody@example.com", "violet-harbour-42", "10.0.0.1")


def test_repeated_failures_slow_down(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    limiter = throttle()
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(SignInFailed):
            authenticate(session, limiter, "ana@example.com", "wrong-password", "10.0.0.9")
    with pytest.raises(SignInThrottled):
        authenticate(session, limiter, "ana@example.com", "violet-harbour-42", "10.0.0.9")
    assert authenticate(session, limiter, "ana@example.com", "violet-harbour-42", "10.0.0.1")


def test_claim_links_imported_member(shop):
    brand, session = shop
    enrol_member(session, "00042")
    issued = issue_claim_code(session, "00042", issued_by="test")
    result = sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    from saas.portal.accounts import MemberAccount

    account = session.get(MemberAccount, result.account_id)
    ref = claim_member(session, account, "00042", issued.code)
    session.commit()
    assert ref == "00042"
    assert account.member_id == get_member(session, "00042").id
    assert get_member(session, "00042").email == "ana@example.com"


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message per connection, for tests on 127.0.0.1."""

    def handle(self):
        self.wfile.write(b"220 test\r\n")
        data, in_data = [], False
        for raw in self.rfile:
            line = raw.decode()
            if in_data:
                if line == ".\r\n":
                    self.server.received.append("".join(data))
                    in_data = False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            command = line[:4].upper()
            if command == "DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_relay_sends_by_smtp(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = smtp_sender(f"smtp://127.0.0.1:{server.server_address[1]}")

    first = relay_outbox(session, sender, "no-reply@shop.test")
    session.commit()
    again = relay_outbox(session, sender, "no-reply@shop.test")
    server.shutdown()

    assert first == {"sent": 1, "failed": 0}
    assert again == {"sent": 0, "failed": 0}
    assert "To: ana@example.com" in server.received[0]


def test_relay_records_failure(shop):
    brand, session = shop
    sign_up(session, brand, SECRET, "ana@example.com", "violet-harbour-42", VERIFY_URL)
    session.commit()
    result = relay_outbox(session, smtp_sender("smtp://127.0.0.1:1"), "no-reply@shop.test")
    email = session.scalars(select(OutboxEmail)).one()
    assert result == {"sent": 0, "failed": 1}
    assert email.attempts == 1
    assert email.sent_at is None
    assert "ConnectionRefusedError" in email.last_error
