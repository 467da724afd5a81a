"""The report builder's query layer on both databases: results, and names checked before
any SQL is built."""

from datetime import UTC, datetime

import pytest
from loyalty_helpers import add_rule, add_tiers, buy

from saas.analytics.reports import Filter, ReportSpec, build_query, run_report
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import enrol_member
from saas.loyalty.orders import OrderInput, accrue


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop", locales=["en", "de"])
    with runtime.brand_session("shop") as session:
        add_rule(session)
        for ref in ("A", "B"):
            enrol_member(session, ref)
        session.commit()
        buy(session, brand, "A", 1000)
        buy(session, brand, "A", 3000)
        accrue(session, brand, OrderInput("W-1", "B", 5000, "USD",
                                          datetime(2026, 1, 5, tzinfo=UTC), channel="web"),
               source="test")
        session.commit()
    return brand


def run(runtime, spec):
    with runtime.brand_session("shop") as session:
        return run_report(session, spec)


def test_orders_grouped_by_channel(runtime, shop):
    columns, rows = run(runtime, ReportSpec("orders", dimensions=("channel",),
                                            measures=("orders", "revenue_minor"),
                                            sort="revenue_minor", descending=True))
    assert columns == ["channel", "orders", "revenue_minor"]
    assert rows == [("web", 1, 5000), (None, 2, 4000)]


def test_orders_grouped_by_tier(runtime, shop):
    with runtime.brand_session("shop") as session:
        add_tiers(session, ("basic", 0, "1"))
        buy(session, shop, "A", 2000)  # credited, then A moves up to basic
        buy(session, shop, "A", 2000)

    columns, rows = run(runtime, ReportSpec("orders", dimensions=("tier",),
                                            measures=("orders",), sort="orders"))

    assert columns == ["tier", "orders"]
    assert rows == [("basic", 1), (None, 4)]


def test_filter_values_are_bound_parameters(runtime, shop):
    spec = ReportSpec("orders", measures=("orders",),
                      filters=(Filter("channel", "eq", "web' OR '1'='1"),))
    compiled = str(build_query(spec))
    assert "OR '1'='1" not in compiled
    assert run(runtime, spec)[1] == [(0,)]


def test_unknown_field_is_named(runtime, shop):
    with pytest.raises(InvalidInput, match="unknown dimension 'password_hash'") as error:
        build_query(ReportSpec("members", dimensions=("password_hash",),
                               measures=("members",)))
    assert error.value.field == "dimensions"


def test_unknown_dataset_is_named():
    with pytest.raises(InvalidInput, match="unknown dataset 'users'"):
        build_query(ReportSpec("users", measures=("count",)))


def test_sort_must_be_a_chosen_column():
    with pytest.raises(InvalidInput, match="unknown sort column 'points'"):
        build_query(ReportSpec("orders", measures=("orders",), sort="points"))


def test_time_filter_with_a_bad_value_is_named():
    with pytest.raises(InvalidInput, match="invalid time 'yesterday'"):
        build_query(ReportSpec("orders", measures=("orders",),
                               filters=(Filter("ordered_at", "ge", "yesterday"),)))


def test_statistics_of_a_perfect_line():
    from saas.analytics.reports import statistics

    rows = [(1, 3.0), (2, 5.0), (3, 7.0), (4, 9.0)]
    result = statistics(["x", "y"], rows, "x", "y")
    assert round(result.pearson_r, 6) == 1.0
    assert round(result.slope, 6) == 2.0
    assert round(result.intercept, 6) == 1.0
    assert round(result.r_squared, 6) == 1.0


def test_statistics_match_scipy_on_noisy_data():
    from scipy import stats

    from saas.analytics.reports import statistics

    rows = [(1, 2.0), (2, 4.5), (3, 5.0), (4, 8.5), (5, 9.0), (6, 13.0)]
    result = statistics(["x", "y"], rows, "x", "y")
    xs, ys = zip(*rows, strict=True)
    assert result.pearson_p == pytest.approx(stats.pearsonr(xs, ys).pvalue)
    assert result.spearman_rho == pytest.approx(1.0)
    assert result.slope_interval[0] < result.slope < result.slope_interval[1]


def test_statistics_need_three_rows():
    from saas.analytics.reports import statistics

    assert statistics(["x", "y"], [(1, 2), (2, 3)], "x", "y") is None


def analyst(runtime, wsgi_app):
    from console_helpers import console_sign_in, make_console_user
    from werkzeug.test import Client

    secret = make_console_user(runtime, "ana@example.com", brand="shop", role="analyst")
    client = Client(wsgi_app)
    console_sign_in(runtime, client, "/t/shop", "ana@example.com", secret)
    return client


RUN = ("/t/shop/admin/reports/run?dataset=orders&dimension=channel&measure=orders"
       "&measure=revenue_minor&sort=revenue_minor&descending=on&limit=100")


def test_console_labels_fields_in_the_language(runtime, shop, wsgi_app):
    client = analyst(runtime, wsgi_app)

    page = client.get(RUN, headers={"HX-Request": "true", "Accept-Language": "de"})
    text = page.get_data(as_text=True)

    assert '<th scope="col">Kanal</th>' in text
    assert '<th scope="col">Umsatz (Nebeneinheiten)</th>' in text


def test_console_runs_a_report_as_table_and_chart(runtime, shop, wsgi_app):
    client = analyst(runtime, wsgi_app)
    page = client.get(RUN, headers={"HX-Request": "true"})
    assert b'data-testid="report-table"' in page.data
    assert b"<td>web</td>" in page.data
    assert b"data-plotly=" in page.data


def test_console_names_an_unknown_field(runtime, shop, wsgi_app):
    client = analyst(runtime, wsgi_app)
    page = client.get("/t/shop/admin/reports/run?dataset=orders&measure=secret_column")
    assert page.status_code == 400
    assert b"unknown measure &#39;secret_column&#39;" in page.data


def test_saved_report_is_listed_and_reopened(runtime, shop, wsgi_app):
    from console_helpers import form_post
    from sqlalchemy import select

    from saas.analytics.reports import SavedReport

    client = analyst(runtime, wsgi_app)
    query = RUN.split("?", 1)[1]
    saved = form_post(client, "/t/shop/admin/reports/save", token_from="/t/shop/admin/reports",
                      query=query, name="Revenue by channel", schedule="weekly",
                      recipients="boss@example.com")
    with runtime.brand_session("shop") as session:
        report = session.scalar(select(SavedReport))
    reopened = client.get(f"/t/shop/admin/reports/{report.id}")
    assert saved.status_code == 200
    assert report.spec["measures"] == ["orders", "revenue_minor"]
    assert b"<td>web</td>" in reopened.data


def test_scheduled_report_goes_to_the_outbox_once_per_period(runtime, shop):
    from sqlalchemy import func, select

    from saas.analytics.reports import SavedReport, send_due_reports, spec_json
    from saas.notifications.outbox import OutboxEmail

    spec = ReportSpec("orders", dimensions=("channel",), measures=("orders",))
    with runtime.brand_session("shop") as session:
        session.add(SavedReport(name="Weekly orders", spec=spec_json(spec), owner="a@example.com",
                                schedule="weekly", recipients="boss@example.com"))
        session.commit()
        first = send_due_reports(session, "Shop")
        second = send_due_reports(session, "Shop")
        body = session.scalar(select(OutboxEmail.body_text))
        count = session.scalar(select(func.count()).select_from(OutboxEmail))
    assert (first, second, count) == (1, 0, 1)
    assert "channel,orders" in body
