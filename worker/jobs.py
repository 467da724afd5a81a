"""Job functions. Each takes a JobContext for one brand and returns a JSON-able result."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from saas.db import utcnow
from saas.jobs.execution import JobContext
from saas.jobs.models import JobRecord, JobStatus
from saas.jobs.registry import job

# Days a finished or failed job's status stays readable.
JOB_RETENTION_DAYS = 30


@job("jobs.purge", queue="default", every=24 * 3600)
def purge_old_jobs(ctx: JobContext) -> dict:
    """Delete status rows of jobs that ended more than JOB_RETENTION_DAYS ago."""
    cutoff = utcnow() - timedelta(days=JOB_RETENTION_DAYS)
    result = ctx.session.execute(
        delete(JobRecord).where(
            JobRecord.status.in_([JobStatus.FINISHED, JobStatus.FAILED]),
            JobRecord.finished_at < cutoff,
        )
    )
    return {"deleted": result.rowcount}


@job("points.expire", queue="default", every=3600)
def expire_points_job(ctx: JobContext) -> dict:
    """Expire lots and vouchers past their date, hourly so points leave near the day's end."""
    from saas.loyalty.expiry import expire_points
    from saas.loyalty.policies import load_policies
    from saas.loyalty.rewards import expire_vouchers

    now = utcnow()
    expired = expire_points(ctx.session, now, load_policies(ctx.session).expiry)
    return {"expired_points": expired, "expired_vouchers": expire_vouchers(ctx.session, now)}


@job("tiers.recalculate", queue="default", every=24 * 3600)
def recalculate_tiers_job(ctx: JobContext) -> dict:
    """Apply downgrades (upgrades already happen at accrual) from the rolling window.

    Each change also emits a ``tier.changed`` webhook event, committed with the change.
    """
    from sqlalchemy import select

    from saas.api.webhooks import deliver_after_commit, tier_changed
    from saas.loyalty.models import Member, Tier
    from saas.loyalty.tiers import recalculate_tiers

    codes = dict(ctx.session.execute(select(Tier.id, Tier.code)).all())
    before = dict(ctx.session.execute(select(Member.id, Member.tier_id)).all())
    now = utcnow()
    result = recalculate_tiers(ctx.session, now)
    deliver_after_commit(ctx.session, ctx.runtime)
    for member in ctx.session.scalars(select(Member).where(Member.merged_into_id.is_(None))):
        if member.tier_id != before.get(member.id):
            tier_changed(ctx.session, member, codes.get(before.get(member.id)), now)
    return result


@job("idempotency.purge", queue="default", every=24 * 3600)
def purge_idempotency_job(ctx: JobContext) -> dict:
    """Delete idempotency records past their retention (35 days)."""
    from saas.loyalty.idempotency import purge_expired

    return {"deleted": purge_expired(ctx.session)}


@job("imports.transactions", queue="default", retries=0, timeout=4 * 3600)
def import_transactions_job(ctx: JobContext, path: str, mapping: dict | None = None,
                            currency: str | None = None, delimiter: str | None = None) -> dict:
    """Import a transaction file. Not retried: a bad file fails the same way each time."""
    from pathlib import Path

    from saas.imports.importer import ImportOptions, import_transactions

    def report(done: int, total: int, message: str) -> None:
        ctx.progress(done, total, message)
        ctx.session.commit()

    reports = ctx.runtime.settings.instance_path / "imports" / ctx.brand.slug
    summary = import_transactions(
        ctx.session, ctx.brand, Path(path),
        ImportOptions(mapping=mapping or {}, currency=currency, delimiter=delimiter),
        error_report_path=reports / f"{ctx.job_id}-errors.csv", progress=report,
    )
    return summary.as_json()


@job("outbox.relay", queue="default", every=60)
def relay_outbox_job(ctx: JobContext) -> dict:
    """Send the brand's pending emails by SMTP, or to the log without TESSERA_SMTP_URL."""
    from saas.notifications.outbox import log_sender, relay_outbox, smtp_sender

    settings = ctx.runtime.settings
    sender = smtp_sender(settings.smtp_url) if settings.smtp_url else log_sender
    return relay_outbox(ctx.session, sender, f"no-reply@{settings.base_domain}")


@job("webhooks.deliver", queue="default", every=60)
def deliver_webhooks_job(ctx: JobContext) -> dict:
    """Send due webhook events to partners' endpoints, and drop old delivered ones."""
    from saas.api.webhook_delivery import clear_wake_mark, deliver_due, purge_delivered

    # Cleared before claiming, so an event committed after this point queues a new run.
    clear_wake_mark(ctx.runtime, ctx.brand.slug)
    counts = deliver_due(ctx.session, ctx.runtime.settings)
    counts["purged"] = purge_delivered(ctx.session)
    return counts


@job("analytics.rollup", queue="reports", every=60)
def analytics_rollup_job(ctx: JobContext) -> dict:
    """Add new ledger entries, orders and members to the brand's daily KPI rows."""
    from saas.analytics.rollup import rollup

    return rollup(ctx.session, ctx.brand.timezone)


@job("analytics.segments", queue="reports", every=24 * 3600, timeout=3600)
def compute_segments_job(ctx: JobContext) -> dict:
    """Recompute RFM scores and k-means segments of every member who has bought."""
    from saas.analytics.segments import compute_segments

    return compute_segments(ctx.session).as_json()


@job("reports.scheduled", queue="reports", every=3600)
def send_scheduled_reports_job(ctx: JobContext) -> dict:
    """Email the saved reports whose schedule is due, as CSV through the outbox."""
    from saas.analytics.reports import send_due_reports

    return {"sent": send_due_reports(ctx.session, ctx.brand.name)}


@job("reports.cohorts_monthly", queue="reports", every=6 * 3600)
def send_cohort_report_job(ctx: JobContext) -> dict:
    """Email the monthly cohort report once per local month to its recipients."""
    from saas.analytics.cohorts import send_monthly_cohort_report

    return {"sent": send_monthly_cohort_report(ctx.session, ctx.brand.name,
                                               ctx.brand.timezone)}
