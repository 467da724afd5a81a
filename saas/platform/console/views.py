"""The console's pages: brands, region moves, users, delegations and the audit trail.

Lists use Flask-AppBuilder's model views read-only, without add, edit or delete. Every
change goes through a form or an action that calls the domain code, and the domain code
records the platform audit entry in the same transaction as the change.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import AppBuilder, IndexView, ModelView, SimpleFormView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import (
    BS3PasswordFieldWidget,
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2Widget,
)
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from saas.config import Settings
from saas.console import accounts
from saas.console.identity import platform_db
from saas.loyalty.errors import LoyaltyError
from saas.platform import administration
from saas.platform.console.access import actor
from saas.platform.models import Brand, BrandStatus, Delegation, Role, User
from saas.platform.region_moves import RegionMoveRequest, request_region_move
from saas.security.audit import PlatformAuditEntry
from saas.tenancy.provisioning import BrandSpec, create_brand, set_brand_status
from saas.tenancy.validation import BrandValidationError

READ_ONLY = ["can_list", "can_show"]
# Routes of the model views: FAB's add, edit, delete and download routes are not registered.
LIST_ROUTES = {"list", "show"}
ACTION_ROUTES = {*LIST_ROUTES, "action", "action_post"}


def _client() -> str | None:
    return request.remote_addr


def _split(text: str | None) -> list[str]:
    """Split a list typed as commas, spaces or lines."""
    return [part for part in (text or "").replace(",", " ").split() if part]


def _runtime():
    return current_app.extensions["tessera"]


def _end_transaction() -> None:
    """End the request session's transaction before domain code that opens its own session.

    On SQLite every transaction begins with BEGIN IMMEDIATE, so the request's open
    transaction would hold the only write lock and the other session would wait for it.
    """
    platform_db().rollback()


def _show_form_error(view: SimpleFormView, form, field: str, message: str):
    """Render the form again with ``message`` under ``field`` (or above the form)."""
    if field in form:
        form[field].errors = [*form[field].errors, message]
    else:
        flash(message, "danger")
    widgets = view._get_edit_widget(form=form)
    page = view.render_template(view.form_template, title=view.form_title, widgets=widgets,
                                appbuilder=view.appbuilder)
    return page, 400


class ConsoleIndexView(IndexView):
    @expose("/")
    def index(self):
        return redirect(url_for("BrandView.list"))


# --- Brands ----------------------------------------------------------------------------------

class BrandView(ModelView):
    include_route_methods = ACTION_ROUTES
    route_base = "/brands"
    datamodel = SQLAInterface(Brand)
    base_permissions = [*READ_ONLY, "can_suspend", "can_resume", "can_region_move"]
    list_title = _l("Brands")
    show_title = _l("Brand")
    list_columns = ["slug", "name", "home_region", "enabled_locales", "default_locale",
                    "base_currency", "status", "domains"]
    show_columns = [*list_columns, "timezone", "created_at"]
    search_columns = ["slug", "name", "home_region", "status"]
    label_columns = {"slug": _l("Slug"), "name": _l("Name"), "home_region": _l("Region"),
                     "enabled_locales": _l("Locales"), "default_locale": _l("Default locale"),
                     "base_currency": _l("Currency"), "status": _l("Status"),
                     "domains": _l("Domains"), "timezone": _l("Timezone"),
                     "created_at": _l("Created")}
    formatters_columns = {"domains": lambda domains: ", ".join(d.host for d in domains)}
    base_order = ("slug", "asc")

    def _set_status(self, items, status: BrandStatus):
        items = items if isinstance(items, list) else [items]
        slugs, actor_name = [brand.slug for brand in items], actor()
        _end_transaction()
        for slug in slugs:
            set_brand_status(_runtime(), slug, status, actor=actor_name,
                             client_address=_client())
            flash(_("Brand %(slug)s is now %(status)s.", slug=slug, status=str(status)),
                  "success")
        return redirect(url_for("BrandView.list"))

    @action("suspend", _l("Suspend"), _l("Suspend the selected brands? Their portals will "
                                         "answer 503 until they are resumed."), "fa-pause")
    def suspend(self, items):
        return self._set_status(items, BrandStatus.SUSPENDED)

    @action("resume", _l("Resume"), None, "fa-play")
    def resume(self, items):
        return self._set_status(items, BrandStatus.ACTIVE)

    @action("region_move", _l("Request a region move"), None, "fa-plane", multiple=False)
    def region_move(self, items):
        items = items if isinstance(items, list) else [items]
        slug = items[0].slug if items else None
        return redirect(url_for("RegionMoveFormView.this_form_get", brand=slug))


def brand_form(settings: Settings) -> type[DynamicForm]:
    regions = [(name, name) for name in settings.regions]

    class BrandForm(DynamicForm):
        slug = StringField(_l("Slug"), validators=[DataRequired()], widget=BS3TextFieldWidget(),
                           description=_l("2-40 lowercase letters, digits and hyphens; "
                                          "the brand's URL is /t/<slug>/"))
        name = StringField(_l("Name"), validators=[DataRequired()], widget=BS3TextFieldWidget())
        domains = StringField(_l("Domains"), widget=BS3TextFieldWidget(),
                              description=_l("Host names of the brand, separated by spaces "
                                             "or commas (optional)"))
        region = SelectField(_l("Region"), choices=regions, default=settings.default_region,
                             widget=Select2Widget())
        locale = StringField(_l("Default locale"), default="en", widget=BS3TextFieldWidget())
        locales = StringField(_l("Locales"), widget=BS3TextFieldWidget(),
                              description=_l("Enabled locales, e.g. en, de (the default "
                                             "locale is always enabled)"))
        currency = StringField(_l("Currency"), default="USD", widget=BS3TextFieldWidget(),
                               description=_l("ISO 4217 code of the base currency"))
        timezone = StringField(_l("Timezone"), default="UTC", widget=BS3TextFieldWidget(),
                               description=_l("IANA name, e.g. Europe/Berlin"))

    return BrandForm


# The form field that shows each BrandValidationError.field.
BRAND_FIELDS = {"domain": "domains"}


class BrandCreateView(SimpleFormView):
    route_base = "/brands/new"
    form_title = _l("Create a brand")

    def form_post(self, form):
        spec = BrandSpec(slug=form.slug.data.strip(), name=form.name.data,
                         domains=_split(form.domains.data), region=form.region.data,
                         locale=(form.locale.data or "en").strip(),
                         locales=_split(form.locales.data),
                         currency=(form.currency.data or "").strip().upper(),
                         timezone=(form.timezone.data or "").strip())
        actor_name = actor()
        _end_transaction()
        try:
            brand = create_brand(_runtime(), spec, actor=actor_name,
                                 client_address=_client())
        except BrandValidationError as exc:
            return _show_form_error(self, form, BRAND_FIELDS.get(exc.field, exc.field), str(exc))
        flash(_("Brand %(slug)s created.", slug=brand.slug), "success")
        return redirect(url_for("BrandView.list"))


# --- Region moves ------------------------------------------------------------------------------

def region_move_form(settings: Settings) -> type[DynamicForm]:
    regions = [(name, name) for name in settings.regions]

    class RegionMoveForm(DynamicForm):
        brand = StringField(_l("Brand"), validators=[DataRequired()],
                            widget=BS3TextFieldWidget(), description=_l("The brand's slug"))
        to_region = SelectField(_l("Move to region"), choices=regions, widget=Select2Widget())
        reason = TextAreaField(_l("Reason"), widget=BS3TextAreaFieldWidget())

    return RegionMoveForm


class RegionMoveFormView(SimpleFormView):
    route_base = "/region-moves/new"
    form_title = _l("Request a region move")

    def form_get(self, form):
        form.brand.data = request.args.get("brand", "")

    def form_post(self, form):
        db = platform_db()
        try:
            request_region_move(db, _runtime().settings.regions, form.brand.data.strip(),
                                form.to_region.data, reason=form.reason.data or "",
                                actor=actor(), client_address=_client())
        except LoyaltyError as exc:
            db.rollback()
            return _show_form_error(self, form, exc.field or "", exc.message)
        db.commit()
        flash(_("The move of %(slug)s to %(region)s is requested.", slug=form.brand.data,
                region=form.to_region.data), "success")
        return redirect(url_for("RegionMoveView.list"))


class RegionMoveView(ModelView):
    include_route_methods = LIST_ROUTES
    route_base = "/region-moves"
    datamodel = SQLAInterface(RegionMoveRequest)
    base_permissions = READ_ONLY
    list_title = _l("Region move requests")
    list_columns = ["brand.slug", "from_region", "to_region", "status", "requested_by",
                    "requested_at", "reason"]
    label_columns = {"brand.slug": _l("Brand"), "from_region": _l("From"),
                     "to_region": _l("To"), "status": _l("Status"),
                     "requested_by": _l("Requested by"), "requested_at": _l("Requested"),
                     "reason": _l("Reason")}
    base_order = ("requested_at", "desc")


# --- Users -----------------------------------------------------------------------------------

class UserView(ModelView):
    include_route_methods = ACTION_ROUTES
    route_base = "/users"
    datamodel = SQLAInterface(User)
    base_permissions = [*READ_ONLY, "can_deactivate", "can_grant_admin", "can_revoke_admin"]
    list_title = _l("Users")
    # Never list password hashes, TOTP secrets or security stamps.
    list_columns = ["email", "name", "is_platform_admin", "is_active", "totp_confirmed_at",
                    "created_at"]
    show_columns = [*list_columns, "locked_until"]
    search_columns = ["email", "name", "is_platform_admin", "is_active"]
    label_columns = {"email": _l("Email"), "name": _l("Name"),
                     "is_platform_admin": _l("Platform admin"), "is_active": _l("Active"),
                     "totp_confirmed_at": _l("Authenticator since"),
                     "created_at": _l("Created"), "locked_until": _l("Locked until")}
    base_order = ("email", "asc")

    def _change(self, items, change):
        items = items if isinstance(items, list) else [items]
        db = platform_db()
        try:
            for user in items:
                change(db, user.id, actor=actor(), client_address=_client())
        except LoyaltyError as exc:
            db.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("UserView.list"))
        db.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("UserView.list"))

    @action("deactivate", _l("Deactivate"),
            _l("Deactivate the selected users? They are signed out and cannot sign in."),
            "fa-ban")
    def deactivate(self, items):
        return self._change(items, administration.deactivate_user)

    @action("grant_admin", _l("Make platform admin"), _l("Make the selected users platform "
                                                          "admins?"), "fa-key")
    def grant_admin(self, items):
        return self._change(items, lambda db, pk, **kw: administration.set_platform_admin(
            db, pk, True, **kw))

    @action("revoke_admin", _l("Revoke platform admin"), None, "fa-user")
    def revoke_admin(self, items):
        return self._change(items, lambda db, pk, **kw: administration.set_platform_admin(
            db, pk, False, **kw))


class UserForm(DynamicForm):
    email = StringField(_l("Email"), validators=[DataRequired()], widget=BS3TextFieldWidget())
    name = StringField(_l("Name"), widget=BS3TextFieldWidget())
    password = PasswordField(_l("Initial password"), validators=[DataRequired()],
                             widget=BS3PasswordFieldWidget(),
                             description=_l("At least 10 characters; the user sets up an "
                                            "authenticator at the first sign-in"))
    platform_admin = BooleanField(_l("Platform admin"))


class UserCreateView(SimpleFormView):
    route_base = "/users/new"
    form = UserForm
    form_title = _l("Create a user")

    def form_post(self, form):
        db = platform_db()
        try:
            user = accounts.create_user(db, form.email.data, form.password.data,
                                        name=form.name.data or "",
                                        platform_admin=bool(form.platform_admin.data),
                                        actor=actor(), client_address=_client())
        except LoyaltyError as exc:
            db.rollback()
            return _show_form_error(self, form, exc.field or "", exc.message)
        db.commit()
        flash(_("User %(email)s created.", email=user.email), "success")
        return redirect(url_for("UserView.list"))


# --- Delegations -----------------------------------------------------------------------------

class DelegationView(ModelView):
    include_route_methods = ACTION_ROUTES
    route_base = "/delegations"
    datamodel = SQLAInterface(Delegation)
    base_permissions = [*READ_ONLY, "can_revoke"]
    list_title = _l("Delegations")
    list_columns = ["user.email", "brand.slug", "role", "created_at"]
    label_columns = {"user.email": _l("User"), "brand.slug": _l("Brand"), "role": _l("Role"),
                     "created_at": _l("Granted")}
    search_columns = ["role"]
    base_order = ("created_at", "desc")

    @action("revoke", _l("Revoke"), _l("Revoke the selected roles?"), "fa-trash")
    def revoke(self, items):
        items = items if isinstance(items, list) else [items]
        db = platform_db()
        try:
            for delegation in items:
                administration.revoke_delegation(db, delegation.id, actor=actor(),
                                                 client_address=_client())
        except LoyaltyError as exc:
            db.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("DelegationView.list"))
        db.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("DelegationView.list"))


class DelegationForm(DynamicForm):
    email = StringField(_l("User email"), validators=[DataRequired()],
                        widget=BS3TextFieldWidget())
    brand = StringField(_l("Brand"), validators=[DataRequired()], widget=BS3TextFieldWidget(),
                        description=_l("The brand's slug"))
    role = SelectField(_l("Role"), choices=[(role.value, role.value) for role in Role],
                       widget=Select2Widget())


class DelegationCreateView(SimpleFormView):
    route_base = "/delegations/new"
    form = DelegationForm
    form_title = _l("Grant a role in a brand")

    def form_post(self, form):
        db = platform_db()
        try:
            administration.grant_delegation(db, form.email.data, form.brand.data.strip(),
                                            form.role.data, actor=actor(),
                                            client_address=_client())
        except LoyaltyError as exc:
            db.rollback()
            return _show_form_error(self, form, exc.field or "", exc.message)
        db.commit()
        flash(_("%(email)s is now %(role)s of %(brand)s.", email=form.email.data,
                role=form.role.data, brand=form.brand.data), "success")
        return redirect(url_for("DelegationView.list"))


# --- Audit trail ---------------------------------------------------------------------------

class AuditView(ModelView):
    include_route_methods = LIST_ROUTES
    route_base = "/audit"
    datamodel = SQLAInterface(PlatformAuditEntry)
    base_permissions = READ_ONLY
    list_title = _l("Platform audit trail")
    list_columns = ["recorded_at", "actor", "action", "target", "client_address"]
    show_columns = [*list_columns, "before", "after", "request_id", "entry_hash"]
    search_columns = ["actor", "action", "target"]
    label_columns = {"recorded_at": _l("Time"), "actor": _l("Actor"), "action": _l("Action"),
                     "target": _l("Target"), "client_address": _l("Client address"),
                     "before": _l("Before"), "after": _l("After"),
                     "request_id": _l("Request id"), "entry_hash": _l("Hash")}
    base_order = ("id", "desc")


def register(appbuilder: AppBuilder, settings: Settings) -> None:
    brands, people, records = _l("Brands"), _l("People"), _l("Records")
    appbuilder.add_view(BrandView, "Brands", label=_l("Brands"), category="Brands",
                        category_label=brands, icon="fa-store")
    BrandCreateView.form = brand_form(settings)
    appbuilder.add_view(BrandCreateView, "Create a brand", label=_l("Create a brand"),
                        category="Brands", icon="fa-plus")
    RegionMoveFormView.form = region_move_form(settings)
    appbuilder.add_view_no_menu(RegionMoveFormView)
    appbuilder.add_view(RegionMoveView, "Region moves", label=_l("Region moves"),
                        category="Brands", icon="fa-plane")
    appbuilder.add_view(UserView, "Users", label=_l("Users"), category="People",
                        category_label=people, icon="fa-user")
    appbuilder.add_view(UserCreateView, "Create a user", label=_l("Create a user"),
                        category="People", icon="fa-user-plus")
    appbuilder.add_view(DelegationView, "Delegations", label=_l("Delegations"),
                        category="People", icon="fa-id-badge")
    appbuilder.add_view(DelegationCreateView, "Grant a role", label=_l("Grant a role"),
                        category="People", icon="fa-plus")
    appbuilder.add_view(AuditView, "Audit trail", label=_l("Audit trail"), category="Records",
                        category_label=records, icon="fa-list")
