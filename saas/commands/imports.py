"""``tessera import transactions``: queue an import job and follow its progress."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from saas.imports.columns import ColumnMappingError, parse_mapping_option
from saas.jobs.queueing import enqueue
from saas.jobs.status import job_status
from saas.runtime import BrandNotFound

POLL_SECONDS = 0.5


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Import data into a brand."""


@import_group.command("transactions")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", default="", help="Columns by field: member=COL,date=COL,amount=COL,…")
@click.option("--currency", default=None, help="Currency of amounts without a currency column.")
@click.option("--delimiter", default=None,
              type=click.Choice([",", ";", "tab", "whitespace"]),
              help="Column separator; detected from the header when omitted.")
def import_transactions_command(slug: str, file: Path, mapping: str, currency: str | None,
                                delimiter: str | None) -> None:
    """Import purchases from FILE into brand SLUG; running it again adds nothing."""
    runtime = current_app.extensions["tessera"]
    try:
        fields = parse_mapping_option(mapping) if mapping else {}
        runtime.brand(slug)
    except (ColumnMappingError, BrandNotFound) as exc:
        raise click.ClickException(str(exc)) from None
    job_id = enqueue(runtime, slug, "imports.transactions", path=str(file.resolve()),
                     mapping=fields, currency=currency.upper() if currency else None,
                     delimiter="\t" if delimiter == "tab" else delimiter)
    view = follow(runtime, slug, job_id)
    if view.status == "failed":
        raise click.ClickException(f"import failed: {view.as_json()['error']}")
    print_summary(view.result)


def follow(runtime, slug: str, job_id: str):
    """Show a progress bar until the job ends; return its final status."""
    with click.progressbar(length=1, label="importing", show_percent=True) as bar:
        while True:
            with runtime.brand_session(slug) as session:
                view = job_status(session, job_id)
            if view.progress_total:
                bar.length = view.progress_total
                bar.update(view.progress_done - bar.pos)
            if view.is_done:
                return view
            time.sleep(POLL_SECONDS)


def print_summary(result: dict) -> None:
    click.echo(f"rows read:          {result['rows']}")
    click.echo(f"orders imported:    {result['imported']}")
    click.echo(f"already imported:   {result['already_imported']}")
    click.echo(f"refunds:            {result['refunds']}")
    click.echo(f"rows rejected:      {result['rejected']}")
    click.echo(f"members created:    {result['members_created']}")
    click.echo(f"points credited:    {result['points']}")
    mapped = ", ".join(f"{field}={column}" for field, column in result["columns"].items()
                       if column)
    click.echo(f"columns:            {mapped}")
    if result["dated_at_import"]:
        click.echo("the file has no date column: every order is dated at the import time")
    if result["error_report"]:
        click.echo(f"error report:       {result['error_report']}")
