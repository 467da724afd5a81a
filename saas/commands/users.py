"""``tessera users``: console users for scripts, first set-up and recovery."""

from __future__ import annotations

import json
import secrets

import click
import pyotp
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from saas.console import accounts
from saas.loyalty.errors import InvalidInput
from saas.platform.models import Brand, Delegation, User


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """Create console users and recover their access."""


def _runtime():
    return current_app.extensions["tessera"]


def _actor() -> str:
    from saas.cli import cli_actor

    return cli_actor()


def _user(db, email: str) -> User:
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no console user has the email {email!r}; check the "
                                   "address or create the user with 'tessera users create'")
    return user


def _brand_id(db, slug: str) -> int:
    brand_id = db.scalar(select(Brand.id).where(Brand.slug == slug))
    if brand_id is None:
        raise click.ClickException(f"unknown brand {slug!r}; 'tessera brands list' shows them")
    return brand_id


@users_group.command("create")
@click.argument("email")
@click.option("--brand", "slug", help="Give the user a role in this brand.")
@click.option("--role", type=click.Choice(["owner", "admin", "analyst", "support"]),
              help="The role in --brand.")
@click.option("--platform-admin", is_flag=True, help="Let the user run the platform console.")
@click.option("--with-totp", is_flag=True,
              help="Enrol a TOTP key now and print it, instead of at the first sign-in.")
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON for scripts.")
def users_create(email: str, slug: str | None, role: str | None, platform_admin: bool,
                 with_totp: bool, as_json: bool) -> None:
    """Create a console user and print a generated password once."""
    if (slug is None) != (role is None):
        raise click.ClickException("give --brand and --role together")
    password = secrets.token_urlsafe(15)
    with _runtime().platform_session() as db:
        try:
            user = accounts.create_user(db, email, password, platform_admin=platform_admin,
                                        actor=_actor())
        except InvalidInput as exc:
            raise click.ClickException(exc.message) from None
        if slug is not None:
            db.add(Delegation(user_id=user.id, brand_id=_brand_id(db, slug), role=role))
        secret = None
        if with_totp:
            secret = accounts.new_totp_secret()
            accounts.confirm_totp(db, user, secret, pyotp.TOTP(secret).now())
            user.totp_last_step = None  # nobody saw that code, so it stays usable
        db.commit()
    data = {"email": user.email, "password": password, "totp_secret": secret,
            "brand": slug, "role": role, "platform_admin": platform_admin}
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"created {user.email}; password (shown once): {password}")
    if secret:
        click.echo(f"TOTP key (add it to an authenticator app): {secret}")
    else:
        click.echo("the user sets up an authenticator app at the first sign-in")


@users_group.command("reset-second-factor")
@click.argument("email")
def users_reset_second_factor(email: str) -> None:
    """Remove a user's authenticator so they enrol a new one at the next sign-in."""
    with _runtime().platform_session() as db:
        user = _user(db, email)
        accounts.reset_second_factor(db, user, actor=_actor())
        db.commit()
    click.echo(f"{user.email} sets up a new authenticator at the next sign-in")


@users_group.command("unlock")
@click.argument("email")
def users_unlock(email: str) -> None:
    """End a lock after too many failed sign-ins."""
    from saas.security import audit

    with _runtime().platform_session() as db:
        user = _user(db, email)
        before = user.locked_until.isoformat() if user.locked_until else None
        user.locked_until = None
        user.failed_signins = 0
        audit.record(db, actor=_actor(), action="security.unlock", target=f"user:{user.email}",
                     before={"locked_until": before}, platform=True)
        db.commit()
    click.echo(f"{user.email} can sign in again")


@users_group.command("totp-code")
@click.argument("email")
def users_totp_code(email: str) -> None:
    """Print a user's current TOTP code (development only, for the demo and tests)."""
    if _runtime().settings.is_production:
        raise click.ClickException("totp-code is for development only; use an authenticator "
                                   "app in production")
    with _runtime().platform_session() as db:
        user = _user(db, email)
        if not user.totp_secret or user.totp_confirmed_at is None:
            raise click.ClickException(f"{user.email} has no authenticator yet; sign in once "
                                       "to set one up")
        click.echo(pyotp.TOTP(user.totp_secret).now())
