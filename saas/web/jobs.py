"""The brand-scoped job status endpoint: JSON for scripts, an HTMX fragment for pages."""

from __future__ import annotations

from flask import Blueprint, abort

from saas.extensions import htmx
from saas.jobs.status import job_status
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("jobs", __name__)

# NOTE: no role check yet. Job ids are random UUIDs looked up only in the request's brand
# database, and the console roles that may read them need console sign-in first.


@bp.get("/jobs/<job_id>")
def status(job_id: str):
    view = job_status(brand_db(), job_id)
    if view is None:
        abort(404)
    if htmx:
        return render("jobs/progress.html", job=view)
    return view.as_json()


@bp.get("/jobs/<job_id>/progress")
def progress(job_id: str):
    view = job_status(brand_db(), job_id)
    if view is None:
        abort(404)
    return render("jobs/progress.html", job=view)
