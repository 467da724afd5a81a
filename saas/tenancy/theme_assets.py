"""Checks of the theme tokens that are not plain CSS values: the logo and the font stacks.

Each check returns the clean value or raises ValueError whose message states what is allowed
and why the value is not; the manifest validation adds the key path and the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from xml.etree import ElementTree

MAX_LOGO_BYTES = 64 * 1024
LOGO_RULE = (f"a PNG, JPEG, WebP or SVG image of at most {MAX_LOGO_BYTES // 1024} KiB as a "
             "base64 data URI, such as data:image/png;base64,iVBORw0KGgo...")
DATA_URI = re.compile(r"data:(image/(?:png|jpeg|webp|svg\+xml));base64,([A-Za-z0-9+/=\s]+)")
# The file signatures of PNG, JPEG and WebP (a RIFF container with the form type WEBP).
RASTER_SIGNATURES = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
}
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
# Elements that run code or embed other documents.
SVG_FORBIDDEN_ELEMENTS = {"script", "foreignObject", "iframe", "embed", "object", "handler"}

MAX_FONT_STACK = 200
MAX_FONT_FAMILIES = 10
# The generic font families of CSS, which every browser maps to an installed font.
GENERIC_FAMILIES = (
    "serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-serif",
    "ui-sans-serif", "ui-monospace", "ui-rounded", "math", "emoji", "fangsong",
)
QUOTED_FAMILY = re.compile(r"""'(?:[^\W_]|[ -]){1,64}'|"(?:[^\W_]|[ -]){1,64}\"""")
UNQUOTED_FAMILY = re.compile(r"-?[^\W\d_][\w-]*(?: -?[^\W\d_][\w-]*)*")
FONT_RULE = (
    f"a list of at most {MAX_FONT_FAMILIES} font families separated by commas, each a name "
    "of letters, digits, spaces and hyphens (in quotes when a word starts with a digit), "
    f"ending with a generic family ({', '.join(GENERIC_FAMILIES)}), such as "
    "\"'Noto Sans JP', sans-serif\"")


def check_logo(value: object) -> str:
    """Return a logo data URI whose content matches its declared image type."""
    if not isinstance(value, str):
        raise ValueError(LOGO_RULE)
    match = DATA_URI.fullmatch(value.strip())
    if match is None:
        raise ValueError(LOGO_RULE)
    media_type, payload = match.groups()
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{LOGO_RULE} (the base64 text is invalid)") from None
    if len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"{LOGO_RULE} (this image has {len(data)} bytes)")
    if media_type == "image/svg+xml":
        problem = _svg_problem(data)
        if problem:
            raise ValueError(f"{LOGO_RULE} ({problem})")
    elif not RASTER_SIGNATURES[media_type](data):
        raise ValueError(f"{LOGO_RULE} (the data is not of the type {media_type})")
    clean_payload = base64.b64encode(data).decode("ascii")
    return f"data:{media_type};base64,{clean_payload}"


def _svg_problem(data: bytes) -> str | None:
    """Return why an SVG document is not a safe static image, or None when it is."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "the SVG is not UTF-8 text"
    # Entity declarations can expand to huge documents, so a DTD is rejected before parsing.
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        return "the SVG has a DOCTYPE or entity declaration"
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD, so no entity expansion
    except ElementTree.ParseError as exc:
        return f"the SVG is not well-formed XML: {exc}"
    if root.tag != f"{SVG_NAMESPACE}svg":
        return "the document is not an SVG image"
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        if name in SVG_FORBIDDEN_ELEMENTS:
            return f"the SVG contains a {name} element"
        for attribute, attribute_value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1]
            if local.lower().startswith("on"):
                return f"the SVG has an event handler attribute {local}"
            if local == "href" and not attribute_value.startswith("#"):
                return (f"the SVG links to {attribute_value[:40]!r}, "
                        "but only #fragment links are allowed")
        if _loads_external(element.text or "") or any(
                _loads_external(v) for v in element.attrib.values()):
            return "the SVG loads an external resource or uses javascript:"
    return None


def _loads_external(text: str) -> bool:
    lowered = text.lower()
    if "javascript:" in lowered or "@import" in lowered:
        return True
    return any(not target.lstrip("'\" ").startswith("#")
               for target in re.findall(r"url\(([^)]*)\)", lowered))


def check_font_stack(value: object) -> str:
    """Return a CSS font-family list of known-safe names that ends with a generic family."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FONT_STACK:
        raise ValueError(FONT_RULE)
    families = [family.strip() for family in value.split(",")]
    if len(families) > MAX_FONT_FAMILIES:
        raise ValueError(f"{FONT_RULE} (this list has {len(families)} families)")
    for family in families:
        if not (QUOTED_FAMILY.fullmatch(family) or UNQUOTED_FAMILY.fullmatch(family)):
            raise ValueError(f"{FONT_RULE} (the family {family!r} is not allowed)")
    if families[-1] not in GENERIC_FAMILIES:
        raise ValueError(f"{FONT_RULE} (the list ends with {families[-1]!r})")
    return ", ".join(families)
