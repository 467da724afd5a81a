"""Member segments in the brand console: names, descriptions, sizes over time, CSV export
of a segment's members, and recomputing them as a job."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from saas.analytics.segments import MemberSegment, Segment, SegmentHistory, campaign_impact
from saas.console.base import EDITORS, page, record
from saas.db import utcnow
from saas.imports.report import write_rows
from saas.jobs.queueing import enqueue
from saas.loyalty.errors import InvalidInput
from saas.loyalty.models import EarnRule, Member, Reward
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_segments", __name__)

READERS = ("owner", "admin", "analyst")
HISTORY_RUNS = 12


def _overview(message: str | None = None, job_id: str | None = None):
    db = brand_db()
    segments = list(db.scalars(select(Segment).order_by(Segment.size.desc())))
    total = sum(segment.size for segment in segments)
    runs = sorted({row for row in db.scalars(
        select(SegmentHistory.computed_at).distinct()
        .order_by(SegmentHistory.computed_at.desc()).limit(HISTORY_RUNS))})
    history = list(db.scalars(select(SegmentHistory).where(SegmentHistory.computed_at.in_(runs))
                              .order_by(SegmentHistory.computed_at, SegmentHistory.name)))
    rules = list(db.scalars(select(EarnRule.code).order_by(EarnRule.code)))
    rewards = list(db.scalars(select(Reward.code).order_by(Reward.code)))
    return page("console/segments.html", segments=segments, total=total, history=history,
                message=message, job_id=job_id, rules=rules, rewards=rewards)


@bp.get("/analytics/segments/impact")
@allow(console(*READERS))
def impact():
    """HTMX: one rule's points or one reward's redemptions compared across segments."""
    choice = request.args.get("campaign", "")
    kind, _sep, code = choice.partition(":")
    days = request.args.get("days", "90")
    if kind not in ("rule", "reward") or not code or not days.isdigit() \
            or not 1 <= int(days) <= 3650:
        return page("console/_segment_impact.html", rows=None, error=_(
            "Choose a rule or a reward and a number of days from 1 to 3650."))
    until = utcnow()
    try:
        rows = campaign_impact(brand_db(), since=until - timedelta(days=int(days)), until=until,
                               **{kind: code})
    except InvalidInput as exc:
        return page("console/_segment_impact.html", rows=None, error=exc.message)
    names = dict(brand_db().execute(select(Segment.code, Segment.name)).all())
    return page("console/_segment_impact.html", rows=rows, names=names, kind=kind, error=None)


@bp.get("/analytics/segments")
@allow(console(*READERS))
def segments():
    return _overview()


@bp.post("/analytics/segments/recompute")
@allow(console(*EDITORS))
def recompute():
    job_id = enqueue(current_app.extensions["tessera"], g.brand.slug, "analytics.segments")
    record("segments.recompute", "segments", None, {"job": job_id})
    brand_db().commit()
    return _overview(message=_("Segments are being recomputed; follow the progress below."),
                     job_id=job_id)


@bp.get("/analytics/segments/<code>.csv")
@allow(console(*READERS))
def export(code: str):
    db = brand_db()
    if db.scalar(select(Segment.id).where(Segment.code == code)) is None:
        abort(404)
    rows = db.execute(
        select(Member.ref, Member.email, MemberSegment.recency_days, MemberSegment.frequency,
               MemberSegment.monetary_minor, MemberSegment.points_earned,
               MemberSegment.points_redeemed, MemberSegment.r_score, MemberSegment.f_score,
               MemberSegment.m_score)
        .join(Member, Member.id == MemberSegment.member_id)
        .where(MemberSegment.segment_code == code).order_by(Member.ref)).all()
    stream = io.StringIO(newline="")
    write_rows(stream, ["member", "email", "recency_days", "orders", "monetary_minor",
                        "points_earned", "points_redeemed", "r_score", "f_score", "m_score"],
               rows)
    return Response(stream.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{g.brand.slug}-segment-{code}.csv"'})
