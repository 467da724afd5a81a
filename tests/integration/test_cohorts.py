"""Cohort tables against a hand-built fixture, on both databases."""

from datetime import UTC, date, datetime

import pytest
from loyalty_helpers import add_rule, add_tiers, buy
from sqlalchemy import select

from saas.analytics.cohorts import cohort_table
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import enrol_member, get_member
from saas.loyalty.models import Tier

TODAY = date(2025, 4, 15)


@pytest.fixture
def shop(runtime, make_brand):
    """Four members: A, B join in January, C in February, D in January without buying.

    A buys in January and March, B in February, C in February and March. In the brand's
    time zone (New York) A's 1 March 03:00 UTC purchase still falls in February.
    """
    brand = make_brand("shop", timezone="America/New_York")
    with runtime.brand_session("shop") as session:
        add_rule(session)
        for ref, joined in (("A", datetime(2025, 1, 5, 12, tzinfo=UTC)),
                            ("B", datetime(2025, 1, 20, 12, tzinfo=UTC)),
                            ("C", datetime(2025, 2, 3, 12, tzinfo=UTC)),
                            ("D", datetime(2025, 1, 25, 12, tzinfo=UTC))):
            enrol_member(session, ref, joined_at=joined)
        session.commit()
        for ref, amount, at in (("A", 1000, datetime(2025, 1, 6, 12, tzinfo=UTC)),
                                ("A", 3000, datetime(2025, 3, 1, 3, tzinfo=UTC)),
                                ("A", 500, datetime(2025, 3, 10, 12, tzinfo=UTC)),
                                ("B", 2000, datetime(2025, 2, 14, 12, tzinfo=UTC)),
                                ("C", 4000, datetime(2025, 2, 4, 12, tzinfo=UTC)),
                                ("C", 1000, datetime(2025, 3, 5, 12, tzinfo=UTC))):
            buy(session, brand, ref, amount, at=at)
    return brand


def table(runtime, definition, months=3):
    with runtime.brand_session("shop") as session:
        return cohort_table(session, "America/New_York", definition, start=date(2025, 1, 1),
                            end=date(2025, 3, 1), months=months, today=TODAY)


def test_join_month_cohorts_match_the_hand_built_table(runtime, shop):
    rows = {row.cohort: row for row in table(runtime, "join_month").rows}
    assert set(rows) == {"2025-01", "2025-02"}
    assert rows["2025-01"].size == 3
    # January: A bought (1 of 3); February: A (local time) and B; March: A.
    assert rows["2025-01"].retention == (0.3333, 0.6667, 0.3333)
    assert rows["2025-01"].revenue_per_member == (333.33, 1666.67, 166.67)
    # C joined and bought in February, bought again in March, and not in April (today's month).
    assert rows["2025-02"].retention == (1.0, 1.0, 0.0)


def test_first_purchase_cohorts_leave_out_members_who_never_bought(runtime, shop):
    rows = {row.cohort: row for row in table(runtime, "first_purchase_month").rows}
    assert rows["2025-01"].size == 1
    assert rows["2025-02"].size == 2
    assert rows["2025-02"].retention[:2] == (1.0, 0.5)


def test_months_after_today_have_no_value(runtime, shop):
    rows = {row.cohort: row for row in table(runtime, "join_month", months=6).rows}
    assert rows["2025-01"].retention[3] == 0.0
    assert rows["2025-01"].retention[4] is None


@pytest.fixture
def tiered(runtime, shop):
    """The shop's members in tiers today: A gold, B and C basic, D none."""
    with runtime.brand_session("shop") as session:
        add_tiers(session, ("basic", 0, "1"), ("gold", 1000, "1"))
        tiers = dict(session.execute(select(Tier.code, Tier.id)).all())
        for ref, code in (("A", "gold"), ("B", "basic"), ("C", "basic"), ("D", None)):
            get_member(session, ref).tier_id = tiers.get(code)
        session.commit()
    return shop


def test_tier_cohorts_match_hand_built_table(runtime, tiered):
    rows = {row.cohort: row for row in table(runtime, "tier").rows}

    assert list(rows) == ["", "basic", "gold"]
    assert [rows[code].size for code in rows] == [1, 2, 1]
    # Months count from each member's join month: A bought in its months 0, 1 and 2.
    assert rows["gold"].retention == (1.0, 1.0, 1.0)
    assert rows["gold"].revenue_per_member == (1000.0, 3000.0, 500.0)
    # C bought in its months 0 and 1, B (joined January) in its month 1.
    assert rows["basic"].retention == (0.5, 1.0, 0.0)
    assert rows[""].retention == (0.0, 0.0, 0.0)


