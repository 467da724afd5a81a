"""The rollup stops before a gap in ids that a transaction still open may fill."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from saas.analytics.rollup import rows_before_recent_gap

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(minutes=10)


def rows(*specs):
    return [SimpleNamespace(id=row_id, recorded_at=NOW - timedelta(minutes=age))
            for row_id, age in specs]


def test_contiguous_rows_all_ready():
    batch = rows((5, 0), (6, 0), (7, 0))
    assert rows_before_recent_gap(batch, 4, CUTOFF) == batch


def test_recent_gap_stops_the_batch():
    batch = rows((5, 0), (7, 1), (8, 1))
    assert [row.id for row in rows_before_recent_gap(batch, 4, CUTOFF)] == [5]


def test_recent_gap_after_watermark_stops_everything():
    assert rows_before_recent_gap(rows((6, 1)), 4, CUTOFF) == []


def test_old_gap_is_skipped():
    batch = rows((5, 30), (9, 20), (10, 1))
    assert rows_before_recent_gap(batch, 4, CUTOFF) == batch
