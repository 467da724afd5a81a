"""Jobs about a brand's API partners."""

from __future__ import annotations

from saas.jobs.execution import JobContext
from saas.jobs.registry import job


@job("partners.sla", queue="reports", every=600)
def summarise_partner_sla_job(ctx: JobContext) -> dict:
    """Sum each partner's API requests of today and yesterday into its SLA day rows."""
    from saas.api.sla import summarise_recent

    return {"partner_days": summarise_recent(ctx.session)}
