"""The public partner application form on a brand's site."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import gettext as _

from saas.api.partners import apply_partner
from saas.loyalty.errors import InvalidInput
from saas.notifications.outbox import queue_email
from saas.web.policy import PUBLIC, allow
from saas.web.tenant import brand_db
from saas.web.themes import render

bp = Blueprint("partner_apply", __name__)


@bp.route("/partners/apply", methods=["GET", "POST"])
@allow(PUBLIC)
def apply():
    if request.method == "GET":
        return render("partners/apply.html", error=None, values={})
    values = {key: request.form.get(key, "") for key in ("name", "email", "application")}
    db = brand_db()
    try:
        partner = apply_partner(db, values["name"], values["email"], values["application"])
    except InvalidInput as exc:
        db.rollback()
        return render("partners/apply.html", values=values, error=_(
            "Please check %(field)s: %(reason)s", field=exc.field, reason=exc.message)), 400
    queue_email(db, partner.contact_email, f"{g.brand.name}: partner application received",
                "Thank you for applying. The brand's team reviews applications and answers "
                "by email.")
    db.commit()
    return render("partners/applied.html")
