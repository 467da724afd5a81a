"""``tessera partners``: partner API clients for scripts and tests."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from saas.api.partners import create_partner
from saas.loyalty.errors import InvalidInput, LoyaltyError
from saas.runtime import BrandNotFound
from saas.security import audit


@click.group("partners", cls=AppGroup)
def partners_group() -> None:
    """Manage a brand's API partners."""


@partners_group.command("create")
@click.argument("slug")
@click.argument("name")
@click.option("--scopes", required=True,
              help='Space-separated scopes, such as "members:read points:earn".')
@click.option("--rate-limit", default="120/minute", show_default=True,
              help="Requests per window, such as 120/minute.")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
def partners_create(slug: str, name: str, scopes: str, rate_limit: str, as_json: bool) -> None:
    """Create an active partner with one client; print client_id and client_secret once."""
    from saas.cli import cli_actor

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            created = create_partner(session, name, scopes, rate_limit=rate_limit)
            audit.record(session, actor=cli_actor(), action="partner.create",
                         target=f"partner:{created.partner.code}",
                         after={"name": created.partner.name, "scopes": created.partner.scopes,
                                "rate_limit": rate_limit, "client_id": created.client_id})
            session.commit()
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    data = created.as_json()
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"partner {data['partner']} with scopes {' '.join(data['scopes'])}")
    click.echo(f"client_id:     {data['client_id']}")
    click.echo(f"client_secret: {data['client_secret']}  (shown once)")


@partners_group.group("webhook", cls=AppGroup)
def webhook_group() -> None:
    """Manage a partner's webhook endpoints and replay dead events."""


@webhook_group.command("add")
@click.argument("slug")
@click.argument("partner_code")
@click.argument("url")
@click.option("--events", required=True,
              help='Space-separated event types, such as "points.earned points.redeemed".')
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
def webhook_add(slug: str, partner_code: str, url: str, events: str, as_json: bool) -> None:
    """Add an endpoint for PARTNER_CODE; print its signing secret once."""
    from saas.api.webhooks import register_endpoint
    from saas.cli import cli_actor

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            created = register_endpoint(session, partner_code, url, events, actor=cli_actor(),
                                        secret_key=runtime.settings.secret_key,
                                        allow_hosts=runtime.settings.webhook_allow_hosts)
            session.commit()
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except LoyaltyError as exc:
        raise click.ClickException(exc.message) from None
    data = created.as_json()
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"webhook {data['id']} for partner {data['partner']}: {data['url']}")
    click.echo(f"events:         {' '.join(data['events'])}")
    click.echo(f"signing secret: {data['signing_secret']}  (shown once)")


@webhook_group.command("list")
@click.argument("slug")
@click.argument("partner_code")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
def webhook_list(slug: str, partner_code: str, as_json: bool) -> None:
    """List PARTNER_CODE's endpoints (never their secrets)."""
    from saas.api.webhooks import list_endpoints

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            rows = [endpoint.as_json() for endpoint in list_endpoints(session, partner_code)]
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except LoyaltyError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    for row in rows:
        state = "active" if row["active"] else "inactive"
        click.echo(f"{row['id']}  {state}  {row['url']}  {' '.join(row['events'])}")


@webhook_group.command("delete")
@click.argument("slug")
@click.argument("partner_code")
@click.argument("endpoint_id", type=int)
def webhook_delete(slug: str, partner_code: str, endpoint_id: int) -> None:
    """Delete an endpoint of PARTNER_CODE together with its undelivered events."""
    from saas.api.webhooks import delete_endpoint
    from saas.cli import cli_actor

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            discarded = delete_endpoint(session, partner_code, endpoint_id, actor=cli_actor())
            session.commit()
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except LoyaltyError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"webhook {endpoint_id} deleted; {discarded} undelivered events discarded")


@webhook_group.command("replay")
@click.argument("slug")
@click.argument("event_id", type=int)
def webhook_replay(slug: str, event_id: int) -> None:
    """Queue dead webhook event EVENT_ID again, with a fresh set of attempts."""
    from saas.api.webhook_delivery import wake_delivery
    from saas.api.webhooks import replay_dead
    from saas.cli import cli_actor

    runtime = current_app.extensions["tessera"]
    try:
        with runtime.brand_session(slug) as session:
            row = replay_dead(session, event_id, cli_actor())
            session.commit()
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except LoyaltyError as exc:
        raise click.ClickException(exc.message) from None
    if runtime.redis is not None:
        # Without Redis a job would run in a thread that ends with this command, so the
        # event waits for the next scheduled webhooks.deliver run instead.
        wake_delivery(runtime, slug)
    click.echo(f"webhook event {row.id} ({row.event_type}) queued for delivery again")
