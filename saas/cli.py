"""The ``tessera`` command line, built on Flask's CLI."""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

from saas.config import INSTANCE_SETTINGS, ConfigError, load_settings
from saas.platform.models import BrandStatus
from saas.runtime import Runtime
from saas.tenancy.provisioning import BrandSpec, create_brand, set_brand_status
from saas.tenancy.upgrades import migrate_brands, upgrade_platform
from saas.tenancy.validation import BrandValidationError

EMBEDDED_REGIONS = ("eu", "us", "apac")


def _create_app():
    from saas.app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=AppGroup)
def cli() -> None:
    """Tessera, the multi-tenant loyalty platform."""


@cli.group("audit")
def audit_group() -> None:
    """Check the hash-chained audit trails."""


@audit_group.command("verify")
@click.argument("slug", required=False)
@click.option("--platform", "platform", is_flag=True, help="Check the platform's trail.")
def audit_verify(slug: str | None, platform: bool) -> None:
    """Recompute the audit chain of brand SLUG (or --platform); exit 1 at the first break."""
    from saas.runtime import BrandNotFound
    from saas.security.audit import verify_chain

    if platform == bool(slug):
        raise click.UsageError("give either a brand SLUG or --platform")
    try:
        if platform:
            with runtime().platform_session() as session:
                report = verify_chain(session, platform=True)
        else:
            with runtime().brand_session(slug) as session:
                report = verify_chain(session)
    except BrandNotFound as exc:
        raise click.ClickException(str(exc)) from None
    if report.ok:
        click.echo(f"audit chain intact: {report.entries} entries")
        return
    where = f"at entry {report.first_broken_id}" if report.first_broken_id else "at its end"
    click.echo(f"audit chain broken {where}: {report.reason}", err=True)
    sys.exit(1)


def _add_command_groups() -> None:
    from saas.commands.demo import demo_command
    from saas.commands.imports import import_group
    from saas.commands.members import members_group
    from saas.commands.partners import partners_group
    from saas.commands.users import users_group

    cli.add_command(import_group)
    cli.add_command(members_group)
    cli.add_command(partners_group)
    cli.add_command(users_group)
    cli.add_command(demo_command)


def main() -> None:
    # Commands that need the app build it on first use, so `tessera init` and `--help`
    # work before any configuration exists.
    cli(prog_name="tessera", obj=ScriptInfo(create_app=_create_app, set_debug_flag=False,
                                            load_dotenv_defaults=False))


def runtime() -> Runtime:
    return current_app.extensions["tessera"]


def cli_actor() -> str:
    """Name the person at the terminal in the audit trail."""
    return f"cli:{getpass.getuser()}"


