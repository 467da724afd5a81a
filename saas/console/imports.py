"""Transaction import in the brand console: upload a file, map its columns, preview the
first rows as parsed, start the ``imports.transactions`` job, follow it and download the
error report.

Uploads are stored per brand under ``<instance>/imports/<slug>/uploads/<upload id>/``, next
to the error reports that the job writes to ``<instance>/imports/<slug>/``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, request, send_file, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.console.base import EDITORS, actor, page, record
from saas.db import utcnow
from saas.imports.columns import (
    COLUMN_NAMES,
    FIELDS,
    REQUIRED_FIELDS,
    ColumnMap,
    ColumnMappingError,
    normalise_column_name,
    resolve_columns,
)
from saas.imports.fingerprints import Occurrences
from saas.imports.reader import ImportFormatError, open_table
from saas.imports.report import ErrorReport
from saas.imports.rows import RowParser, TransactionRow
from saas.jobs.queueing import JobQueueUnavailable, enqueue
from saas.jobs.status import JobView, job_status
from saas.loyalty.money import format_money
from saas.tenancy.validation import BrandValidationError, check_currency
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_imports", __name__)

IMPORT_JOB = "imports.transactions"
# Default size limit of an uploaded file; the app config key IMPORT_MAX_UPLOAD_BYTES
# overrides it. Flask's MAX_CONTENT_LENGTH (200 MiB) caps any request before this check.
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
PREVIEW_ROWS = 10
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")

# Delimiter choices of the upload form; "" lets the reader detect it from the header.
DELIMITERS = {"": _l("detect from the header"), ",": _l("comma"), ";": _l("semicolon"),
              "\t": _l("tab"), "whitespace": _l("spaces")}
FIELD_LABELS = {
    "member": _l("Member reference"), "date": _l("Order date"), "amount": _l("Amount"),
    "currency": _l("Currency"), "order": _l("Order reference"), "channel": _l("Channel"),
    "category": _l("Category"), "refund": _l("Refund flag"),
}


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A stored upload: the file, the options given with it and its header and row count."""

    id: str
    directory: Path
    filename: str
    size: int
    delimiter: str | None
    header: list[str]
    rows: int

    @property
    def path(self) -> Path:
        return self.directory / "data"


def _brand_imports() -> Path:
    settings = current_app.extensions["tessera"].settings
    return Path(settings.instance_path) / "imports" / g.brand.slug


def _uploads() -> Path:
    return _brand_imports() / "uploads"


def _max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))


def _size_text(size: int) -> str:
    return _("%(size)s MiB", size=f"{size / (1024 * 1024):.1f}")


# --- Upload ----------------------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@allow(console(*EDITORS))
def upload():
    if request.method == "GET":
        return _upload_page()
    delimiter = request.form.get("delimiter", "")
    try:
        if delimiter not in DELIMITERS:
            raise FormError("delimiter", _("delimiter: %(value)s is not one of the offered "
                                           "choices.", value=delimiter))
        stored = _store_upload(request.files.get("file"), delimiter or None)
    except FormError as exc:
        return _upload_page(error=exc.message, delimiter=delimiter, status=400)
    return redirect(url_for("console_imports.mapping", upload_id=stored.id))


def _upload_page(error: str | None = None, delimiter: str = "", status: int = 200):
    return page("console/import_upload.html", error=error, delimiters=DELIMITERS,
                delimiter=delimiter, max_size=_size_text(_max_bytes())), status


def _store_upload(file, delimiter: str | None) -> Upload:
    """Copy the uploaded file into the brand's upload folder, checking size and header."""
    if file is None or not file.filename:
        raise FormError("file", _("file: choose a transaction file to upload."))
    filename = Path(file.filename.replace("\\", "/")).name[:200]
    upload_id = uuid.uuid4().hex
    directory = _uploads() / upload_id
    directory.mkdir(parents=True)
    try:
        size = _copy_limited(file.stream, directory / "data")
        if size == 0:
            raise FormError("file", _("file: %(name)s is empty.", name=filename))
        header, rows = _read_shape(directory / "data", delimiter)
    except FormError:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    meta = {"filename": filename, "size": size, "delimiter": delimiter, "header": header,
            "rows": rows, "uploaded_by": actor(), "uploaded_at": utcnow().isoformat()}
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return Upload(upload_id, directory, filename, size, delimiter, header, rows)


