"""Brand console: overview, members (search, profile, ledger, adjustments, status, merge,
claim codes) and vouchers at the till."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from saas.console.base import MEMBER_SERVICE, actor, page, record
from saas.extensions import htmx
from saas.loyalty.claims import issue_claim_code
from saas.loyalty.corrections import adjust_points, merge_members
from saas.loyalty.errors import LoyaltyError
from saas.loyalty.ledger import outstanding_points
from saas.loyalty.members import find_member, set_member_status
from saas.loyalty.models import LedgerEntry, Member, MemberStatus, Redemption, Reward
from saas.loyalty.rewards import use_voucher
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console", __name__)

PAGE_SIZE = 25


@bp.get("/")
@allow(console())
def dashboard():
    db = brand_db()
    counts = {
        "members": db.scalar(select(func.count()).select_from(Member)
                             .where(Member.merged_into_id.is_(None))),
        "outstanding": outstanding_points(db),
        "vouchers": db.scalar(select(func.count()).select_from(Redemption)
                              .where(Redemption.status == "issued")),
    }
    return page("console/dashboard.html", counts=counts)


# --- Members ---------------------------------------------------------------------------------

@bp.get("/members")
@allow(console())
def members():
    query = request.args.get("q", "").strip()[:320]
    rows: list[Member] = []
    if query:
        pattern = f"%{query.lower()}%"
        rows = list(brand_db().scalars(
            select(Member).where(or_(Member.ref == query, func.lower(Member.email).like(pattern),
                                     Member.ref.like(f"{query}%")))
            .order_by(Member.ref).limit(PAGE_SIZE)))
    template = "console/_member_results.html" if htmx else "console/members.html"
    return page(template, query=query, rows=rows)


def _member_or_404(ref: str) -> Member:
    member = find_member(brand_db(), ref)
    if member is None:
        abort(404)
    return member


def _entries(member: Member, before: int | None):
    condition = [LedgerEntry.member_id == member.id]
    if before:
        condition.append(LedgerEntry.id < before)
    rows = list(brand_db().scalars(select(LedgerEntry).where(*condition)
                                   .order_by(LedgerEntry.id.desc()).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], (rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None)


@bp.get("/members/<ref>")
@allow(console())
def member(ref: str):
    found = _member_or_404(ref)
    if found.ref != ref:
        return redirect(url_for("console.member", ref=found.ref))
    before = request.args.get("before", type=int)
    entries, next_before = _entries(found, before)
    if htmx and before:
        return page("console/_ledger_rows.html", member=found, entries=entries,
                    next_before=next_before)
    return page("console/member.html", member=found, entries=entries, next_before=next_before,
                message=None, error=None, claim=None)


def _member_action(ref: str, action):
    """Run ``action(member)`` in the brand's transaction and show the member page again."""
    db = brand_db()
    found = _member_or_404(ref)
    try:
        message, claim = action(found)
    except LoyaltyError as exc:
        db.rollback()
        found = _member_or_404(ref)
        entries, next_before = _entries(found, None)
        return page("console/member.html", member=found, entries=entries,
                    next_before=next_before, message=None, claim=None,
                    error=_("Not saved: %(reason)s", reason=exc.message)), 400
    db.commit()
    found = _member_or_404(ref)
    entries, next_before = _entries(found, None)
    return page("console/member.html", member=found, entries=entries, next_before=next_before,
                message=message, error=None, claim=claim)


@bp.post("/members/<ref>/adjust")
@allow(console(*MEMBER_SERVICE))
def adjust(ref: str):
    raw = request.form.get("points", "").strip()

    def run(found: Member):
        try:
            points = int(raw)
        except ValueError:
            raise LoyaltyError(_("points must be a whole number such as 50 or -20, not "
                                 "%(value)s", value=raw or _("empty")), field="points") from None
        before = found.balance
        reason = request.form.get("reason", "")
        balance = adjust_points(brand_db(), g.brand, found.ref, points, reason=reason,
                                source=actor())
        record("member.adjust", f"member:{found.ref}", {"balance": before},
               {"balance": balance, "points": points, "reason": reason.strip()})
        return _("Balance changed by %(points)s points.", points=points), None

    return _member_action(ref, run)


@bp.post("/members/<ref>/status")
@allow(console(*MEMBER_SERVICE))
def status(ref: str):
    wanted = request.form.get("status", "")

    def run(found: Member):
        if wanted not in (MemberStatus.ACTIVE, MemberStatus.BLOCKED):
            raise LoyaltyError(_("status must be active or blocked, not %(value)s",
                                 value=wanted), field="status")
        before = str(found.status)
        if before == MemberStatus.CLOSED:
            raise LoyaltyError(_("this member record is closed and cannot change"),
                               field="status")
        set_member_status(brand_db(), found.ref, MemberStatus(wanted))
        record("member.status", f"member:{found.ref}", {"status": before}, {"status": wanted})
        return (_("Member blocked.") if wanted == MemberStatus.BLOCKED
                else _("Member unblocked.")), None

    return _member_action(ref, run)


@bp.post("/members/<ref>/merge")
@allow(console(*MEMBER_SERVICE))
def merge(ref: str):
    other = request.form.get("merge_ref", "").strip()

    def run(found: Member):
        if request.form.get("confirm") != "yes":
            raise LoyaltyError(_("tick the box to confirm that both records are one person"),
                               field="confirm")
        result = merge_members(brand_db(), found.ref, other, source=actor())
        record("member.merge", f"member:{found.ref}", {"merged": other}, result.as_json())
        return _("%(other)s is merged into this member; %(points)s points moved.",
                 other=result.merged_ref, points=result.points_moved), None

    return _member_action(ref, run)


@bp.post("/members/<ref>/claim-code")
@allow(console(*MEMBER_SERVICE))
def claim_code(ref: str):
    def run(found: Member):
        issued = issue_claim_code(brand_db(), found.ref, issued_by=actor())
        record("member.claim_code", f"member:{found.ref}", None,
               {"expires_at": issued.expires_at.isoformat()})
        return _("Give this claim code to the member; it is shown only now."), issued

    return _member_action(ref, run)


# --- Vouchers --------------------------------------------------------------------------------

@bp.route("/vouchers", methods=["GET", "POST"])
@allow(console(*MEMBER_SERVICE))
def vouchers():
    db = brand_db()
    code = (request.values.get("code") or "").strip().upper()[:32]
    voucher = db.scalar(select(Redemption).where(Redemption.voucher_code == code)) if code \
        else None
    message = error = None
    if request.method == "POST":
        try:
            use_voucher(db, code, used_by=actor())
            record("voucher.use", f"voucher:{code}", {"status": "issued"}, {"status": "used"})
            db.commit()
            message = _("Voucher %(code)s is marked used.", code=code)
        except LoyaltyError as exc:
            db.rollback()
            error = _("Not marked used: %(reason)s", reason=exc.message)
        voucher = db.scalar(select(Redemption).where(Redemption.voucher_code == code))
    holder = db.get(Member, voucher.member_id) if voucher else None
    reward = db.get(Reward, voucher.reward_id) if voucher and voucher.reward_id else None
    template = "console/_voucher.html" if htmx else "console/vouchers.html"
    status_code = 400 if error else 200
    return page(template, code=code, voucher=voucher, holder=holder, reward=reward,
                message=message, error=error), status_code