def test_tier_cohort_unreached_months(runtime, tiered):
    rows = {row.cohort: row for row in table(runtime, "tier", months=5).rows}

    # By 15 April, B (joined January) has reached month 3 but C (February) has not.
    assert rows["basic"].retention[3] == 0.0
    assert rows["gold"].retention[4] is None


def test_unknown_definition_is_named(runtime, shop):
    with pytest.raises(InvalidInput, match="'tier_month'"):
        table(runtime, "tier_month")


def signed_in(runtime, wsgi_app, role):
    from console_helpers import console_sign_in, make_console_user
    from werkzeug.test import Client

    secret = make_console_user(runtime, f"{role}@example.com", brand="shop", role=role)
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", f"{role}@example.com", secret)
    return client


def test_console_shows_every_definition(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    page = client.get("/t/shop/admin/analytics/cohorts?start=2025-01&end=2025-03&months=3")
    assert page.status_code == 200
    assert b'data-testid="cohort-join_month"' in page.data
    assert b'data-testid="cohort-first_purchase_month"' in page.data
    assert b'data-testid="cohort-tier"' in page.data
    assert page.data.count(b"data-plotly=") == 3


def test_console_rejects_a_malformed_month_naming_it(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    page = client.get("/t/shop/admin/analytics/cohorts?start=January")
    assert page.status_code == 400
    assert b"not January" in page.data


def test_cohort_csv_export(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "analyst")
    response = client.get("/t/shop/admin/analytics/cohorts.csv?definition=join_month"
                          "&start=2025-01&end=2025-03&months=3")
    lines = response.get_data(as_text=True).splitlines()
    assert response.mimetype == "text/csv"
    assert lines[0].startswith("cohort,size,retention_m0")
    assert lines[1].startswith("2025-01,3,0.3333,0.6667,0.3333")


def test_support_cannot_open_cohorts(runtime, shop, wsgi_app):
    client = signed_in(runtime, wsgi_app, "support")
    assert client.get("/t/shop/admin/analytics/cohorts").status_code == 403


def test_monthly_cohort_report_goes_out_once_a_month(runtime, shop):
    from sqlalchemy import func, select

    from saas.analytics.cohorts import RECIPIENTS_SETTING, send_monthly_cohort_report
    from saas.notifications.outbox import OutboxEmail
    from saas.tenancy.settings import put_setting

    with runtime.brand_session("shop") as session:
        put_setting(session, RECIPIENTS_SETTING, ["boss@example.com"])
        session.commit()
        april = datetime(2025, 4, 2, 12, tzinfo=UTC)
        sent = [send_monthly_cohort_report(session, "Shop", "America/New_York", now=april),
                send_monthly_cohort_report(session, "Shop", "America/New_York", now=april),
                send_monthly_cohort_report(session, "Shop", "America/New_York",
                                           now=datetime(2025, 5, 1, 12, tzinfo=UTC))]
        count = session.scalar(select(func.count()).select_from(OutboxEmail))
        body = session.scalar(select(OutboxEmail.body_text).order_by(OutboxEmail.id))
    assert sent == [True, False, True]
    assert count == 2
    assert "2025-01,3,0.3333" in body


def test_recipients_are_validated_and_audited(runtime, shop, wsgi_app):
    from console_helpers import form_post
    from sqlalchemy import select

    from saas.security.audit import BrandAuditEntry

    client = signed_in(runtime, wsgi_app, "admin")
    bad = form_post(client, "/t/shop/admin/analytics/cohorts/recipients",
                    token_from="/t/shop/admin/analytics/cohorts", recipients="not an address")
    good = form_post(client, "/t/shop/admin/analytics/cohorts/recipients",
                     token_from="/t/shop/admin/analytics/cohorts",
                     recipients="a@example.com, B@example.com")
    with runtime.brand_session("shop") as session:
        entry = session.scalar(select(BrandAuditEntry))
    assert bad.status_code == 400
    assert good.status_code == 200
    assert entry.after == {"recipients": ["a@example.com", "b@example.com"]}


def test_cohort_xlsx_export(runtime, shop, wsgi_app):
    import io

    from openpyxl import load_workbook

    client = signed_in(runtime, wsgi_app, "analyst")
    response = client.get("/t/shop/admin/analytics/cohorts.xlsx?definition=join_month"
                          "&start=2025-01&end=2025-03&months=3")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("cohort", "size", "retention_m0")
    assert rows[1][:3] == ("2025-01", 3, 0.3333)
