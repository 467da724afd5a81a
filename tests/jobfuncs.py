"""Job functions used by the tests; importing this module registers them."""

from __future__ import annotations

from saas.jobs.execution import JobContext
from saas.jobs.registry import job
from saas.tenancy.settings import declare_setting, get_setting, put_setting

declare_setting("test.counter", 0, int)
declare_setting("test.label", "", str)


@job("test.bump", retries=0)
def bump(ctx: JobContext, by: int = 1) -> dict:
    """Add ``by`` to the brand's test counter."""
    value = get_setting(ctx.session, "test.counter") + by
    put_setting(ctx.session, "test.counter", value)
    ctx.progress(1, 1, "bumped")
    return {"counter": value}


@job("test.fail", retries=1)
def fail(ctx: JobContext) -> None:
    put_setting(ctx.session, "test.label", "half-written")
    raise RuntimeError("this job always fails")


@job("test.member_balance", retries=0)
def member_balance(ctx: JobContext, member_id: int = 1) -> dict:
    """Return the balance of the brand's member with this primary key."""
    from saas.loyalty.models import Member

    return {"balance": ctx.session.get(Member, member_id).balance}
