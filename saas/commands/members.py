"""``tessera members``: look at a member's points from the command line."""

from __future__ import annotations

import getpass
import json
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from saas.db import utcnow
from saas.loyalty.errors import LoyaltyError
from saas.loyalty.ledger import available_points
from saas.loyalty.members import get_member
from saas.loyalty.models import LedgerEntry, Lot
from saas.loyalty.tiers import member_tier
from saas.runtime import BrandNotFound
from saas.security import audit

SHOWN_ENTRIES = 10


@click.group("members", cls=AppGroup)
def members_group() -> None:
    """Look up members of a brand."""


@members_group.command("show")
@click.argument("slug")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
def members_show(slug: str, ref: str, as_json: bool) -> None:
    """Print member REF's balance, tier, open lots with expiry and last entries."""
    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            data = member_summary(session, ref)
    except (LoyaltyError, BrandNotFound) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"member {data['ref']} ({data['status']}), joined {data['joined_at'][:10]}")
    click.echo(f"balance {data['balance']}, available {data['available']}, debt {data['debt']}, "
               f"tier {data['tier'] or '-'}")
    click.echo("open lots:")
    for lot in data["lots"]:
        click.echo(f"  {lot['remaining']:>8} of {lot['points']:<8} earned {lot['earned_at'][:10]}"
                   f"  expires {(lot['expires_at'] or 'never')[:10]}")
    click.echo("last entries:")
    for entry in data["entries"]:
        click.echo(f"  {entry['occurred_at'][:19]}  {entry['kind']:<8} {entry['points']:>8}"
                   f"  {entry['source']}  {entry['reason'] or ''}")


@members_group.command("claim-code")
@click.argument("slug")
@click.argument("ref")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 90),
              help="Days the code stays valid.")
def members_claim_code(slug: str, ref: str, days: int) -> None:
    """Issue a one-time code that lets the customer link member REF to a sign-in."""
    from datetime import timedelta

    from saas.loyalty.claims import issue_claim_code

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            issued = issue_claim_code(session, ref, issued_by="cli", ttl=timedelta(days=days))
            audit.record(session, actor=f"cli:{getpass.getuser()}", action="member.claim_code",
                         target=f"member:{issued.member_ref}",
                         after={"expires_at": issued.expires_at.isoformat()})
            session.commit()
    except (LoyaltyError, BrandNotFound) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"claim code for {issued.member_ref}: {issued.code} "
               f"(valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, shown once)")


def member_summary(session, ref: str) -> dict:
    member = get_member(session, ref)
    tier = member_tier(session, member)
    lots = session.scalars(select(Lot).where(Lot.member_id == member.id, Lot.remaining > 0)
                           .order_by(Lot.earned_at, Lot.id)).all()
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member.id)
                              .order_by(LedgerEntry.id.desc()).limit(SHOWN_ENTRIES)).all()
    return {
        "ref": member.ref, "status": str(member.status), "email": member.email,
        "joined_at": _iso(member.joined_at), "balance": member.balance, "debt": member.debt,
        "available": available_points(session, member, utcnow()),
        "tier": tier.code if tier else None,
        "lots": [{"points": lot.points, "remaining": lot.remaining,
                  "earned_at": _iso(lot.earned_at), "expires_at": _iso(lot.expires_at)}
                 for lot in lots],
        "entries": [{"id": e.id, "kind": str(e.kind), "points": e.points, "source": e.source,
                     "reference": f"{e.reference_type}:{e.reference_id}"
                     if e.reference_type else None,
                     "reason": e.reason, "occurred_at": _iso(e.occurred_at),
                     "recorded_at": _iso(e.recorded_at)} for e in entries],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
