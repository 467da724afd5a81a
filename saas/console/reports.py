"""The report builder in the brand console: choose a dataset, dimensions, measures, filters
and a sort in forms; see a table, a chart and statistics; save, share, schedule and export.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import plotly.graph_objects as go
from flask import Blueprint, Response, abort, g, request
from flask_babel import gettext as _
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from saas.analytics.reports import (
    DATASETS,
    OPERATORS,
    SCHEDULES,
    Filter,
    ReportSpec,
    SavedReport,
    csv_text,
    run_report,
    spec_from_json,
    spec_json,
    statistics,
)
from saas.console.accounts import normalise_email
from saas.console.base import page, record
from saas.console.identity import current_user
from saas.extensions import htmx
from saas.imports.report import xlsx_bytes
from saas.loyalty.errors import InvalidInput
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_reports", __name__)

READERS = ("owner", "admin", "analyst")
FILTER_ROWS = 3


def field_label(name: str) -> str:
    """Return the translated label of a dataset, field, operator or schedule name."""
    labels = {
        "members": _("members"), "ledger_entries": _("ledger entries"),
        "redemptions": _("redemptions"), "orders": _("orders"), "status": _("status"),
        "locale": _("language"), "balance": _("balance"), "joined_at": _("joined at"),
        "kind": _("kind"), "source": _("source"), "entries": _("entries"),
        "points": _("points"), "occurred_at": _("occurred at"), "issued_at": _("issued at"),
        "channel": _("channel"), "partner": _("partner"), "currency": _("currency"),
        "location": _("location"), "tier": _("tier"),
        "revenue_minor": _("revenue (minor units)"),
        "average_order_minor": _("average order (minor units)"), "ordered_at": _("ordered at"),
        "amount_minor": _("amount (minor units)"),
        "eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": _("one of"),
        "none": _("not sent"), "daily": _("daily"), "weekly": _("weekly"),
        "monthly": _("monthly"),
    }
    return labels.get(name, name)


def _spec_from_args(args) -> ReportSpec:
    filters = []
    for index in range(1, FILTER_ROWS + 1):
        name = args.get(f"filter_{index}", "").strip()
        if not name:
            continue
        raw = args.get(f"value_{index}", "")
        operator = args.get(f"operator_{index}", "eq")
        value: object = [part.strip() for part in raw.split(",") if part.strip()] \
            if operator == "in" else _number_or_text(raw)
        filters.append(Filter(name, operator, value))
    limit = args.get("limit", "1000")
    if not str(limit).isdigit():
        raise InvalidInput(_("limit must be a whole number, not %(value)s", value=limit),
                           field="limit", value=limit)
    return ReportSpec(dataset=args.get("dataset", "orders"),
                      dimensions=tuple(args.getlist("dimension")),
                      measures=tuple(args.getlist("measure")), filters=tuple(filters),
                      sort=args.get("sort") or None, descending=args.get("descending") == "on",
                      limit=int(limit))


def _number_or_text(raw: str) -> object:
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _visible_reports() -> list[SavedReport]:
    email = current_user().email
    return list(brand_db().scalars(select(SavedReport).where(
        or_(SavedReport.owner == email, SavedReport.shared.is_(True)))
        .order_by(SavedReport.name)))


def _chart(columns: list[str], rows: list[tuple], spec: ReportSpec) -> str | None:
    if not rows or not spec.dimensions:
        return None
    label = columns.index(spec.dimensions[0])
    figure = go.Figure()
    for measure in spec.measures:
        index = columns.index(measure)
        figure.add_bar(x=[str(row[label]) for row in rows], y=[row[index] for row in rows],
                       name=field_label(measure))
    figure.update_layout(margin={"l": 50, "r": 20, "t": 10, "b": 60}, height=320,
                         barmode="group", legend={"orientation": "h"})
    return figure.to_json()


def _results(spec: ReportSpec):
    columns, rows = run_report(brand_db(), spec)
    stats = None
    x, y = request.args.get("stat_x"), request.args.get("stat_y")
    if x and y:
        stats = statistics(columns, rows, x, y)
    return {"columns": columns, "rows": rows, "chart": _chart(columns, rows, spec),
            "stats": stats, "asked_stats": bool(x and y)}


def _query_of(spec: ReportSpec) -> str:
    """Return the builder's query string for ``spec``, so a result can be saved or exported."""
    pairs = [("dataset", spec.dataset)] + [("dimension", name) for name in spec.dimensions]
    pairs += [("measure", name) for name in spec.measures]
    for index, item in enumerate(spec.filters, start=1):
        value = ",".join(map(str, item.value)) if isinstance(item.value, list | tuple) \
            else str(item.value)
        pairs += [(f"filter_{index}", item.field), (f"operator_{index}", item.operator),
                  (f"value_{index}", value)]
    if spec.sort:
        pairs.append(("sort", spec.sort))
    if spec.descending:
        pairs.append(("descending", "on"))
    pairs.append(("limit", str(spec.limit)))
    return urlencode(pairs)


