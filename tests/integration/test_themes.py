"""Brand themes: look-up order, design tokens, and templates kept away from secrets."""

import pytest

from saas.tenancy.settings import put_setting


@pytest.fixture
def override(runtime):
    """Write a brand override template into the instance folder."""
    def write(slug, name, text):
        path = runtime.settings.instance_path / "themes" / slug / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    return write


def test_brand_override_wins_over_base(make_brand, client, override):
    make_brand("alpha")
    make_brand("beta")
    override("alpha", "portal/welcome.html", '{% extends "layout.html" %}{% block main %}<h1>Alpha special</h1>{% endblock %}')

    alpha = client.get("/t/alpha/")
    beta = client.get("/t/beta/")

    assert b"Alpha special" in alpha.data
    assert b"Alpha special" not in beta.data
    assert b"Welcome to Beta" in beta.data


def test_override_extends_base_layout(make_brand, client, override):
    make_brand("alpha", name="Alpha Shop")
    override("alpha", "portal/welcome.html", '{% extends "layout.html" %}{% block main %}x{% endblock %}')
    assert b'class="brand-name">Alpha Shop<' in client.get("/t/alpha/").data


@pytest.mark.parametrize("probe", [
    "{{ config.SECRET_KEY }}",
    "{{ config }}",
    "{{ request.environ }}",
    "{{ g.brand_db }}",
    "{{ self.__init__.__globals__ }}",
    "{{ url_for.__globals__['current_app'].config['SECRET_KEY'] }}",
    "{{ brand.__class__.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ get_flashed_messages.__globals__ }}",
])
def test_template_cannot_reach_secret(runtime, make_brand, client, override, probe):
    make_brand("alpha")
    override("alpha", "portal/welcome.html", probe)
    response = client.get("/t/alpha/")
    assert runtime.settings.secret_key.encode() not in response.data
    assert b"postgresql" not in response.data
    assert b"sqlite" not in response.data


def test_theme_tokens_served_as_css(runtime, make_brand, client):
    make_brand("alpha")
    with runtime.brand_session("alpha") as session:
        put_setting(session, "theme.tokens", {"color_primary": "#7C3AED", "radius": "1rem"})
        session.commit()
    css = client.get("/t/alpha/theme.css")
    assert css.mimetype == "text/css"
    assert b"--color-primary: #7c3aed;" in css.data
    assert b"--radius: 1rem;" in css.data


def test_theme_css_leaves_out_logo(runtime, make_brand, client):
    make_brand("alpha")
    logo = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    with runtime.brand_session("alpha") as session:
        put_setting(session, "theme.tokens", {"font_heading": "Georgia, serif", "logo": logo})
        session.commit()
    css = client.get("/t/alpha/theme.css")
    assert b"--font-heading: Georgia, serif;" in css.data
    assert b"logo" not in css.data


def test_layout_links_brand_tokens(make_brand, client):
    make_brand("alpha")
    assert b'href="/t/alpha/theme.css"' in client.get("/t/alpha/").data
