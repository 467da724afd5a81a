"""``tessera demo``: set up the demo brands on real data and serve them on 127.0.0.1.

The music store's history is the CDNOW purchase log (23,570 customers, 69,659 purchases
in 1997-98), read from the ``lifetimes`` 0.11.3 wheel on PyPI. Running the demo again
re-applies the manifests and re-imports the file, which adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import func, select

from saas.app import ROOT
from saas.loyalty.idempotency import run_once
from saas.loyalty.models import Member, Order
from saas.loyalty.rewards import redeem_reward, use_voucher

CDNOW_WHEEL = "lifetimes==0.11.3"
CDNOW_WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
CDNOW_MEMBER = "lifetimes/datasets/CDNOW_master.txt"
MUSIC_STORE = "music-store"
SYNTHETIC_SOURCE = "demo:synthetic"
SYNTHETIC_REDEMPTIONS = 300


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="Serve the app when the data is ready.")
@click.pass_context
def demo_command(ctx: click.Context, host: str, port: int, serve: bool) -> None:
    """Create the demo brands, import CDNOW into the music store, and serve everything."""
    from saas.app import create_app
    from saas.cli import init_command

    instance = Path(os.environ.get("TESSERA_INSTANCE_PATH", "instance"))
    ctx.invoke(init_command, instance_path=instance)
    app = create_app()
    with app.app_context():
        runtime = app.extensions["tessera"]
        migrate_existing_brands(runtime)
        apply_demo_manifests(runtime)
        data = fetch_cdnow(runtime.settings.instance_path / "cache")
        import_cdnow(runtime, data)
        add_synthetic_redemptions(runtime)
        roll_up_analytics(runtime)
        compute_demo_segments(runtime)
        users = ensure_demo_users(runtime)
        partner = ensure_demo_partner(runtime)
        print_urls(runtime, host, port, users, partner)
    if serve:
        from saas.cli import serve_command

        with app.app_context():
            ctx.invoke(serve_command, host=host, port=port)


def migrate_existing_brands(runtime) -> None:
    """Bring brands of an earlier demo run to the newest schema before using them."""
    from saas.tenancy.upgrades import migrate_brands

    failed = [outcome for outcome in migrate_brands(runtime) if not outcome.ok]
    if failed:
        raise click.ClickException(f"migrating brand {failed[0].slug} failed: "
                                   f"{failed[0].error}; run 'tessera brands migrate'")


def apply_demo_manifests(runtime) -> None:
    from saas.tenancy.manifest_apply import apply_manifest
    from saas.tenancy.manifests import load_manifest

    for path in sorted((ROOT / "tenants").glob("*.yaml")):
        report = apply_manifest(runtime, load_manifest(path))
        state = "created" if report.created else (
            f"{len(report.changes)} changes" if report.changes else "up to date")
        click.echo(f"brand {report.slug}: {state}")


def fetch_cdnow(cache: Path) -> Path:
    """Download the lifetimes wheel once, check its hash and extract the CDNOW file."""
    target = cache / "CDNOW_master.txt"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheels = list(cache.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if not wheels:
        click.echo(f"downloading {CDNOW_WHEEL} from PyPI for the CDNOW purchase history")
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--dest", str(cache), CDNOW_WHEEL],
            check=True,
        )
        wheels = list(cache.glob("[Ll]ifetimes-0.11.3-*.whl"))
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != CDNOW_WHEEL_SHA256:
        raise click.ClickException(
            f"{wheels[0]} has SHA-256 {digest}, expected {CDNOW_WHEEL_SHA256}; delete it and "
            "run the demo again"
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        target.write_bytes(wheel.read(CDNOW_MEMBER))
    return target


def import_cdnow(runtime, path: Path) -> None:
    from saas.commands.imports import follow, print_summary
    from saas.jobs.queueing import enqueue

    click.echo(f"importing {path.name} into {MUSIC_STORE}")
    job_id = enqueue(runtime, MUSIC_STORE, "imports.transactions", path=str(path.resolve()),
                     mapping={}, currency="USD", delimiter=None)
    view = follow(runtime, MUSIC_STORE, job_id)
    if view.status == "failed":
        raise click.ClickException(f"the CDNOW import failed: {view.as_json()['error']}")
    print_summary(view.result)


def add_synthetic_redemptions(runtime) -> None:
    """Redeem rewards for the first members (by reference) who spent 150 USD or more.

    These redemptions are not in the CDNOW data: their source is ``demo:synthetic`` so
    reports can leave them out. Each has its own idempotency key, so reruns add none.
    """
    added = 0
    with runtime.brand_session(MUSIC_STORE) as session:
        # Chosen by purchases, which redemptions do not change, so a rerun picks the same.
        spent = func.sum(Order.base_amount_minor)
        members = session.execute(
            select(Member.ref, spent, Member.last_activity_at)
            .join(Order, Order.member_id == Member.id)
            .group_by(Member.id, Member.ref, Member.last_activity_at)
            .having(spent >= 15000).order_by(Member.ref).limit(SYNTHETIC_REDEMPTIONS)
        ).all()
        session.rollback()
        for index, (ref, spent_minor, last_visit) in enumerate(members):
            # At least one point per dollar, so 500 USD spent affords the 500-point album.
            reward = "free-album" if spent_minor >= 50000 else "tote-bag"
            at = last_visit + timedelta(days=7)
            outcome = run_once(
                session, SYNTHETIC_SOURCE, f"redemption-{ref}", {"member": ref, "reward": reward},
                lambda ref=ref, reward=reward, at=at: redeem_reward(
                    session, ref, reward, source=SYNTHETIC_SOURCE, at=at),
            )
            if outcome.ok and not outcome.replayed:
                added += 1
                if index % 3 == 0:
                    use_voucher(session, outcome.body["voucher"], used_by="demo till",
                                at=at + timedelta(days=2))
                    session.commit()
    click.echo(f"synthetic redemptions added: {added} (source {SYNTHETIC_SOURCE})")


def roll_up_analytics(runtime) -> None:
    """Run the KPI rollup once, so the console's analytics page has the imported history."""
    from saas.analytics.rollup import rollup

    with runtime.brand_session(MUSIC_STORE) as session:
        # Nothing else writes to the demo brand now, so no gap in the ids can still fill.
        added = rollup(session, runtime.brand(MUSIC_STORE).timezone, grace=timedelta(0))
        session.commit()
    click.echo(f"analytics rollup: {added['ledger_entry']} ledger entries, "
               f"{added['purchase_order']} orders, {added['member']} members added")


