"""Import a file of transactions into a brand: stream, check, and record in batches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from saas.db import utcnow
from saas.imports.batches import (
    BatchTotals,
    ImportContext,
    load_rates,
    refresh_statistics,
    write_batch,
)
from saas.imports.columns import ColumnMap, resolve_columns
from saas.imports.fingerprints import Occurrences, repeated_fingerprints
from saas.imports.reader import open_table
from saas.imports.report import ErrorReport
from saas.imports.rows import RowParser
from saas.loyalty.policies import load_policies
from saas.loyalty.rulesets import load_rules
from saas.loyalty.tiers import tiers_by_threshold
from saas.tenancy.brands import BrandInfo

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
IMPORT_SOURCE = "import"

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ImportOptions:
    mapping: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    delimiter: str | None = None
    batch_size: int = BATCH_SIZE


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    refunds: int = 0
    rejected: int = 0
    members_created: int = 0
    points: int = 0
    delimiter: str = ""
    columns: dict[str, str | None] = field(default_factory=dict)
    # True when the file had no date column, so every order took the import time.
    dated_at_import: bool = False
    error_report: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def import_transactions(session: Session, brand: BrandInfo, path: Path,
                        options: ImportOptions, *, error_report_path: Path | None = None,
                        progress: Progress | None = None,
                        now: datetime | None = None) -> ImportSummary:
    """Import ``path`` into the brand; bad rows go to the error report, good rows commit.

    Raises ImportFormatError or ColumnMappingError, before writing anything, when the file
    as a whole cannot be read or its columns cannot be mapped.
    """
    now = now or utcnow()
    with path.open("rb") as stream:
        table = open_table(stream, options.delimiter)
        header, delimiter = table.header, table.delimiter
        columns = resolve_columns(header, options.mapping)
        total, repeated = repeated_fingerprints(table)

    summary = ImportSummary(rows=total, delimiter=delimiter,
                            columns=_column_names(header, columns),
                            dated_at_import=columns.date is None)
    errors = ErrorReport()
    totals = BatchTotals()
    context = ImportContext(brand=brand, source=IMPORT_SOURCE, rules=load_rules(session),
                            tiers=tiers_by_threshold(session), policies=load_policies(session),
                            rates=load_rates(session))
    session.commit()
    parser = RowParser(brand, header, columns, options.currency, Occurrences(repeated), errors,
                       now)
    with path.open("rb") as stream:
        _run_batches(session, context, open_table(stream, options.delimiter), parser,
                     options.batch_size, errors, totals, progress, total)

    summary.imported, summary.already_imported = totals.imported, totals.existing
    summary.refunds, summary.members_created = totals.refunds, totals.members_created
    summary.points, summary.rejected = totals.points, errors.count
    if errors.count and error_report_path is not None:
        error_report_path.parent.mkdir(parents=True, exist_ok=True)
        with error_report_path.open("w", encoding="utf-8", newline="") as report:
            errors.write_csv(report)
        summary.error_report = str(error_report_path)
    log.info("import of %s: %d rows, %d imported, %d already imported, %d rejected",
             path.name, total, summary.imported, summary.already_imported, summary.rejected)
    return summary


def _run_batches(session, context, table, parser, batch_size, errors, totals, progress, total):
    batch, done, written = [], 0, 0
    for line, cells in table:
        done += 1
        row = parser.parse(line, cells)
        if row is not None:
            batch.append(row)
        if len(batch) >= batch_size:
            write_batch(session, context, batch, errors, totals)
            written += 1
            if written & (written - 1) == 0:  # after batches 1, 2, 4, 8, …
                refresh_statistics(session)
            batch = []
            if progress:
                progress(done, total, f"{done} of {total} rows")
    write_batch(session, context, batch, errors, totals)
    if progress:
        progress(done, total, f"{done} of {total} rows")


def _column_names(header: list[str], columns: ColumnMap) -> dict[str, str | None]:
    return {name: (header[index] if index is not None else None)
            for name, index in asdict(columns).items()}
