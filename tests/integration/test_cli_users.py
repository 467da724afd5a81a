"""``tessera users``: creating console users and recovering their access from the shell."""

import json

import pyotp
import pytest
from click.testing import CliRunner
from console_helpers import form_post
from flask.cli import ScriptInfo
from sqlalchemy import select
from werkzeug.test import Client

from saas.cli import cli
from saas.db import utcnow
from saas.platform.models import User
from saas.security.audit import PlatformAuditEntry
from saas.wsgi_app import create_app


@pytest.fixture
def run(runtime):
    app = create_app(runtime=runtime)
    info = ScriptInfo(create_app=lambda: app)

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj=info)

    return invoke


def test_created_user_signs_in_with_printed_credentials(run, make_brand, wsgi_app):
    make_brand("alpha")
    result = run("users", "create", "ann@example.com", "--brand", "alpha", "--role", "owner",
                 "--with-totp", "--json")
    data = json.loads(result.output)
    client = Client(wsgi_app)
    form_post(client, "/t/alpha/admin/sign-in", email="ann@example.com",
              password=data["password"])
    signed = form_post(client, "/t/alpha/admin/second-factor",
                       token_from="/t/alpha/admin/sign-in",
                       code=pyotp.TOTP(data["totp_secret"]).now())
    assert result.exit_code == 0, result.output
    assert signed.headers["Location"] == "/t/alpha/admin/"


def test_create_rejects_a_role_without_a_brand(run):
    result = run("users", "create", "ann@example.com", "--role", "owner")
    assert result.exit_code != 0
    assert "give --brand and --role together" in result.output


def test_create_rejects_an_unknown_brand(run):
    result = run("users", "create", "ann@example.com", "--brand", "nope", "--role", "owner")
    assert result.exit_code != 0
    assert "unknown brand 'nope'" in result.output


def test_totp_code_prints_the_current_code(run):
    data = json.loads(run("users", "create", "ann@example.com", "--platform-admin",
                          "--with-totp", "--json").output)
    code = run("users", "totp-code", "ann@example.com").output.strip()
    assert pyotp.TOTP(data["totp_secret"]).verify(code)


def test_reset_second_factor_is_audited(run, runtime):
    run("users", "create", "ann@example.com", "--platform-admin", "--with-totp")
    result = run("users", "reset-second-factor", "ann@example.com")
    with runtime.platform_session() as db:
        secret = db.scalar(select(User.totp_secret))
        actions = list(db.scalars(select(PlatformAuditEntry.action)))
    assert result.exit_code == 0, result.output
    assert secret is None
    assert actions[-1] == "mfa.reset"


def test_unlock_ends_a_lock(run, runtime):
    run("users", "create", "ann@example.com", "--platform-admin")
    with runtime.platform_session() as db:
        db.scalar(select(User)).locked_until = utcnow()
        db.commit()
    run("users", "unlock", "ann@example.com")
    with runtime.platform_session() as db:
        assert db.scalar(select(User.locked_until)) is None


def test_unknown_email_names_it(run):
    result = run("users", "unlock", "who@example.com")
    assert result.exit_code != 0
    assert "'who@example.com'" in result.output
