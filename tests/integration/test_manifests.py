"""Brand manifests: validation messages, creating and updating brands, idempotent applies."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import make_settings
from flask.cli import ScriptInfo
from sqlalchemy import select

from saas.cli import cli
from saas.loyalty.models import EarnRule, Member, Reward, Tier
from saas.tenancy.manifest_apply import apply_manifest
from saas.tenancy.manifests import ManifestError, load_manifest, parse_manifest
from saas.tenancy.settings import get_setting
from saas.wsgi_app import create_app

TENANTS = Path(__file__).resolve().parents[2] / "tenants"
DEMOS = ("music", "cafe", "books")


@pytest.fixture
def settings(backend, tmp_path):
    """The shared test settings plus an apac region, the home region of the books demo."""
    base = make_settings(backend, tmp_path)
    eu = base.regions["eu"]
    apac = eu.replace("/eu/{brand}", "/apac/{brand}").replace("_eu_{brand}", "_apac_{brand}")
    return replace(base, regions={**base.regions, "apac": apac})


def demo_data(name: str = "music") -> dict:
    """Return a demo manifest as YAML loads it, for a test to change."""
    return yaml.safe_load((TENANTS / f"{name}.yaml").read_text(encoding="utf-8"))


def apply_data(runtime, data: dict):
    return apply_manifest(runtime, parse_manifest(data))


def rows(runtime, model, slug="music-store") -> dict:
    with runtime.brand_session(slug) as session:
        return {row.code: row for row in session.scalars(select(model))}


# --- Demo manifests ----------------------------------------------------------------------

@pytest.mark.parametrize("name", DEMOS)
def test_demo_manifest_applies(runtime, name):
    manifest = load_manifest(TENANTS / f"{name}.yaml")
    report = apply_manifest(runtime, manifest)
    assert report.created
    assert runtime.brand(manifest.slug).home_region == manifest.region
    assert set(rows(runtime, Reward, manifest.slug)) == {r.code for r in manifest.rewards}
    assert set(rows(runtime, Tier, manifest.slug)) == {t.code for t in manifest.tiers}
    assert set(rows(runtime, EarnRule, manifest.slug)) == {r.code for r in manifest.earn_rules}


@pytest.mark.parametrize("name", DEMOS)
def test_demo_names_every_locale(name):
    manifest = load_manifest(TENANTS / f"{name}.yaml")
    for item in (*manifest.rewards, *manifest.tiers):
        assert set(item.name) == set(manifest.locales), item.code
    for reward in manifest.rewards:
        assert set(reward.description) == set(manifest.locales), reward.code


def test_settings_stored(runtime):
    manifest = load_manifest(TENANTS / "cafe.yaml")
    apply_manifest(runtime, manifest)
    with runtime.brand_session("cafe-krone") as session:
        assert get_setting(session, "theme.tokens") == manifest.theme
        assert get_setting(session, "points.expiry") == {"mode": "fixed_months", "months": 12}
        assert get_setting(session, "tiers.window_months") == 12
        assert get_setting(session, "points.allow_debt") is False
        assert get_setting(session, "points.value") == "0.06"


# --- Updates -----------------------------------------------------------------------------

def test_second_apply_changes_nothing(runtime):
    apply_data(runtime, demo_data())
    report = apply_data(runtime, demo_data())
    assert report.created is False
    assert report.changes == []


def test_reward_cost_change_reported(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["rewards"][0]["cost_points"] = 600
    report = apply_data(runtime, data)
    assert report.changes == ["reward free-album: cost_points 500 -> 600"]
    assert rows(runtime, Reward)["free-album"].cost_points == 600


def test_removed_rule_deactivated(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["earn_rules"] = [r for r in data["earn_rules"] if r["code"] != "weekend-double"]
    report = apply_data(runtime, data)
    rule = rows(runtime, EarnRule)["weekend-double"]
    assert "earn rule weekend-double: deactivated, because the manifest no longer lists it" in (
        report.changes)
    assert rule.active is False
    assert rule.version == 2


def test_changed_rule_bumps_version(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["earn_rules"][1]["actions"][0]["factor"] = "3"
    report = apply_data(runtime, data)
    assert "earn rule weekend-double: version 1 -> 2" in report.changes
    assert rows(runtime, EarnRule)["weekend-double"].version == 2


def test_removed_reward_deactivated(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["rewards"] = data["rewards"][1:]
    apply_data(runtime, data)
    assert rows(runtime, Reward)["free-album"].active is False


def test_empty_tier_removed(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["tiers"] = data["tiers"][:2]
    report = apply_data(runtime, data)
    assert report.changes == ["tier gold: removed"]
    assert set(rows(runtime, Tier)) == {"bronze", "silver"}


def test_brand_fields_updated(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data.update(name="Tessera Records", locales=["en_US", "es", "fr"], timezone="America/Chicago")
    report = apply_data(runtime, data)
    runtime.directory.forget()
    brand = runtime.brand("music-store")
    assert report.changes == [
        'brand: name "Tessera Music" -> "Tessera Records"',
        'brand: locales ["en_US", "es"] -> ["en_US", "es", "fr"]',
        'brand: timezone "America/New_York" -> "America/Chicago"',
    ]
    assert (brand.name, brand.locales, brand.timezone) == (
        "Tessera Records", ("en_US", "es", "fr"), "America/Chicago")


def test_domains_replaced(runtime):
    apply_data(runtime, demo_data())
    data = demo_data()
    data["domains"] = ["music.example.test"]
    report = apply_data(runtime, data)
    runtime.directory.forget()
    assert report.changes == [
        "brand: domain music.example.test added",
        "brand: domain music-store.localhost removed",
    ]
    assert runtime.brand("music-store").domains == ("music.example.test",)


def test_domain_of_other_brand_rejected(runtime, make_brand):
    make_brand("other", domains=["taken.example.test"])
    apply_data(runtime, demo_data())
    data = demo_data()
    data["domains"] = ["music-store.localhost", "taken.example.test"]
    with pytest.raises(ManifestError, match=r"domains\[1\]: domain 'taken.example.test' already "
                                            r"belongs to brand 'other'"):
        apply_data(runtime, data)


# --- Rejected changes and atomicity ------------------------------------------------------

@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("currency", "EUR", "Changing the base currency of an existing brand is not supported"),
        ("region", "eu", "Moving a brand to another region is a separate, explicit operation"),
    ],
)
def test_identity_change_rejected(runtime, key, value, message):
    apply_data(runtime, demo_data())
    data = demo_data()
    data[key] = value
    with pytest.raises(ManifestError, match=message) as caught:
        apply_data(runtime, data)
    assert caught.value.path == key
    assert f"invalid value {value!r}" in str(caught.value)


def test_unconfigured_region_rejected(runtime):
    data = demo_data()
    data["region"] = "mars"
    with pytest.raises(ManifestError, match="region: unknown region 'mars'"):
        apply_data(runtime, data)
    assert runtime.directory.by_slug("music-store") is None


def test_blocked_tier_removal_changes_nothing(runtime):
    apply_data(runtime, demo_data())
    with runtime.brand_session("music-store") as session:
        gold = session.scalars(select(Tier).where(Tier.code == "gold")).one()
        session.add(Member(ref="m-1", tier_id=gold.id))
        session.commit()
    data = demo_data()
    data["rewards"][0]["cost_points"] = 600
    data["tiers"] = data["tiers"][:2]
    with pytest.raises(ManifestError, match="tier 'gold' is missing from the manifest but 1 "):
        apply_data(runtime, data)
    assert rows(runtime, Reward)["free-album"].cost_points == 500
    assert "gold" in rows(runtime, Tier)


# --- Validation messages -----------------------------------------------------------------

def _set(data: dict, path: tuple, value) -> dict:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


BAD_RULE = {"code": "x", "name": "X", "actions": [{"type": "bonus", "points": 0}]}


@pytest.mark.parametrize(
    ("path", "value", "key_path", "message"),
    [
        (("colour",), "red", "colour",
         "colour: unknown key 'colour': allowed keys are slug, name"),
        (("rewards", 0, "cots_points"), 1, "rewards[0].cots_points",
         "did you mean 'cost_points'?"),
        (("theme", "color_primary"), "red", "theme.color_primary",
         "theme.color_primary: invalid value 'red': expected a colour like #1d4ed8"),
        (("theme", "font_body"), "x; }</style>", "theme.font_body", "invalid value 'x; }</style>'"),
        (("theme", "radius"), "3", "theme.radius", "expected a CSS length"),
        (("rewards", 1, "cost_points"), -5, "rewards[1].cost_points",
         "rewards[1].cost_points: invalid value -5: expected a whole number of points, 1 or more"),
        (("rewards", 0, "stock"), -1, "rewards[0].stock", "invalid value -1"),
        (("rewards", 0, "valid_from"), "2025-01-01", "rewards[0].valid_from",
         "expected an ISO 8601 date and time with a UTC offset"),
        (("rewards", 2, "code"), "free-album", "rewards[2].code",
         "duplicate code 'free-album': rewards[0] has it already"),
        (("rewards", 0, "name"), {"es": "Álbum"}, "rewards[0].name",
         "missing the text in the default locale en_US"),
        (("rewards", 0, "name", "fr"), "Album", "rewards[0].name.fr",
         "locale 'fr' is not enabled for this brand"),
        (("locales", 1), "xx_QQ", "locales[1]", "locales[1]: unknown locale 'xx_QQ'"),
        (("locale",), False, "locale", "quote the value"),
        (("currency",), "EURO", "currency", "currency: unknown currency 'EURO'"),
        (("timezone",), "Mars/Base", "timezone", "unknown timezone 'Mars/Base'"),
        (("slug",), "Bad Slug", "slug", "invalid slug 'Bad Slug'"),
        (("earn_rules", 0), BAD_RULE, "earn_rules[0].actions[0].points",
         "earn_rules[0].actions[0].points: invalid value 0"),
        (("earn_rules", 1, "code"), "base-points", "earn_rules[1].code", "invalid value"),
        (("earn_rules", 1, "conditions", "tiers"), ["gld"], "earn_rules[1].conditions.tiers[0]",
         "invalid value 'gld': expected a tier code of this manifest (bronze, silver, gold)"),
        (("tiers", 0, "threshold"), 10, "tiers", "no tier has threshold 0"),
        (("tiers", 1, "threshold"), 0, "tiers[1].threshold", "tiers[0] has the same threshold"),
        (("tiers", 1, "multiplier"), "0.5", "tiers[1].multiplier", "a decimal number from 1 to 10"),
        (("theme", "color_text"), None, "theme.color_text", "an unquoted # starts a YAML comment"),
        (("policies", "expiry"), {"mode": "fixed_months"}, "policies.expiry.months",
         "policies.expiry.months: missing"),
        (("policies", "expiry", "mode"), "sometimes", "policies.expiry.mode",
         "invalid value 'sometimes': expected one of never, fixed_months, inactivity_months"),
        (("policies", "tier_window_months"), 0, "policies.tier_window_months",
         "from 1 to 120, or null"),
        (("policies", "point_value"), "-1", "policies.point_value", "0 or more"),
    ],
)
def test_invalid_manifest_rejected(path, value, key_path, message):
    data = _set(demo_data(), path, value)
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data)
    assert caught.value.path == key_path
    assert message in str(caught.value)


def test_missing_key_named():
    data = demo_data()
    del data["rewards"][0]["cost_points"]
    with pytest.raises(ManifestError, match=r"rewards\[0\]\.cost_points: missing"):
        parse_manifest(data)


def test_source_prefixes_message():
    with pytest.raises(ManifestError, match=r"^music\.yaml: theme\.color_text: invalid"):
        parse_manifest(_set(demo_data(), ("theme", "color_text"), "#12"), source="music.yaml")


def test_yaml_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("slug: x\nname: [unclosed\nregion: eu\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=rf"{re.escape(str(path))}: invalid YAML at line \d+, column \d+"):
        load_manifest(path)


def test_duplicate_yaml_key_rejected(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("slug: a\nrewards: []\nrewards: []\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="line 3, column 1: duplicate key 'rewards'"):
        load_manifest(path)


# --- Command line ------------------------------------------------------------------------

@pytest.fixture
def run(runtime):
    info = ScriptInfo(create_app=lambda: create_app(runtime=runtime))

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj=info)

    return invoke


def test_cli_apply_reports(run):
    first = run("brands", "apply", str(TENANTS / "cafe.yaml"))
    second = run("brands", "apply", str(TENANTS / "cafe.yaml"))
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("created brand cafe-krone\n")
    assert "  reward free-coffee: created\n" in first.stdout
    assert second.stdout == "brand cafe-krone is up to date\n"


def test_cli_apply_prints_updates(run, tmp_path):
    run("brands", "apply", str(TENANTS / "cafe.yaml"))
    changed = tmp_path / "cafe.yaml"
    text = (TENANTS / "cafe.yaml").read_text(encoding="utf-8")
    changed.write_text(text.replace("cost_points: 50\n", "cost_points: 60\n"), encoding="utf-8")
    result = run("brands", "apply", str(changed))
    assert result.stdout == "updated brand cafe-krone\n  reward free-coffee: cost_points 50 -> 60\n"


def test_cli_apply_invalid_exits_1(run, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text((TENANTS / "cafe.yaml").read_text(encoding="utf-8").replace(
        '"#6f4e37"', "brown"), encoding="utf-8")
    result = run("brands", "apply", str(path))
    assert result.exit_code == 1
    assert "theme.color_primary: invalid value 'brown'" in result.output