def compute_demo_segments(runtime) -> None:
    """Segment the music store's customers once, so the segments page is not empty."""
    from saas.analytics.segments import Segment, compute_segments

    with runtime.brand_session(MUSIC_STORE) as session:
        if session.scalar(select(func.count()).select_from(Segment)):
            return
        result = compute_segments(session)
    click.echo(f"segments: {result.members} members in {result.k} segments "
               f"(silhouette {result.silhouette})")


DEMO_USERS = (
    # email, brand, role, platform admin
    ("owner@music-store.example", MUSIC_STORE, "owner", False),
    ("analyst@music-store.example", MUSIC_STORE, "analyst", False),
    ("platform@tessera.example", None, None, True),
)


def ensure_demo_users(runtime) -> list[dict]:
    """Create the demo's console users once, with TOTP enrolled, and keep their credentials
    in the instance folder so every run prints the same ones."""
    import pyotp

    from saas.console.accounts import confirm_totp, create_user
    from saas.platform.models import Delegation, User

    store = runtime.settings.instance_path / "demo-console-users.json"
    known = json.loads(store.read_text()) if store.exists() else {}
    # Looked up first: on SQLite a second connection cannot read while this session writes.
    brand_ids = {slug: runtime.brand(slug).id for _email, slug, *_rest in DEMO_USERS if slug}
    with runtime.platform_session() as db:
        for email, slug, role, platform_admin in DEMO_USERS:
            if db.scalar(select(User.id).where(User.email == email)) is not None \
                    and email in known:
                continue
            password, secret = secrets.token_urlsafe(12), pyotp.random_base32()
            user = create_user(db, email, password, platform_admin=platform_admin,
                               actor="demo")
            if slug is not None:
                db.add(Delegation(user_id=user.id, brand_id=brand_ids[slug], role=role))
            confirm_totp(db, user, secret, pyotp.TOTP(secret).now())
            user.totp_last_step = None  # nobody saw that code, so it stays usable
            db.commit()
            known[email] = {"password": password, "totp_secret": secret, "brand": slug,
                            "role": role or "platform admin"}
    store.write_text(json.dumps(known, indent=2))
    store.chmod(0o600)
    return [{"email": email, **known[email]} for email, *_rest in DEMO_USERS]


def ensure_demo_partner(runtime) -> dict:
    """Create the music store's demo partner once and keep its credentials with the users'."""
    from saas.api.partners import SCOPES, create_partner

    store = runtime.settings.instance_path / "demo-partner.json"
    if store.exists():
        return json.loads(store.read_text())
    with runtime.brand_session(MUSIC_STORE) as session:
        created = create_partner(session, "Demo Till", " ".join(SCOPES),
                                 contact_email="till@music-store.example")
        session.commit()
    data = created.as_json()
    store.write_text(json.dumps(data, indent=2))
    store.chmod(0o600)
    return data


def print_urls(runtime, host: str, port: int, users: list[dict], partner: dict) -> None:
    base = f"http://{host}:{port}"
    click.echo("")
    click.echo(f"platform start page:  {base}/")
    click.echo(f"platform console:     {base}/platform/")
    for brand in runtime.directory.all():
        click.echo(f"portal of {brand.name}:  {base}/t/{brand.slug}/")
    click.echo(f"brand console of the music store:  {base}/t/{MUSIC_STORE}/admin/")
    click.echo("")
    click.echo("console sign-in (password, then the 6-digit code of the TOTP key; add the key to")
    click.echo("an authenticator app, or print the current code with")
    click.echo("'.venv/bin/tessera users totp-code EMAIL'):")
    for user in users:
        click.echo(f"  {user['role']:<15} {user['email']:<30} password {user['password']}"
                   f"  TOTP key {user['totp_secret']}")
    api = f"{base}/t/{MUSIC_STORE}/api/v1"
    click.echo("")
    click.echo(f"partner API docs:     {api}/docs  (OpenAPI: {api}/openapi.json)")
    click.echo(f"demo partner client:  client_id {partner['client_id']}  "
               f"client_secret {partner['client_secret']}")
    click.echo(f"  curl -u {partner['client_id']}:{partner['client_secret']} "
               f"-d grant_type=client_credentials -d 'scope=points:earn members:read' "
               f"{api}/oauth/token")
    click.echo("")
    click.echo("portal sign-in: open a brand's portal, choose Join, and confirm the address with")
    click.echo("the link that the log prints (emails go to the log without TESSERA_SMTP_URL).")
    click.echo("To take over an imported CDNOW customer, get a claim code and use")
    click.echo("'Link an existing membership' on the portal:")
    click.echo(f"  .venv/bin/tessera members claim-code {MUSIC_STORE} 00001")
    click.echo(f"member look-up:       .venv/bin/tessera members show {MUSIC_STORE} 00001")
