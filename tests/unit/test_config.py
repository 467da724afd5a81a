from pathlib import Path

import pytest

from saas.config import ConfigError, load_settings

VALID = {
    "TESSERA_DATABASE_URL": "postgresql://postgres@127.0.0.1/tessera",
    "TESSERA_REGIONS": "eu=postgresql://postgres@127.0.0.1/tessera_eu_{brand},"
    "us=postgresql://postgres@127.0.0.1/tessera_us_{brand}",
    "TESSERA_DEFAULT_REGION": "eu",
    "TESSERA_SECRET_KEY": "x" * 40,
    "TESSERA_BASE_DOMAIN": "Loyalty.Example.com",
}


def environ(tmp_path: Path, **changes) -> dict:
    values = {**VALID, "TESSERA_INSTANCE_PATH": str(tmp_path / "none")}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def test_valid_environment_loads(tmp_path):
    settings = load_settings(environ(tmp_path))
    assert settings.default_region == "eu"
    assert settings.base_domain == "loyalty.example.com"
    assert settings.brand_database_url("us", "shop") == "postgresql://postgres@127.0.0.1/tessera_us_shop"


def test_settings_are_read_only(tmp_path):
    settings = load_settings(environ(tmp_path))
    with pytest.raises(AttributeError):
        settings.env = "production"
    with pytest.raises(TypeError):
        settings.regions["xx"] = "sqlite:///{brand}"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TESSERA_DATABASE_URL", None, "TESSERA_DATABASE_URL is missing"),
        ("TESSERA_DATABASE_URL", "mysql://x/y", "expected a postgresql:// or sqlite:// URL"),
        ("TESSERA_REGIONS", "eu", "expected name=url-template"),
        ("TESSERA_REGIONS", "eu=sqlite:///x.db", "lacks {brand}"),
        ("TESSERA_REGIONS", "EU=sqlite:///{brand}.db", "region name 'EU'"),
        ("TESSERA_DEFAULT_REGION", "mars", "TESSERA_DEFAULT_REGION='mars' is not one of"),
        ("TESSERA_SECRET_KEY", "short", "TESSERA_SECRET_KEY is too short"),
        ("TESSERA_BASE_DOMAIN", "https://x.com", "TESSERA_BASE_DOMAIN='https://x.com'"),
        ("TESSERA_ENV", "staging", "TESSERA_ENV='staging' is invalid"),
        ("TESSERA_TRUSTED_PROXIES", "two", "TESSERA_TRUSTED_PROXIES='two' is not a whole number"),
        ("TESSERA_TRUSTED_PROXIES", "-1", "out of range"),
        ("TESSERA_REDIS_URL", "localhost:6379", "TESSERA_REDIS_URL='localhost:6379' is invalid"),
    ],
)
def test_invalid_setting_named_in_error(tmp_path, variable, value, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ(tmp_path, **{variable: value}))
    assert expected in str(caught.value)


def test_environment_overrides_instance_file(tmp_path):
    (tmp_path / "settings.json").write_text(
        '{"TESSERA_DATABASE_URL": "sqlite:///a.db", "TESSERA_REGIONS": "eu=sqlite:///{brand}.db",'
        ' "TESSERA_SECRET_KEY": "%s", "TESSERA_BASE_DOMAIN": "localhost"}' % ("k" * 40)
    )
    settings = load_settings({"TESSERA_INSTANCE_PATH": str(tmp_path),
                              "TESSERA_BASE_DOMAIN": "example.org"})
    assert settings.database_url == "sqlite:///a.db"
    assert settings.base_domain == "example.org"


def test_production_flag(tmp_path):
    assert load_settings(environ(tmp_path, TESSERA_ENV="production")).is_production
