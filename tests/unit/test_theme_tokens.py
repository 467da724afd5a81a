"""Theme token validation of the logo and the font stacks."""

import base64

import pytest
import segno

from saas.tenancy.manifests import ManifestError, validate_theme_tokens
from saas.tenancy.theme_assets import MAX_LOGO_BYTES

# File headers only: validation checks the signature of a raster image, not its pixels.
JPEG_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP_HEADER = b"RIFF\x24\x00\x00\x00WEBPVP8 "
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>'


def data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def rejection(tokens: dict) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        validate_theme_tokens(tokens)
    return caught.value


@pytest.mark.parametrize("logo", [
    segno.make("logo").png_data_uri(),
    data_uri("image/jpeg", JPEG_HEADER),
    data_uri("image/webp", WEBP_HEADER),
    data_uri("image/svg+xml", SVG),
])
def test_logo_of_allowed_type_accepted(logo):
    assert validate_theme_tokens({"logo": logo}) == {"logo": logo}


def test_logo_of_other_type_rejected():
    error = rejection({"logo": data_uri("image/gif", b"GIF89a")})
    assert error.path == "theme.logo"
    assert str(error).startswith("theme.logo: invalid value 'data:image/gif;base64,")
    assert "expected a PNG, JPEG, WebP or SVG image of at most 64 KiB" in str(error)


def test_logo_url_rejected():
    error = rejection({"logo": "https://cdn.example.com/logo.png"})
    assert "invalid value 'https://cdn.example.com/logo.png'" in str(error)
    assert "as a base64 data URI" in str(error)


def test_logo_content_must_match_type():
    error = rejection({"logo": data_uri("image/png", JPEG_HEADER)})
    assert "(the data is not of the type image/png)" in str(error)


def test_logo_over_size_limit_rejected():
    large = b"\x89PNG\r\n\x1a\n" + bytes(MAX_LOGO_BYTES)
    error = rejection({"logo": data_uri("image/png", large)})
    assert f"(this image has {MAX_LOGO_BYTES + 8} bytes)" in str(error)


def test_logo_invalid_base64_rejected():
    error = rejection({"logo": "data:image/png;base64,iVBOR=w0K"})
    assert "(the base64 text is invalid)" in str(error)


@pytest.mark.parametrize(("svg", "reason"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "the SVG contains a script element"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
     "the SVG has an event handler attribute onload"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
     b'<a x:href="javascript:alert(1)"><text>x</text></a></svg>',
     "only #fragment links are allowed"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
     "the SVG contains a foreignObject element"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.test/a.css);'
     b'</style></svg>', "the SVG loads an external resource"),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
     "the SVG has a DOCTYPE or entity declaration"),
    (b"<html><body/></html>", "the document is not an SVG image"),
    (b"<svg", "the SVG is not well-formed XML"),
])
def test_unsafe_svg_logo_rejected(svg, reason):
    error = rejection({"logo": data_uri("image/svg+xml", svg)})
    assert reason in str(error)


def test_svg_fragment_links_accepted():
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"/></defs>'
           b'<rect fill="url(#g)" width="10" height="10"/></svg>')
    logo = data_uri("image/svg+xml", svg)
    assert validate_theme_tokens({"logo": logo}) == {"logo": logo}


@pytest.mark.parametrize("fonts", [
    "'Noto Sans JP', 'Hiragino Sans', sans-serif",
    "Georgia, \"Times New Roman\", serif",
    "Inter, system-ui, sans-serif",
    "-apple-system, ui-monospace",
    "Noto Sans JP, sans-serif",
])
def test_font_stack_accepted(fonts):
    assert validate_theme_tokens({"font_body": fonts, "font_heading": fonts}) == {
        "font_body": fonts, "font_heading": fonts}


@pytest.mark.parametrize(("fonts", "reason"), [
    ("Inter", "(the list ends with 'Inter')"),
    ("Inter, 'sans-serif'", "(the list ends with \"'sans-serif'\")"),
    ("x; } body { color: red", "(the family 'x; } body { color: red' is not allowed)"),
    ("Font 1, sans-serif", "(the family 'Font 1' is not allowed)"),
    ("'It''s', serif", "is not allowed"),
    (", ".join(["A"] * 11), "(this list has 11 families)"),
])
def test_font_stack_rejected(fonts, reason):
    error = rejection({"font_heading": fonts})
    assert error.path == "theme.font_heading"
    assert reason in str(error)
    assert "expected a list of at most 10 font families" in str(error)


def test_font_stack_over_length_rejected():
    error = rejection({"font_body": "A" * 200 + ", serif"})
    assert "invalid value 'AAAA" in str(error)
    assert "ending with a generic family" in str(error)