def _copy_limited(stream, target: Path) -> int:
    limit = _max_bytes()
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(COPY_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise FormError("file", _("file: the file is larger than %(limit)s; split it "
                                          "into smaller files.", limit=_size_text(limit)))
            out.write(chunk)
    return size


def _read_shape(path: Path, delimiter: str | None) -> tuple[list[str], int]:
    """Return the header and the number of data rows, or raise FormError naming the problem."""
    try:
        with path.open("rb") as stream:
            table = open_table(stream, delimiter)
            rows = sum(1 for _row in table)
    except ImportFormatError as exc:
        raise FormError("file", _("file: the file cannot be read: %(reason)s",
                                  reason=str(exc))) from None
    return table.header, rows


def _upload_or_404(upload_id: str) -> Upload:
    if not UPLOAD_ID.fullmatch(upload_id):
        abort(404)
    directory = _uploads() / upload_id
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        abort(404)
    return Upload(upload_id, directory, meta["filename"], meta["size"], meta["delimiter"],
                  meta["header"], meta["rows"])


# --- Mapping and preview ---------------------------------------------------------------------

def recognised_columns(header: list[str]) -> dict[str, str]:
    """Return the column whose header name the importer recognises for each field.

    A field is left out when no column name matches, or when two columns match equally
    well, so that the user chooses the column instead of the form guessing it.
    """
    normalised = [normalise_column_name(name) for name in header]
    claimed: set[int] = set()
    chosen: dict[str, str] = {}
    for field in FIELDS:
        for alias in COLUMN_NAMES[field]:
            matches = [index for index, name in enumerate(normalised)
                       if name == normalise_column_name(alias) and index not in claimed]
            if len(matches) == 1:
                claimed.add(matches[0])
                chosen[field] = header[matches[0]]
            if matches:
                break
    return chosen


def _form_mapping(upload: Upload) -> dict[str, str]:
    """Read the mapping form into field → column name, checking each choice."""
    mapping: dict[str, str] = {}
    taken: dict[str, str] = {}
    for field in FIELDS:
        column = request.form.get(f"map_{field}", "")
        if not column:
            if field in REQUIRED_FIELDS:
                raise FormError(f"map_{field}", _("%(field)s: choose the column that holds "
                                                  "it.", field=FIELD_LABELS[field]))
            continue
        if column not in upload.header:
            raise FormError(f"map_{field}", _("%(field)s: the file has no column %(column)s.",
                                              field=FIELD_LABELS[field], column=column))
        if column in taken:
            raise FormError(f"map_{field}", _(
                "%(field)s: the column %(column)s is chosen for %(other)s already; choose "
                "each column once.", field=FIELD_LABELS[field], column=column,
                other=FIELD_LABELS[taken[column]]))
        taken[column] = field
        mapping[field] = column
    return mapping


def _form_currency() -> str | None:
    raw = request.form.get("currency", "").strip()
    if not raw:
        return None
    try:
        return check_currency(raw)
    except BrandValidationError:
        raise FormError("currency", _("currency: %(value)s is not an ISO 4217 currency code "
                                      "such as USD, EUR or JPY.", value=raw)) from None


def _effective_columns(upload: Upload, mapping: dict[str, str]) -> ColumnMap:
    # NOTE: the job resolves the columns again from the file's header, so a field left
    # unmapped here still takes a column whose name the importer recognises for it.
    try:
        return resolve_columns(upload.header, mapping)
    except ColumnMappingError as exc:
        raise FormError("mapping", _("The columns cannot be mapped: %(reason)s",
                                     reason=str(exc))) from None


@dataclass(frozen=True)
class PreviewRow:
    line: int
    row: TransactionRow | None
    column: str = ""
    value: str = ""
    reason: str = ""


def _preview(upload: Upload, columns: ColumnMap, currency: str | None) -> list[PreviewRow]:
    """Parse the first rows as the job will, keeping each row's error."""
    errors = ErrorReport()
    # Repeated rows only change the generated order references, which the preview hides.
    parser = RowParser(g.brand, upload.header, columns, currency, Occurrences(set()), errors,
                       utcnow())
    rows: list[PreviewRow] = []
    with upload.path.open("rb") as stream:
        for line, cells in open_table(stream, upload.delimiter):
            before = errors.count
            parsed = parser.parse(line, cells)
            if errors.count > before:
                error = errors.errors[-1]
                rows.append(PreviewRow(line, None, error.column, error.value, error.reason))
            else:
                rows.append(PreviewRow(line, parsed))
            if len(rows) >= PREVIEW_ROWS:
                break
    return rows


def _money(amount_minor: int, currency: str) -> str:
    return format_money(amount_minor, currency, str(get_locale() or "en"))


def _mapping_page(upload: Upload, mapping: dict[str, str], currency: str, *,
                  error: str | None = None, status: int = 200, fragment: bool = False):
    preview: list[PreviewRow] = []
    if error is None:
        try:
            columns = _effective_columns(upload, mapping)
            preview = _preview(upload, columns, currency or None)
        except FormError as exc:
            error = exc.message
    template = "console/_import_preview.html" if fragment else "console/import_mapping.html"
    return page(template, upload=upload, mapping=mapping, currency=currency, error=error,
                preview=preview, fields=FIELDS, required=REQUIRED_FIELDS,
                field_labels=FIELD_LABELS, money=_money, format_moment=format_datetime,
                size=_size_text(upload.size)), status


@bp.get("/import/<upload_id>")
@allow(console(*EDITORS))
def mapping(upload_id: str):
    upload = _upload_or_404(upload_id)
    return _mapping_page(upload, recognised_columns(upload.header), "")


@bp.post("/import/<upload_id>/preview")
@allow(console(*EDITORS))
def preview(upload_id: str):
    """Render the preview for the submitted mapping; nothing is stored."""
    upload = _upload_or_404(upload_id)
    currency = request.form.get("currency", "").strip()
    try:
        chosen = _form_mapping(upload)
        currency = _form_currency() or ""
    except FormError as exc:
        # 200, because HTMX swaps in only successful responses, and an incomplete mapping
        # is an expected state of the form while the user is still choosing.
        return _mapping_page(upload, {}, currency, error=exc.message, fragment=True)
    return _mapping_page(upload, chosen, currency, fragment=True)


@bp.post("/import/<upload_id>/start")
@allow(console(*EDITORS))
def start(upload_id: str):
    upload = _upload_or_404(upload_id)
    currency = request.form.get("currency", "").strip()
    chosen = {field: request.form.get(f"map_{field}", "") for field in FIELDS}
    try:
        chosen = _form_mapping(upload)
        currency = _form_currency() or ""
        _effective_columns(upload, chosen)
    except FormError as exc:
        return _mapping_page(upload, chosen, currency, error=exc.message, status=400)
    runtime = current_app.extensions["tessera"]
    try:
        job_id = enqueue(runtime, g.brand.slug, IMPORT_JOB, path=str(upload.path.resolve()),
                         mapping=chosen, currency=currency or None, delimiter=upload.delimiter)
    except JobQueueUnavailable:
        return _mapping_page(upload, chosen, currency, status=503, error=_(
            "The import could not be queued because the job queue is unavailable. Try again "
            "in a few minutes."))
    record("import.start", f"job:{job_id}", None,
           {"file": upload.filename, "rows": upload.rows, "mapping": chosen,
            "currency": currency or g.brand.base_currency, "upload": upload.id})
    brand_db().commit()
    return redirect(url_for("console_imports.job", job_id=job_id))


# --- Job progress, summary and error report --------------------------------------------------

def _import_job_or_404(job_id: str) -> JobView:
    view = job_status(brand_db(), job_id)
    if view is None or view.name != IMPORT_JOB:
        abort(404)
    return view


def _error_report(view: JobView) -> Path | None:
    """Return the job's error report if it wrote one; the path is the one the job uses."""
    path = _brand_imports() / f"{view.id}-errors.csv"
    if view.result and view.result.get("error_report") and path.is_file():
        return path
    return None


def _summary_context(view: JobView) -> dict[str, Any]:
    return {"job": view, "result": view.result or {},
            "has_report": _error_report(view) is not None}


@bp.get("/import/jobs/<job_id>")
@allow(console(*EDITORS))
def job(job_id: str):
    view = _import_job_or_404(job_id)
    return page("console/import_job.html", **_summary_context(view))


@bp.get("/import/jobs/<job_id>/summary")
@allow(console(*EDITORS))
def summary(job_id: str):
    view = _import_job_or_404(job_id)
    return page("console/_import_summary.html", **_summary_context(view))


@bp.get("/import/jobs/<job_id>/errors.csv")
@allow(console(*EDITORS))
def error_report(job_id: str):
    view = _import_job_or_404(job_id)
    path = _error_report(view)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name=f"import-errors-{view.id}.csv")
