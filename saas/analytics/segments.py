"""Member segments: RFM scores and k-means clusters with generated names.

Each run computes, per member who ever bought, the recency (days since the last order),
frequency (orders), monetary value (base-currency minor units) and points earned and
redeemed; RFM scores from 1 to 5 by quintile; and k-means clusters on the log-scaled,
standardised features, with k chosen from ``K_RANGE`` by the best silhouette score. Every
cluster gets a name and a description from how its centre compares with the brand's
medians. The newest assignment of each member is kept in ``member_segment`` (rules can
test it with ``conditions.segments``), and each run adds one row per segment to
``segment_history`` for sizes over time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow
from saas.loyalty.models import EntryKind, LedgerEntry, Member, Order

K_RANGE = range(2, 7)
SILHOUETTE_SAMPLE = 5000
FEATURES = ("recency_days", "frequency", "monetary_minor", "points_earned", "points_redeemed")


class Segment(BrandModel):
    __tablename__ = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000))
    size: Mapped[int] = mapped_column(Integer)
    # The cluster centre in the features' own units, for explaining the name.
    centre: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberSegment(BrandModel):
    __tablename__ = "member_segment"

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    segment_code: Mapped[str] = mapped_column(String(64), index=True)
    recency_days: Mapped[float] = mapped_column(Float)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)
    points_earned: Mapped[int] = mapped_column(BigInteger)
    points_redeemed: Mapped[int] = mapped_column(BigInteger)
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentHistory(BrandModel):
    __tablename__ = "segment_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    segment_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class SegmentRun:
    k: int
    silhouette: float | None
    members: int
    segments: tuple[str, ...]

    def as_json(self) -> dict:
        return {"k": self.k, "silhouette": self.silhouette, "members": self.members,
                "segments": list(self.segments)}


def member_features(session: Session, now: datetime) -> pd.DataFrame:
    """Return one row of features per member who has bought, indexed by member id."""
    orders = pd.DataFrame(session.execute(
        select(Order.member_id, func.count(Order.id), func.sum(Order.base_amount_minor),
               func.max(Order.ordered_at)).group_by(Order.member_id)).all(),
        columns=["member_id", "frequency", "monetary_minor", "last_order"])
    if orders.empty:
        return orders
    points = pd.DataFrame(session.execute(
        select(LedgerEntry.member_id, LedgerEntry.kind, func.sum(LedgerEntry.points))
        .where(LedgerEntry.kind.in_([EntryKind.EARN, EntryKind.REDEEM]))
        .group_by(LedgerEntry.member_id, LedgerEntry.kind)).all(),
        columns=["member_id", "kind", "points"])
    pivot = (points.pivot_table(index="member_id", columns="kind", values="points",
                                aggfunc="sum", fill_value=0)
             if not points.empty else pd.DataFrame())
    frame = orders.set_index("member_id")
    last = pd.to_datetime(frame.pop("last_order"), utc=True)
    frame["recency_days"] = (pd.Timestamp(now) - last).dt.total_seconds() / 86400
    frame["points_earned"] = pivot.get(str(EntryKind.EARN), 0)
    frame["points_redeemed"] = -pivot.get(str(EntryKind.REDEEM), 0)
    frame = frame.fillna(0)
    alive = set(session.scalars(select(Member.id).where(Member.merged_into_id.is_(None))))
    return frame[frame.index.isin(alive)].astype(float)


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 by quintile of rank, so ties and skewed data still spread."""
    ranks = values.rank(method="first", ascending=higher_is_better)
    return (np.ceil(5 * ranks / len(values))).clip(1, 5).astype(int)


def _choose_k(matrix: np.ndarray, seed: int) -> tuple[int, np.ndarray, float | None]:
    rows = matrix.shape[0]
    if rows < 3:
        return 1, np.zeros(rows, dtype=int), None
    best: tuple[float, int, np.ndarray] | None = None
    for k in K_RANGE:
        if k >= rows:
            break
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(matrix)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(matrix, labels, sample_size=min(rows, SILHOUETTE_SAMPLE),
                                       random_state=seed))
        if best is None or score > best[0]:
            best = (score, k, labels)
    if best is None:
        return 1, np.zeros(rows, dtype=int), None
    return best[1], best[2], round(best[0], 4)


def describe(centre: dict[str, float], medians: dict[str, float]) -> tuple[str, str]:
    """Return a human-readable name and description of a cluster from its centre."""
    recent = centre["recency_days"] <= medians["recency_days"]
    frequent = centre["frequency"] > medians["frequency"]
    valuable = centre["monetary_minor"] > medians["monetary_minor"]
    redeems = centre["points_redeemed"] > 0 and centre["points_redeemed"] >= \
        0.2 * max(centre["points_earned"], 1)
    if recent and frequent and valuable:
        name = "Champions"
    elif recent and frequent:
        name = "Loyal regulars"
    elif recent and valuable:
        name = "Big recent spenders"
    elif recent:
        name = "New or occasional buyers"
    elif frequent or valuable:
        name = "At risk"
    else:
        name = "Hibernating"
    if redeems:
        name += ", active redeemers"
    description = (
        f"Last order about {centre['recency_days']:.0f} days ago, "
        f"{centre['frequency']:.1f} orders and {centre['monetary_minor'] / 100:.2f} spent "
        f"per member on average (brand medians: {medians['recency_days']:.0f} days, "
        f"{medians['frequency']:.1f} orders, {medians['monetary_minor'] / 100:.2f}); "
        f"{centre['points_earned']:.0f} points earned and "
        f"{centre['points_redeemed']:.0f} redeemed.")
    return name, description


