"""Browser libraries served from their installed Python packages, so they need no copy in
the repository and their version always matches the package."""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, send_from_directory

from saas.web.policy import PUBLIC, allow

bp = Blueprint("vendor", __name__)

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"


@bp.get("/vendor/plotly.min.js")
@allow(PUBLIC)
def plotly_js():
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", max_age=7 * 24 * 3600)
