"""Provisioning brands: validation, no half-written brands, bounded connections."""

import threading
from dataclasses import replace

import pytest
from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy import migrations
from saas.tenancy.provisioning import BrandSpec, create_brand
from saas.tenancy.upgrades import upgrade_platform
from saas.tenancy.validation import BrandValidationError


def test_brand_database_at_head(runtime, make_brand):
    brand = make_brand("alpha")
    assert migrations.current_revision(runtime.brand_engine(brand)) == migrations.head_revision("brand")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"slug": "A"}, "invalid slug 'A'"),
        ({"slug": "x"}, "invalid slug 'x'"),
        ({"slug": "-ab"}, "invalid slug '-ab'"),
        ({"slug": "a" * 41}, "invalid slug"),
        ({"region": "mars"}, "unknown region 'mars'"),
        ({"currency": "EURO"}, "unknown currency 'EURO'"),
        ({"locale": "xx_QQ"}, "unknown locale 'xx_QQ'"),
        ({"timezone": "Europe/Nowhere"}, "unknown timezone 'Europe/Nowhere'"),
        ({"domains": ["localhost"]}, "platform's own host"),
        ({"domains": ["other.loyalty.test"]}, "under the platform domain"),
        ({"domains": ["http://x.test/"]}, "invalid domain"),
        ({"name": ""}, "invalid name"),
    ],
)
def test_invalid_brand_rejected(runtime, fields, message):
    spec = BrandSpec(**{"slug": "good", "name": "Good", **fields})
    with pytest.raises(BrandValidationError, match=message):
        create_brand(runtime, spec)
    assert runtime.directory.by_slug(spec.slug) is None


def test_duplicate_slug_rejected(runtime, make_brand):
    make_brand("alpha")
    with pytest.raises(BrandValidationError, match="brand 'alpha' already exists"):
        make_brand("alpha", domains=[])


def test_duplicate_domain_rejected(runtime, make_brand):
    make_brand("alpha", domains=["shop.example.test"])
    with pytest.raises(BrandValidationError, match="already belongs to 'alpha'"):
        make_brand("beta", domains=["Shop.Example.Test"])
    assert runtime.directory.by_slug("beta") is None


def test_failed_provisioning_leaves_no_brand(runtime, monkeypatch):
    from saas.tenancy import provisioning

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(provisioning, "create_brand_database", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        create_brand(runtime, BrandSpec(slug="alpha", name="Alpha"))
    runtime.directory.forget()
    assert runtime.directory.by_slug("alpha") is None


def test_defaults_applied(runtime):
    brand = create_brand(runtime, BrandSpec(slug="alpha", name="Alpha"))
    assert (brand.home_region, brand.default_locale, brand.base_currency, brand.timezone) == (
        "eu", "en", "USD", "UTC"
    )
    assert brand.locales == ("en",)


def test_default_locale_joins_enabled(runtime):
    brand = create_brand(runtime, BrandSpec(slug="alpha", name="A", locale="de-DE", locales=["fr"]))
    assert brand.locales == ("de_DE", "fr")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_200_brands_keep_connections_bounded(settings, pg_server):
    runtime = Runtime(replace(settings, max_brand_engines=8), application_name="bound-test")
    upgrade_platform(runtime)
    app_name = f"bound-{id(runtime)}"
    runtime.application_name = app_name
    runtime.engines.application_name = app_name
    slugs = [f"b{i:03d}" for i in range(200)]
    for slug in slugs:
        create_brand(runtime, BrandSpec(slug=slug, name=slug))

    peak = 0
    monitor = runtime.platform_engine

    def count():
        with monitor.connect() as connection:
            return connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": app_name},
            )

    def touch(slug):
        with runtime.brand_session(slug) as session:
            session.execute(text("SELECT 1"))

    for slug in slugs:
        touch(slug)
        peak = max(peak, count())
    barrier = threading.Barrier(40)

    def touch_together(slug):
        barrier.wait()
        touch(slug)

    threads = [threading.Thread(target=touch_together, args=(slug,)) for slug in slugs[:40]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after_burst = count()
    bound = runtime.engines.max_connections
    open_engines = len(runtime.engines)
    runtime.close()

    assert bound == 8 * 4
    assert open_engines <= 8
    assert peak <= bound
    assert after_burst <= bound
