"""A refund's share of an order's base amount, taken cumulatively."""

from saas.analytics.rollup import refund_base_minor


def test_refund_pieces_add_up_to_the_base_amount():
    # 1,000 yen booked as 667 cents: three refunds of a third each.
    shares = [refund_base_minor(earlier, amount, 1000, 667)
              for earlier, amount in ((0, 333), (333, 333), (666, 334))]

    assert shares == [222, 222, 223]
    assert sum(shares) == 667


def test_refund_of_a_free_order_is_zero():
    assert refund_base_minor(0, 0, 0, 0) == 0