def _builder(spec: ReportSpec | None, *, results=None, error=None, message=None,
             status=200, saved: SavedReport | None = None):
    spec = spec or ReportSpec("orders", dimensions=("channel",), measures=("orders",))
    dataset = DATASETS.get(spec.dataset) or DATASETS["orders"]
    return page("console/reports.html", label=field_label, spec=spec, dataset=dataset,
                datasets=sorted(DATASETS),
                operators=OPERATORS, filter_rows=FILTER_ROWS, results=results, error=error,
                message=message, reports=_visible_reports(), schedules=list(SCHEDULES),
                saved=saved, query=_query_of(spec)), status


@bp.get("/reports")
@allow(console(*READERS))
def builder():
    return _builder(None)


@bp.get("/reports/fields")
@allow(console(*READERS))
def fields():
    """HTMX: the dimension, measure and filter choices of the chosen dataset."""
    name = request.args.get("dataset", "orders")
    if name not in DATASETS:
        abort(404)
    return page("console/_report_fields.html", label=field_label, dataset=DATASETS[name],
                spec=ReportSpec(name), operators=OPERATORS, filter_rows=FILTER_ROWS)


@bp.get("/reports/run")
@allow(console(*READERS))
def run():
    try:
        spec = _spec_from_args(request.args)
        results = _results(spec)
    except InvalidInput as exc:
        brand_db().rollback()
        if htmx:
            # HTMX swaps in only 2xx responses, so the error comes back with 200.
            return page("console/_report_results.html", label=field_label, results=None,
                        error=exc.message)
        return _builder(None, error=exc.message, status=400)
    if htmx:
        return page("console/_report_results.html", label=field_label, results=results, error=None,
                    query=_query_of(spec), schedules=list(SCHEDULES))
    return _builder(spec, results=results)


@bp.get("/reports/run.csv")
@allow(console(*READERS))
def export():
    try:
        spec = _spec_from_args(request.args)
        columns, rows = run_report(brand_db(), spec)
    except InvalidInput as exc:
        return Response(exc.message, status=400, mimetype="text/plain")
    return Response(csv_text(columns, rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{g.brand.slug}-{spec.dataset}.csv"'})


@bp.get("/reports/run.xlsx")
@allow(console(*READERS))
def export_xlsx():
    try:
        spec = _spec_from_args(request.args)
        columns, rows = run_report(brand_db(), spec)
    except InvalidInput as exc:
        return Response(exc.message, status=400, mimetype="text/plain")
    return Response(xlsx_bytes(columns, rows, title=spec.dataset),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="{g.brand.slug}-{spec.dataset}.xlsx"'})


@bp.post("/reports/save")
@allow(console(*READERS))
def save():
    form = request.form
    try:
        spec = _spec_from_args(MultiDict(parse_qsl(form.get("query", ""))))
        run_report(brand_db(), spec)  # validates every name before anything is stored
        name = form.get("name", "").strip()
        if not name or len(name) > 200:
            raise InvalidInput(_("Give the report a name of 1 to 200 characters."),
                               field="name")
        schedule = form.get("schedule", "none")
        if schedule not in SCHEDULES:
            raise InvalidInput(_("Unknown schedule %(value)s.", value=schedule),
                               field="schedule")
        recipients = [normalise_email(address)
                      for address in form.get("recipients", "").replace(",", " ").split()]
        if schedule != "none" and not recipients:
            raise InvalidInput(_("A scheduled report needs at least one recipient."),
                               field="recipients")
    except InvalidInput as exc:
        brand_db().rollback()
        return _builder(None, error=exc.message, status=400)
    report = SavedReport(name=name, spec=spec_json(spec), owner=current_user().email,
                         shared=form.get("shared") == "on", schedule=schedule,
                         recipients=" ".join(recipients))
    brand_db().add(report)
    brand_db().flush()
    record("report.save", f"report:{report.id}", None,
           {"name": name, "spec": report.spec, "shared": report.shared, "schedule": schedule,
            "recipients": recipients})
    brand_db().commit()
    return _builder(spec, results=_results(spec), saved=report,
                    message=_("Report %(name)s saved.", name=name))


@bp.get("/reports/<int:report_id>")
@allow(console(*READERS))
def open_report(report_id: int):
    report = brand_db().get(SavedReport, report_id)
    if report is None or not (report.shared or report.owner == current_user().email):
        abort(404)
    spec = spec_from_json(report.spec)
    return _builder(spec, results=_results(spec), saved=report)
