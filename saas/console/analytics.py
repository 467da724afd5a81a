"""Brand console analytics: KPI tiles against the previous period and a daily chart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from flask import Blueprint, abort, g, request, url_for
from flask_babel import gettext as _
from plotly.subplots import make_subplots
from sqlalchemy import func, select

from saas.analytics.kpis import KpiEngine, point_value_minor
from saas.analytics.models import ALL, ORDER_DIMENSIONS, DashboardLayout, KpiDay
from saas.analytics.roi import SETTING as ROI_SETTING
from saas.analytics.roi import program_roi
from saas.analytics.rollup import day_bounds
from saas.console.base import EDITORS, page, record
from saas.console.identity import current_role, current_user
from saas.extensions import htmx
from saas.loyalty.models import LedgerEntry, Member
from saas.loyalty.money import currency_exponent
from saas.tenancy.settings import get_setting, put_setting
from saas.web.policy import allow, console
from saas.web.tenant import brand_db

bp = Blueprint("console_analytics", __name__)

DEFAULT_DAYS = 30
# Maximum days in a range, so one request reads at most this many day rows per series.
MAX_DAYS = 731

# KPI tiles in display order, with their labels.
TILES = (
    ("members_total", lambda: _("Members")),
    ("new_members", lambda: _("New members")),
    ("active_members_30d", lambda: _("Active in the last 30 days")),
    ("active_members_90d", lambda: _("Active in the last 90 days")),
    ("points_earned", lambda: _("Points earned")),
    ("points_redeemed", lambda: _("Points redeemed")),
    ("points_expired", lambda: _("Points expired")),
    ("points_outstanding", lambda: _("Outstanding points")),
    ("liability_minor", lambda: _("Liability")),
    ("redemption_rate", lambda: _("Redemption rate")),
    ("breakage_rate", lambda: _("Breakage rate")),
    ("member_revenue_minor", lambda: _("Revenue from members")),
    ("average_order_value_minor", lambda: _("Average order value of members")),
    ("non_member_average_order_value_minor", lambda: _("Average order value of non-members")),
    ("repeat_purchase_rate", lambda: _("Repeat-purchase rate")),
)


# What each role sees first until a user saves a layout: owners the program's value and
# liability, admins activity and redemptions, analysts everything.
ROLE_TILES = {
    "owner": ("liability_minor", "points_outstanding", "member_revenue_minor",
              "redemption_rate", "breakage_rate", "members_total", "active_members_30d"),
    "admin": ("new_members", "active_members_30d", "points_earned", "points_redeemed",
              "redemption_rate", "repeat_purchase_rate", "average_order_value_minor"),
}


def _tile_names() -> list[str]:
    row = brand_db().scalar(select(DashboardLayout.tiles).where(
        DashboardLayout.user_email == current_user().email))
    if row:
        return [name for name in row if name in dict(TILES)]
    role = current_role().value
    return list(ROLE_TILES.get(role, [name for name, _label in TILES]))


@bp.get("/analytics")
@allow(console("owner", "admin", "analyst"))
def dashboard():
    return _dashboard()


@bp.post("/analytics/layout")
@allow(console("owner", "admin", "analyst"))
def save_layout():
    """Save the tiles this user wants, or go back to the role's default with ``reset``."""
    session = brand_db()
    email = current_user().email
    layout = session.scalar(select(DashboardLayout).where(DashboardLayout.user_email == email))
    if request.form.get("reset") == "yes":
        if layout is not None:
            session.delete(layout)
    else:
        chosen = [name for name, _label in TILES if request.form.get(f"tile_{name}") == "on"]
        if not chosen:
            return _dashboard(roi_error=_("Choose at least one tile."), status=400)
        if layout is None:
            session.add(DashboardLayout(user_email=email, tiles=chosen))
        else:
            layout.tiles = chosen
    session.commit()
    return _dashboard()


def _dashboard(roi_error: str | None = None, status: int = 200):
    brand = g.brand
    session = brand_db()
    start, end, error = _requested_range(session, brand.timezone)
    engine = KpiEngine(session, brand.timezone, brand.base_currency)
    dimension, value = _requested_filter()
    kpis = engine.kpis(start, end, dimension=dimension, value=value)
    labels = dict(TILES)
    chosen = _tile_names()
    tiles = [(labels[name](), kpis[name]) for name in chosen]
    roi = program_roi(session, {name: kpi.value for name, kpi in kpis.items()},
                      point_value_minor(session, brand.base_currency), (end - start).days + 1)
    template = "console/_analytics_body.html" if htmx else "console/analytics.html"
    choices = {name: [row for row in session.scalars(
        select(KpiDay.value).where(KpiDay.dimension == name).distinct().order_by(KpiDay.value))
        if row] for name in ORDER_DIMENSIONS}
    composition = (_composition_chart(engine, start, end, brand.base_currency)
                   if dimension == ALL else None)
    return page(template, start=start, end=end, error=error, tiles=tiles,
                figure=_chart(engine, start, end, dimension, value),
                composition=composition, funnel=_funnel_chart(kpis, dimension),
                currency=brand.base_currency, roi=roi, roi_error=roi_error,
                dimension=dimension, value=value, choices=choices, chosen=chosen,
                all_tiles=[(name, label()) for name, label in TILES]), status


def _requested_filter() -> tuple[str, str]:
    """Return the requested order dimension (channel, partner or tier) and value, or the whole
    brand."""
    raw = request.args.get("filter", "").strip()
    dimension, _sep, value = raw.partition(":")
    if dimension in ORDER_DIMENSIONS and value:
        return dimension, value
    return ALL, ""


