"""The signed-in member of a portal request, kept in the brand-bound session cookie."""

from __future__ import annotations

from flask import g, redirect, request, session, url_for

from saas.portal.accounts import MemberAccount
from saas.web.policy import Policy, register_check
from saas.web.tenant import brand_db

ACCOUNT_KEY = "member_account"


def sign_in_session(account: MemberAccount) -> None:
    session.clear()
    session[ACCOUNT_KEY] = account.id
    session.permanent = True


def sign_out_session() -> None:
    session.clear()


def current_account() -> MemberAccount | None:
    if "member_account_row" not in g:
        account_id = session.get(ACCOUNT_KEY)
        g.member_account_row = brand_db().get(MemberAccount, account_id) if account_id else None
    return g.member_account_row


def check_member(_policy: Policy):
    """Send visitors without a signed-in member to the sign-in page."""
    if current_account() is None:
        return redirect(url_for("portal.sign_in", next=request.path))
    return None


register_check("member", check_member)