@cli.command("init", with_appcontext=False)
@click.option("--instance", "instance_path", default="instance", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the embedded settings, platform database and region folders.")
def init_command(instance_path: Path) -> None:
    """Write the embedded default into the instance folder and migrate the platform database.

    Running it again keeps the existing secret key and databases.
    """
    instance_path = instance_path.resolve()
    settings_file = instance_path / INSTANCE_SETTINGS
    if settings_file.exists():
        click.echo(f"{settings_file} exists; keeping it")
    else:
        instance_path.mkdir(parents=True, exist_ok=True)
        regions = ",".join(
            f"{name}=sqlite:///{instance_path / 'regions' / name}/{{brand}}.db"
            for name in EMBEDDED_REGIONS
        )
        values = {
            "TESSERA_DATABASE_URL": f"sqlite:///{instance_path / 'platform.db'}",
            "TESSERA_REGIONS": regions,
            "TESSERA_DEFAULT_REGION": "eu",
            "TESSERA_SECRET_KEY": secrets.token_urlsafe(48),
            "TESSERA_BASE_DOMAIN": "localhost",
        }
        settings_file.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        settings_file.chmod(0o600)
        click.echo(f"wrote {settings_file}")
    for name in EMBEDDED_REGIONS:
        (instance_path / "regions" / name).mkdir(parents=True, exist_ok=True)
    settings = load_settings({"TESSERA_INSTANCE_PATH": str(instance_path)})
    instance_runtime = Runtime(settings)
    upgrade_platform(instance_runtime)
    instance_runtime.close()
    click.echo("platform database is up to date")


@cli.group("brands")
def brands_group() -> None:
    """Create, list, suspend and migrate brands."""


@brands_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name shown to members.")
@click.option("--domain", "domains", multiple=True, help="A host of the brand; repeatable.")
@click.option("--region", default=None, help="Home region (default: TESSERA_DEFAULT_REGION).")
@click.option("--locale", default="en", show_default=True, help="Default locale.")
@click.option("--locales", default="", help="Enabled locales, comma-separated.")
@click.option("--currency", default="USD", show_default=True, help="Base currency (ISO 4217).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA timezone.")
def brands_create(slug, name, domains, region, locale, locales, currency, timezone) -> None:
    """Create brand SLUG with its own database in its home region."""
    spec = BrandSpec(
        slug=slug, name=name, domains=list(domains), region=region, locale=locale,
        locales=[code.strip() for code in locales.split(",") if code.strip()],
        currency=currency, timezone=timezone,
    )
    try:
        brand = create_brand(runtime(), spec, actor=cli_actor())
    except BrandValidationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created brand {brand.slug} in region {brand.home_region}")


@brands_group.command("apply")
@click.argument("manifest_file", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def brands_apply(manifest_file: Path) -> None:
    """Create or update a brand from the YAML manifest FILE, printing each change.

    Applying the same file again changes nothing. docs/manifests.md describes the format.
    """
    from saas.tenancy.manifest_apply import apply_manifest
    from saas.tenancy.manifests import ManifestError, load_manifest

    try:
        report = apply_manifest(runtime(), load_manifest(manifest_file), actor=cli_actor())
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    if report.created:
        click.echo(f"created brand {report.slug}")
    elif report.changes:
        click.echo(f"updated brand {report.slug}")
    else:
        click.echo(f"brand {report.slug} is up to date")
    for line in report.changes:
        click.echo(f"  {line}")


@brands_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def brands_list(as_json: bool) -> None:
    """List the brands with their region, locales, currency and status."""
    brands = runtime().directory.all()
    if as_json:
        rows = [
            {
                "slug": b.slug, "name": b.name, "region": b.home_region,
                "default_locale": b.default_locale, "locales": list(b.locales),
                "currency": b.base_currency, "timezone": b.timezone, "status": b.status,
                "domains": list(b.domains),
            }
            for b in brands
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for b in brands:
        click.echo(f"{b.slug:<24} {b.home_region:<6} {b.base_currency} {b.default_locale:<6} "
                   f"{b.status:<10} {b.name}")


@brands_group.command("suspend")
@click.argument("slug")
def brands_suspend(slug: str) -> None:
    """Suspend brand SLUG: its hosts return 503 until it is resumed."""
    _set_status(slug, BrandStatus.SUSPENDED)


@brands_group.command("resume")
@click.argument("slug")
def brands_resume(slug: str) -> None:
    """Resume a suspended brand."""
    _set_status(slug, BrandStatus.ACTIVE)


def _set_status(slug: str, status: BrandStatus) -> None:
    try:
        set_brand_status(runtime(), slug, status, actor=cli_actor())
    except BrandValidationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"brand {slug} is {status}")


@brands_group.command("migrate")
def brands_migrate() -> None:
    """Upgrade the platform database, then every brand database, reporting each."""
    upgrade_platform(runtime())
    outcomes = migrate_brands(runtime())
    for outcome in outcomes:
        state = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        click.echo(f"{outcome.slug:<24} {outcome.before or '-'} -> {outcome.after or '-'}  {state}")
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        click.echo(f"{len(failed)} of {len(outcomes)} failed; fix the cause and run again",
                   err=True)
        sys.exit(1)


@cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker on QUEUES (default: all), with the periodic schedule."""
    from worker.main import run_worker

    try:
        run_worker(runtime(), list(queues), burst=burst)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve_command(host: str, port: int) -> None:
    """Serve brands and the platform with the development server (use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from saas.jobs.schedule import Scheduler
    from saas.wsgi_app import create_wsgi_app

    app = create_wsgi_app(runtime=runtime())
    if runtime().redis is None:
        Scheduler(runtime()).start()
    run_simple(host, port, app, threaded=True, use_reloader=False)


_add_command_groups()
