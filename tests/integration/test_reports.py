"""The report builder's query layer on both databases: results, and names checked before
any SQL is built."""

from datetime import UTC, datetime

import pytest
from loyalty_helpers import add_rule, buy

from saas.analytics.reports import Filter, ReportSpec, build_query, run_report
from saas.loyalty.errors import InvalidInput
from saas.loyalty.members import enrol_member
from saas.loyalty.orders import OrderInput, accrue


@pytest.fixture
def shop(runtime, make_brand):
    brand = make_brand("shop")
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
