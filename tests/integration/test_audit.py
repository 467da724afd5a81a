"""The hash-chained audit trail: written with the change, and a tampered row is found."""

import threading

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select, text, update

from saas.cli import cli
from saas.platform.models import BrandStatus
from saas.security.audit import BrandAuditEntry, PlatformAuditEntry, record, verify_chain
from saas.tenancy.provisioning import set_brand_status
from saas.wsgi_app import create_app


@pytest.fixture
def run(runtime):
    app = create_app(runtime=runtime)
    info = ScriptInfo(create_app=lambda: app)
    return lambda *args: CliRunner().invoke(cli, list(args), obj=info)


def test_brand_changes_recorded_on_platform(runtime, make_brand):
    make_brand("alpha")
    set_brand_status(runtime, "alpha", BrandStatus.SUSPENDED, actor="cli:ana")
    with runtime.platform_session() as session:
        entries = session.scalars(select(PlatformAuditEntry).order_by(PlatformAuditEntry.id)).all()
        report = verify_chain(session, platform=True)
    assert [e.action for e in entries] == ["brand.create", "brand.status"]
    assert entries[1].actor == "cli:ana"
    assert entries[1].before == {"status": "active"}
    assert entries[1].after == {"status": "suspended"}
    assert report.ok


def test_tampered_entry_detected(runtime, make_brand, run):
    make_brand("alpha")
    with runtime.brand_session("alpha") as session:
        for index in range(3):
            record(session, actor="cli:ana", action="test.change", target=f"thing:{index}",
                   after={"value": index})
        session.commit()
        second = session.scalars(select(BrandAuditEntry.id).order_by(BrandAuditEntry.id)).all()[1]
        session.execute(update(BrandAuditEntry).where(BrandAuditEntry.id == second)
                        .values(after={"value": 99}))
        session.commit()
        report = verify_chain(session)
    result = run("audit", "verify", "alpha")
    assert report.first_broken_id == second
    assert result.exit_code == 1
    assert f"broken at entry {second}" in result.output


def test_removed_last_entry_detected(runtime, make_brand):
    make_brand("alpha")
    with runtime.brand_session("alpha") as session:
        record(session, actor="a", action="x", target="t")
        record(session, actor="a", action="y", target="t")
        session.commit()
        session.execute(text("DELETE FROM audit_entry WHERE action = 'y'"))
        session.commit()
        report = verify_chain(session)
    assert not report.ok
    assert "removed" in report.reason


def test_verify_intact_chain(runtime, make_brand, run, tmp_path):
    make_brand("alpha")
    run("members", "claim-code", "alpha", "nobody")
    result = run("audit", "verify", "--platform")
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 1 entries" in result.output


def test_manifest_apply_recorded(runtime, run, tmp_path):
    manifest = tmp_path / "brand.yaml"
    manifest.write_text(
        "slug: gamma\nname: Gamma\nregion: eu\nlocale: en\ncurrency: EUR\ntimezone: UTC\n"
        "tiers:\n  - {code: base, name: {en: Base}, threshold: 0}\n")
    run("brands", "apply", str(manifest))
    with runtime.brand_session("gamma") as session:
        entry = session.scalars(select(BrandAuditEntry)).one()
    assert entry.action == "manifest.apply"
    assert entry.actor.startswith("cli:")
    assert any("tier base" in line for line in entry.after["changes"])


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_concurrent_writers_keep_one_chain(runtime, make_brand):
    make_brand("alpha")
    barrier = threading.Barrier(8)

    def write(index):
        with runtime.brand_session("alpha") as session:
            barrier.wait()
            record(session, actor="a", action="x", target=str(index))
            session.commit()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.brand_session("alpha") as session:
        report = verify_chain(session)
    assert report.ok
    assert report.entries == 8
