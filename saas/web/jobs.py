"""The brand-scoped job status endpoint: JSON for scripts, an HTMX fragment for pages."""

from __future__ import annotations

from flask import Blueprint, abort

from saas.extensions import htmx
from saas.jobs.status import job_status
from saas.web.policy import allow, console
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("jobs", __name__)


@bp.get("/jobs/<job_id>")
@allow(console())
def status(job_id: str):
    view = job_status(brand_db(), job_id)
    if view is None:
        abort(404)
    if htmx:
        return render("jobs/progress.html", job=view)
    return view.as_json()


@bp.get("/jobs/<job_id>/progress")
@allow(console())
def progress(job_id: str):
    view = job_status(brand_db(), job_id)
    if view is None:
        abort(404)
    return render("jobs/progress.html", job=view)