def _code(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:56] or "segment"
    code, index = base, 2
    while code in taken:
        code, index = f"{base}-{index}", index + 1
    taken.add(code)
    return code


def compute_segments(session: Session, *, now: datetime | None = None,
                     seed: int = 7) -> SegmentRun:
    """Recompute every member's segment and replace the brand's segments; commits."""
    now = now or utcnow()
    frame = member_features(session, now)
    session.execute(delete(MemberSegment))
    session.execute(delete(Segment))
    if frame.empty:
        session.commit()
        return SegmentRun(0, None, 0, ())
    matrix = StandardScaler().fit_transform(np.log1p(frame[list(FEATURES)].clip(lower=0)))
    k, labels, silhouette = _choose_k(matrix, seed)
    frame["cluster"] = labels
    frame["r_score"] = quintile_scores(frame["recency_days"], higher_is_better=False)
    frame["f_score"] = quintile_scores(frame["frequency"])
    frame["m_score"] = quintile_scores(frame["monetary_minor"])
    medians = {name: float(frame[name].median()) for name in FEATURES}
    taken: set[str] = set()
    codes: dict[int, str] = {}
    for cluster, group in frame.groupby("cluster"):
        centre = {name: float(group[name].mean()) for name in FEATURES}
        name, description = describe(centre, medians)
        code = _code(name, taken)
        codes[int(cluster)] = code
        session.add(Segment(code=code, name=name, description=description, size=len(group),
                            centre={key: round(value, 2) for key, value in centre.items()},
                            computed_at=now))
        session.add(SegmentHistory(computed_at=now, segment_code=code, name=name,
                                   size=len(group),
                                   monetary_minor=int(group["monetary_minor"].sum())))
    session.add_all(
        MemberSegment(member_id=int(member_id), segment_code=codes[int(row.cluster)],
                      recency_days=round(float(row.recency_days), 2),
                      frequency=int(row.frequency), monetary_minor=int(row.monetary_minor),
                      points_earned=int(row.points_earned),
                      points_redeemed=int(row.points_redeemed), r_score=int(row.r_score),
                      f_score=int(row.f_score), m_score=int(row.m_score), computed_at=now)
        for member_id, row in frame.iterrows())
    session.commit()
    return SegmentRun(k, silhouette, len(frame), tuple(sorted(codes.values())))


def member_segments(session: Session, member_id: int) -> frozenset[str]:
    """Return the segment codes of a member, for earn rules with ``conditions.segments``."""
    code = session.scalar(select(MemberSegment.segment_code)
                          .where(MemberSegment.member_id == member_id))
    return frozenset({code}) if code else frozenset()


@dataclass(frozen=True)
class SegmentImpact:
    segment: str
    members: int
    reached: int  # members who earned from the rule or redeemed the reward
    total: int  # points from the rule, or redemptions of the reward

    @property
    def reach(self) -> float | None:
        return self.reached / self.members if self.members else None

    @property
    def per_member(self) -> float | None:
        return self.total / self.members if self.members else None


def campaign_impact(session: Session, *, rule: str | None = None, reward: str | None = None,
                    since: datetime, until: datetime) -> list[SegmentImpact]:
    """Compare one earn rule's points or one reward's redemptions across segments."""
    from saas.loyalty.errors import InvalidInput
    from saas.loyalty.models import Redemption, Reward

    if (rule is None) == (reward is None):
        raise InvalidInput("choose either an earn rule or a reward to compare", field="rule")
    sizes = dict(session.execute(select(MemberSegment.segment_code, func.count())
                                 .group_by(MemberSegment.segment_code)).all())
    segment_of = dict(session.execute(select(MemberSegment.member_id,
                                             MemberSegment.segment_code)).all())
    totals: dict[str, int] = {}
    reached: dict[str, set[int]] = {}
    if rule is not None:
        rows = session.execute(select(LedgerEntry.member_id, LedgerEntry.detail).where(
            LedgerEntry.kind == EntryKind.EARN, LedgerEntry.occurred_at >= since,
            LedgerEntry.occurred_at < until))
        for member_id, detail in rows:
            points = sum(line.get("points", 0) for line in (detail or {}).get("lines", [])
                         if line.get("rule") == rule)
            code = segment_of.get(member_id)
            if points and code:
                totals[code] = totals.get(code, 0) + points
                reached.setdefault(code, set()).add(member_id)
    else:
        reward_id = session.scalar(select(Reward.id).where(Reward.code == reward))
        if reward_id is None:
            raise InvalidInput(f"unknown reward {reward!r}", field="reward", value=reward)
        rows = session.execute(select(Redemption.member_id).where(
            Redemption.reward_id == reward_id, Redemption.issued_at >= since,
            Redemption.issued_at < until))
        for (member_id,) in rows:
            code = segment_of.get(member_id)
            if code:
                totals[code] = totals.get(code, 0) + 1
                reached.setdefault(code, set()).add(member_id)
    return [SegmentImpact(code, size, len(reached.get(code, ())), totals.get(code, 0))
            for code, size in sorted(sizes.items())]
