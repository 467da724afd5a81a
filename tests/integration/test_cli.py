"""The tessera command line, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from saas.cli import cli
from saas.wsgi_app import create_app


@pytest.fixture
def run(runtime):
    app = create_app(runtime=runtime)
    info = ScriptInfo(create_app=lambda: app)

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj=info)

    return invoke


def test_brands_create_and_list(run):
    created = run("brands", "create", "cafe", "--name", "Café Krone", "--domain", "krone.test",
                  "--region", "us", "--locale", "de_DE", "--locales", "de_DE,en",
                  "--currency", "eur", "--timezone", "Europe/Berlin")
    listed = run("brands", "list", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(listed.output) == [{
        "slug": "cafe", "name": "Café Krone", "region": "us", "default_locale": "de_DE",
        "locales": ["de_DE", "en"], "currency": "EUR", "timezone": "Europe/Berlin",
        "status": "active", "domains": ["krone.test"],
    }]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad_Slug"], "invalid slug 'Bad_Slug'"),
        (["ok", "--region", "mars"], "unknown region 'mars'"),
        (["ok", "--currency", "ZZZ"], "unknown currency 'ZZZ'"),
        (["ok", "--locale", "qq"], "unknown locale 'qq'"),
        (["ok", "--timezone", "Moon/Base"], "unknown timezone 'Moon/Base'"),
    ],
)
def test_brands_create_rejects_invalid(run, args, message):
    result = run("brands", "create", *args, "--name", "X")
    assert result.exit_code != 0
    assert message in result.output


def test_brands_create_rejects_duplicate(run):
    run("brands", "create", "cafe", "--name", "Cafe", "--domain", "cafe.test")
    again = run("brands", "create", "cafe", "--name", "Cafe")
    taken = run("brands", "create", "bar", "--name", "Bar", "--domain", "CAFE.test")
    assert again.exit_code != 0
    assert "brand 'cafe' already exists" in again.output
    assert taken.exit_code != 0
    assert "domain 'cafe.test' already belongs to 'cafe'" in taken.output


def test_brands_suspend(run, runtime):
    run("brands", "create", "cafe", "--name", "Cafe")
    result = run("brands", "suspend", "cafe")
    assert result.exit_code == 0
    assert runtime.brand("cafe").is_suspended


def test_brands_suspend_unknown(run):
    result = run("brands", "suspend", "nope")
    assert result.exit_code != 0
    assert "no brand with slug 'nope'" in result.output


def test_brands_migrate_reports_each_brand(run):
    run("brands", "create", "cafe", "--name", "Cafe")
    run("brands", "create", "bar", "--name", "Bar")
    result = run("brands", "migrate")
    assert result.exit_code == 0, result.output
    assert "cafe" in result.output
    assert "bar" in result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_brands_migrate_continues_past_failure(run, runtime):
    from sqlalchemy.engine import make_url

    run("brands", "create", "bar", "--name", "Bar")
    run("brands", "create", "cafe", "--name", "Cafe")
    broken = Path(make_url(runtime.brand_url(runtime.brand("bar"))).database)
    runtime.engines.dispose_all()
    broken.write_bytes(b"this is not a database")

    result = run("brands", "migrate")

    assert result.exit_code == 1
    assert "bar " in result.output
    assert "FAILED" in result.output
    assert "cafe " in result.output
    assert "ok" in result.output
    assert "1 of 2 failed" in result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_worker_without_redis_is_clear_error(run):
    result = run("worker")
    assert result.exit_code != 0
    assert "no Redis is configured" in result.output


def test_init_writes_embedded_default(tmp_path):
    env = {**os.environ, "TESSERA_INSTANCE_PATH": str(tmp_path / "instance")}
    env = {key: value for key, value in env.items()
           if not key.startswith("TESSERA_") or key == "TESSERA_INSTANCE_PATH"}
    tessera = [sys.executable, "-c", "from saas.cli import main; main()"]
    first = subprocess.run([*tessera, "init", "--instance", str(tmp_path / "instance")],
                           env=env, capture_output=True, text=True, check=False)
    settings = json.loads((tmp_path / "instance" / "settings.json").read_text())
    again = subprocess.run([*tessera, "init", "--instance", str(tmp_path / "instance")],
                           env=env, capture_output=True, text=True, check=False)
    create = subprocess.run([*tessera, "brands", "create", "demo", "--name", "Demo",
                             "--region", "apac"], env=env, capture_output=True, text=True,
                            check=False)

    assert first.returncode == 0, first.stderr
    assert len(settings["TESSERA_SECRET_KEY"]) >= 32
    assert sorted(p.name for p in (tmp_path / "instance" / "regions").iterdir()) == ["apac", "eu", "us"]
    assert json.loads((tmp_path / "instance" / "settings.json").read_text()) == settings
    assert again.returncode == 0
    assert create.returncode == 0, create.stderr
    assert (tmp_path / "instance" / "regions" / "apac" / "demo.db").exists()


def test_missing_configuration_names_variable(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_")}
    env["TESSERA_INSTANCE_PATH"] = str(tmp_path / "empty")
    result = subprocess.run([sys.executable, "-c", "from saas.cli import main; main()",
                             "brands", "list"], env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode != 0
    assert "TESSERA_REGIONS is missing" in result.stderr


def test_import_transactions_prints_summary(run, runtime, tmp_path):
    from loyalty_helpers import add_rule

    run("brands", "create", "cafe", "--name", "Cafe")
    with runtime.brand_session("cafe") as session:
        add_rule(session)
    data = tmp_path / "sales.csv"
    data.write_text("customer_id,date,amount\n007,2025-03-01,12.00\n007,2025-03-02,oops\n")

    result = run("import", "transactions", "cafe", str(data))

    assert result.exit_code == 0, result.output
    assert "orders imported:    1" in result.output
    assert "rows rejected:      1" in result.output
    assert "error report:" in result.output


def test_import_unknown_mapping_field(run, tmp_path):
    run("brands", "create", "cafe", "--name", "Cafe")
    data = tmp_path / "sales.csv"
    data.write_text("a,b\n1,2\n")
    result = run("import", "transactions", "cafe", str(data), "--mapping", "amout=b")
    assert result.exit_code != 0
    assert "amout" in result.output


def test_members_show_json(run, runtime, tmp_path):
    from loyalty_helpers import add_rule

    run("brands", "create", "cafe", "--name", "Cafe")
    with runtime.brand_session("cafe") as session:
        add_rule(session)
    data = tmp_path / "sales.csv"
    data.write_text("member,date,amount\n0042,2025-03-01,12.00\n")
    run("import", "transactions", "cafe", str(data))

    shown = json.loads(run("members", "show", "cafe", "0042", "--json").output)

    assert shown["ref"] == "0042"
    assert shown["balance"] == 12
    assert shown["lots"] == [{"points": 12, "remaining": 12,
                              "earned_at": "2025-03-01T00:00:00+00:00", "expires_at": None}]
    assert shown["entries"][0]["kind"] == "earn"


def test_members_show_unknown(run):
    run("brands", "create", "cafe", "--name", "Cafe")
    result = run("members", "show", "cafe", "nobody")
    assert result.exit_code != 0
    assert "no member with reference 'nobody'" in result.output


def test_members_claim_code(run, runtime):
    from saas.loyalty.claims import redeem_claim_code
    from saas.loyalty.members import enrol_member

    run("brands", "create", "cafe", "--name", "Cafe")
    with runtime.brand_session("cafe") as session:
        enrol_member(session, "0042")
        session.commit()
    result = run("members", "claim-code", "cafe", "0042")
    code = result.output.split(": ")[1].split()[0]
    with runtime.brand_session("cafe") as session:
        member = redeem_claim_code(session, "0042", code)
    assert result.exit_code == 0, result.output
    assert member.ref == "0042"