@bp.post("/analytics/roi")
@allow(console(*EDITORS))
def roi_assumptions():
    """Save the ROI assumptions (audited) and show the dashboard again."""
    session = brand_db()
    before = get_setting(session, ROI_SETTING)
    values = {key: request.form.get(key, "").strip()
              for key in ("margin_percent", "incremental_percent", "monthly_cost_minor")}
    try:
        after = put_setting(session, ROI_SETTING, values)
    except ValueError as exc:
        session.rollback()
        return _dashboard(roi_error=_("Not saved: %(reason)s", reason=str(exc)), status=400)
    record("analytics.roi_update", "setting:analytics.roi", before, after)
    session.commit()
    return _dashboard()


def _requested_range(session, timezone: str) -> tuple[date, date, str | None]:
    """Read ``start`` and ``end`` (ISO dates), defaulting to the last 30 days with data."""
    latest = session.scalar(select(func.max(KpiDay.day)).where(KpiDay.dimension == ALL))
    today = datetime.now(ZoneInfo(timezone)).date()
    default_end = min(latest, today) if latest else today
    default = (default_end - timedelta(days=DEFAULT_DAYS - 1), default_end)
    raw_start = request.args.get("start", "").strip()
    raw_end = request.args.get("end", "").strip()
    if not raw_start and not raw_end:
        return *default, None
    try:
        start = date.fromisoformat(raw_start) if raw_start else default[0]
        end = date.fromisoformat(raw_end) if raw_end else default[1]
    except ValueError:
        return *default, _("Invalid date %(start)s to %(end)s: use YYYY-MM-DD, such as "
                           "2025-03-01.", start=raw_start or "-", end=raw_end or "-")
    if end < start:
        return *default, _("Invalid range: the end %(end)s is before the start %(start)s.",
                           start=start.isoformat(), end=end.isoformat())
    if (end - start).days + 1 > MAX_DAYS:
        return *default, _("The range is too long: choose at most %(days)d days.",
                           days=MAX_DAYS)
    return start, end, None


def _chart(engine: KpiEngine, start: date, end: date, dimension: str = ALL,
           value: str = "") -> str:
    """Return the daily chart as Plotly figure JSON, drawn in the page by js/charts.js.

    A click on a day opens that day's ledger entries (``meta.drill`` of the layout).
    """
    earned = engine.daily_series("points_earned", start, end, dimension=dimension, value=value)
    redeemed = engine.daily_series("points_redeemed", start, end, dimension=dimension,
                                   value=value)
    joined = engine.daily_series("new_members", start, end)
    days = [row.day.isoformat() for row in earned]

    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=days, y=[row.value for row in earned], mode="lines",
                                name=_("Points earned")), secondary_y=False)
    figure.add_trace(go.Scatter(x=days, y=[row.value for row in redeemed], mode="lines",
                                name=_("Points redeemed")), secondary_y=False)
    figure.add_trace(go.Bar(x=days, y=[row.value for row in joined], name=_("New members"),
                            opacity=0.4), secondary_y=True)
    figure.update_layout(margin={"l": 40, "r": 40, "t": 20, "b": 40}, height=360,
                         legend={"orientation": "h"}, template="none",
                         meta={"drill": url_for("console_analytics.day", day="DAY")})
    figure.update_yaxes(title_text=_("Points"), secondary_y=False)
    figure.update_yaxes(title_text=_("New members"), secondary_y=True)
    return figure.to_json()


DRILL_ROWS = 200


@bp.get("/analytics/days/<day>")
@allow(console("owner", "admin", "analyst"))
def day(day: str):
    """List the ledger entries of one brand-local day, which make up a chart point."""
    try:
        local = date.fromisoformat(day)
    except ValueError:
        abort(404)
    start, end = day_bounds(local, ZoneInfo(g.brand.timezone))
    rows = brand_db().execute(
        select(LedgerEntry, Member.ref).join(Member, Member.id == LedgerEntry.member_id)
        .where(LedgerEntry.occurred_at >= start, LedgerEntry.occurred_at < end)
        .order_by(LedgerEntry.occurred_at).limit(DRILL_ROWS + 1)).all()
    return page("console/analytics_day.html", day=local, rows=rows[:DRILL_ROWS],
                more=len(rows) > DRILL_ROWS, utc_start=start, utc_end=end)


def _composition_chart(engine: KpiEngine, start: date, end: date, currency: str) -> str:
    """Return the period's revenue by channel as a Plotly donut, in major units."""
    parts = engine.composition(start, end, "channel")
    exponent = currency_exponent(currency)
    figure = go.Figure(go.Pie(
        labels=[value or _("no channel") for value, _total in parts],
        values=[total / 10 ** exponent for _value, total in parts], hole=0.5, sort=False,
        hovertemplate=f"%{{label}}: %{{value:,.{exponent}f}} {currency}<extra></extra>"))
    figure.update_layout(margin={"l": 20, "r": 20, "t": 20, "b": 20}, height=300,
                         template="none")
    return figure.to_json()


def _funnel_chart(kpis: dict, dimension: str) -> str:
    """Return the period's member funnel: all members, those active in the period (brand-wide
    only, where redeeming also counts), buyers and repeat buyers. Each stage is part of the
    one before."""
    stages = [(_("Members"), "members_total")]
    if dimension == ALL:
        stages.append((_("Active in the period"), "active_members"))
    stages += [(_("Bought in the period"), "buyers"),
               (_("Bought twice or more"), "repeat_buyers")]
    figure = go.Figure(go.Funnel(y=[label for label, _name in stages],
                                 x=[kpis[name].value or 0 for _label, name in stages],
                                 textinfo="value+percent initial"))
    figure.update_layout(margin={"l": 160, "r": 20, "t": 20, "b": 20}, height=300,
                         template="none")
    return figure.to_json()

