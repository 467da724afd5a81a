"""WCAG 2.1 contrast ratios of the base theme's and the demo brands' colour tokens.

A brand's tokens override the custom properties of themes/base/static/css/base.css, so each
theme is checked with the base values filled in. The pairs are those the stylesheet draws
text or focus rings with; the fixed error and success colours are checked on each surface.
"""

import re
from pathlib import Path

import pytest

from saas.tenancy.manifests import load_manifest

ROOT = Path(__file__).resolve().parents[2]
BASE_CSS = ROOT / "themes" / "base" / "static" / "css" / "base.css"
THEMES = ["base", *sorted(path.stem for path in (ROOT / "tenants").glob("*.yaml"))]

# (foreground token or fixed colour, background token, minimum ratio). 4.5:1 is the level
# AA minimum for normal text (success criterion 1.4.3); 3:1 is the minimum for focus
# indicators and other graphical objects (1.4.11).
PAIRS = [
    ("color_text", "color_surface", 4.5),
    ("color_muted", "color_surface", 4.5),
    ("color_on_primary", "color_primary", 4.5),
    ("color_primary", "color_surface", 3.0),
    ("#991b1b", "color_surface", 4.5),
    ("#166534", "color_surface", 4.5),
]


def base_tokens() -> dict[str, str]:
    css = BASE_CSS.read_text(encoding="utf-8")
    root = re.search(r":root \{(.*?)\}", css, re.S).group(1)
    return {name.replace("-", "_"): value.strip()
            for name, value in re.findall(r"--([\w-]+):\s*([^;]+);", root)}


def theme(name: str) -> dict[str, str]:
    tokens = base_tokens()
    if name != "base":
        tokens.update(load_manifest(ROOT / "tenants" / f"{name}.yaml").theme)
    return tokens


def luminance(colour: str) -> float:
    """Return the relative luminance of a #rgb or #rrggbb colour (WCAG 2.1 definition)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = []
    for i in (0, 2, 4):
        value = int(digits[i:i + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", "#ffffff") == pytest.approx(1.0)


@pytest.mark.parametrize("name", THEMES)
@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_theme_colours_meet_aa(name, foreground, background, minimum):
    tokens = theme(name)
    front = tokens.get(foreground, foreground)
    back = tokens[background]

    ratio = contrast(front, back)

    assert ratio >= minimum, (
        f"{name}: {foreground} {front} on {background} {back} has contrast {ratio:.2f}:1, "
        f"below {minimum}:1")
