"""``tessera partners``: partner API clients for scripts and tests."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from saas.api.partners import create_partner
from saas.loyalty.errors import InvalidInput
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
