"""Day member sets: the members who bought or redeemed on each local day, as bitmaps of ids.

Counts of distinct members (active in 30 or 90 days, buyers with two or more orders in a
period) cannot be added up from day sums, and counting them from the order table reads every
order of the window. So the rollup also keeps, per local day and dimension value, the set of
members who placed an order (``buyers``), the subset who placed two or more that day
(``repeat_buyers``) and, brand-wide, those who redeemed (``redeemers``). A count over any
range of days is then a union of at most a few hundred roaring bitmaps (pyroaring), exact
and independent of how many orders the range holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from pyroaring import BitMap64
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from saas.analytics.models import ALL, KpiDayMembers
from saas.db import utcnow

BUYERS = "buyers"
REPEAT_BUYERS = "repeat_buyers"
REDEEMERS = "redeemers"

SetKey = tuple[date, str, str, str]


class DayMemberSets:
    """The day sets one rollup run changes, loaded from the database on first use.

    The run adds rows in id order, so a member already among a day's buyers who orders
    again that day becomes a repeat buyer, whichever run saw the first order.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sets: dict[SetKey, BitMap64] = {}
        self.loaded_days: set[date] = set()
        self.changed: set[SetKey] = set()

    def load(self, days: Iterable[date]) -> None:
        """Read the stored sets of the days not read yet, before adding to them."""
        missing = sorted(set(days) - self.loaded_days)
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            rows = self.session.execute(
                select(KpiDayMembers.day, KpiDayMembers.dimension, KpiDayMembers.value,
                       KpiDayMembers.kind, KpiDayMembers.members)
                .where(KpiDayMembers.day.in_(chunk))
            )
            for day, dimension, value, kind, members in rows:
                self.sets[(day, dimension, value, kind)] = BitMap64.deserialize(members)
        self.loaded_days.update(missing)

    def forget(self) -> None:
        """Drop every set from memory, after the changed ones were written."""
        self.sets.clear()
        self.loaded_days.clear()
        self.changed.clear()

    def add_buyer(self, day: date, dimension: str, value: str, member_id: int) -> None:
        buyers = self._set((day, dimension, value, BUYERS))
        if member_id in buyers:
            self._set((day, dimension, value, REPEAT_BUYERS)).add(member_id)
        else:
            buyers.add(member_id)

    def add_redeemer(self, day: date, member_id: int) -> None:
        self._set((day, ALL, "", REDEEMERS)).add(member_id)

    def _set(self, key: SetKey) -> BitMap64:
        if key[0] not in self.loaded_days:
            raise RuntimeError(f"the member sets of {key[0]} were not loaded before a change")
        self.changed.add(key)
        return self.sets.setdefault(key, BitMap64())

    def rows(self) -> list[dict[str, Any]]:
        """Return the changed sets as rows for an upsert that replaces the stored ones."""
        now = utcnow()
        rows = []
        for key in sorted(self.changed):
            day, dimension, value, kind = key
            members = self.sets[key]
            rows.append({"day": day, "dimension": dimension, "value": value, "kind": kind,
                         "members": members.serialize(), "size": len(members),
                         "updated_at": now})
        return rows


class MemberCounter:
    """Distinct-member counts over ranges of local days, for one dimension value."""

    def __init__(self, session: Session, first: date, last: date, dimension: str = ALL,
                 value: str = "") -> None:
        kinds = [BUYERS, REPEAT_BUYERS] + ([REDEEMERS] if dimension == ALL else [])
        self.sets: dict[tuple[date, str], BitMap64] = {}
        rows = session.execute(
            select(KpiDayMembers.day, KpiDayMembers.kind, KpiDayMembers.members)
            .where(KpiDayMembers.day >= first, KpiDayMembers.day <= last,
                   tuple_(KpiDayMembers.dimension, KpiDayMembers.value) == (dimension, value),
                   KpiDayMembers.kind.in_(kinds))
        )
        for day, kind, members in rows:
            self.sets[(day, kind)] = BitMap64.deserialize(members)
        self.first = first
        self.last = last

    def active(self, start: date, end: date) -> int:
        """Count members who bought, or brand-wide also redeemed, on a day of start..end."""
        return len(BitMap64.union(BitMap64(), *self._each(start, end, BUYERS, REDEEMERS)))

    def buyers(self, start: date, end: date) -> tuple[int, int]:
        """Return the members who bought in start..end, and those of them who bought on two
        or more occasions (two days, or twice on one day)."""
        seen = BitMap64()
        repeat = BitMap64()
        for day in self._days(start, end):
            bought = self.sets.get((day, BUYERS))
            if bought is not None:
                repeat |= seen & bought
                seen |= bought
            twice = self.sets.get((day, REPEAT_BUYERS))
            if twice is not None:
                repeat |= twice
        return len(seen), len(repeat)

    def _each(self, start: date, end: date, *kinds: str) -> list[BitMap64]:
        return [self.sets[(day, kind)] for day in self._days(start, end) for kind in kinds
                if (day, kind) in self.sets]

    def _days(self, start: date, end: date) -> Iterator[date]:
        if start < self.first or end > self.last:
            raise ValueError(f"days {start} to {end} are outside the loaded {self.first} to "
                             f"{self.last}")
        day = start
        while day <= end:
            yield day
            day += timedelta(days=1)
