"""Cohort heatmaps in the brand console: two definitions side by side, and CSV export."""

from __future__ import annotations

import io
from datetime import date

import plotly.graph_objects as go
from flask import Blueprint, Response, g, request
from flask_babel import gettext as _

from saas.analytics.cohorts import (
    DEFINITIONS,
    MAX_MONTHS,
    RECIPIENTS_SETTING,
    CohortTable,
    cohort_table,
)
from saas.console.base import EDITORS, page, record
from saas.db import utcnow
from saas.imports.report import write_rows, xlsx_bytes
from saas.loyalty.errors import InvalidInput
from saas.tenancy.settings import get_setting, put_setting
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_cohorts", __name__)

READERS = ("owner", "admin", "analyst")


def _labels() -> dict[str, str]:
    return {"join_month": _("Join month"), "first_purchase_month": _("First purchase month"),
            "tier": _("Tier today, by months since joining")}


def _month(name: str, default: date) -> date:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput(_("%(field)s must be a month such as 2025-03, not %(value)s",
                             field=name, value=raw), field=name, value=raw) from None


def _request() -> tuple[date, date, int]:
    today = utcnow().date()
    default_end = date(today.year, today.month, 1)
    default_start = date(default_end.year - 1, default_end.month, 1)
    start, end = _month("start", default_start), _month("end", default_end)
    raw = request.args.get("months", "12")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MONTHS:
        raise InvalidInput(_("months must be a whole number from 1 to %(high)s, not %(value)s",
                             high=MAX_MONTHS, value=raw), field="months", value=raw)
    return start, end, int(raw)


def _heatmap(table: CohortTable) -> str:
    figure = go.Figure(go.Heatmap(
        z=[[None if value is None else round(100 * value, 1) for value in row.retention]
           for row in table.rows],
        x=[f"M{n}" for n in range(table.months)],
        y=[row.cohort or _("no tier") for row in table.rows],
        colorscale="Blues", zmin=0, zmax=100, colorbar={"title": "%"}))
    figure.update_layout(margin={"l": 70, "r": 20, "t": 10, "b": 40},
                         height=max(240, 28 * len(table.rows) + 80),
                         yaxis={"autorange": "reversed"})
    return figure.to_json()


@bp.get("/analytics/cohorts")
@allow(console(*READERS))
def cohorts():
    try:
        start, end, months = _request()
    except InvalidInput as exc:
        return page("console/cohorts.html", error=exc.message, tables=[], labels=_labels(),
                    start="", end="", months=12), 400
    tables = [cohort_table(brand_db(), g.brand.timezone, definition, start=start, end=end,
                           months=months) for definition in DEFINITIONS]
    return page("console/cohorts.html", error=None, labels=_labels(), months=months,
                start=start.strftime("%Y-%m"), end=end.strftime("%Y-%m"),
                tables=[(table, _heatmap(table)) for table in tables],
                recipients=get_setting(brand_db(), RECIPIENTS_SETTING))


@bp.post("/analytics/cohorts/recipients")
@allow(console(*EDITORS))
def recipients():
    """Set who gets the monthly cohort report by email (audited)."""
    session = brand_db()
    before = get_setting(session, RECIPIENTS_SETTING)
    raw = request.form.get("recipients", "").replace(",", " ").split()
    try:
        after = put_setting(session, RECIPIENTS_SETTING, raw)
    except (ValueError, InvalidInput) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, InvalidInput) else str(exc)
        return Response(_("Not saved: %(reason)s", reason=message), status=400,
                        mimetype="text/plain")
    record("analytics.cohort_report_recipients", f"setting:{RECIPIENTS_SETTING}",
           {"recipients": before}, {"recipients": after})
    session.commit()
    return cohorts()


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/analytics/cohorts.csv")
@allow(console(*READERS))
def cohorts_csv():
    return _export("csv")


@bp.get("/analytics/cohorts.xlsx")
@allow(console(*READERS))
def cohorts_xlsx():
    return _export("xlsx")


def _export(kind: str) -> Response:
    definition = request.args.get("definition", "join_month")
    start, end, months = _request()
    table = cohort_table(brand_db(), g.brand.timezone, definition, start=start, end=end,
                         months=months)
    rows = table.csv_rows()
    filename = f"{g.brand.slug}-cohorts-{definition}-{start:%Y-%m}-{end:%Y-%m}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "xlsx":
        return Response(xlsx_bytes(rows[0], rows[1:], title=definition), mimetype=XLSX_TYPE,
                        headers=headers)
    stream = io.StringIO(newline="")
    write_rows(stream, rows[0], rows[1:])
    return Response(stream.getvalue(), mimetype="text/csv", headers=headers)


@bp.errorhandler(InvalidInput)
def invalid(error: InvalidInput):
    return Response(error.message, status=400, mimetype="text/plain")
