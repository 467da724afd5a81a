"""The installable app: a web manifest per brand and a service worker for offline use.

The service worker keeps the last copy of the home page and the member card, so a member
can still show their balance and card at a till without a connection.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request, url_for

from saas.tenancy.manifests import validate_theme_tokens
from saas.tenancy.settings import get_setting
from saas.web.policy import PUBLIC, allow
from saas.web.tenant import brand_db

bp = Blueprint("portal_pwa", __name__)

DEFAULT_PRIMARY = "#1d4ed8"
DEFAULT_SURFACE = "#ffffff"

SERVICE_WORKER = """\
// Network first; the last good copy of each page answers when the network fails.
const CACHE = "tessera-pages-v1";
const OFFLINE_PAGES = ["HOME", "CARD"];

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") {
    event.waitUntil(caches.delete(CACHE));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const path = new URL(request.url).pathname;
  const keep = OFFLINE_PAGES.includes(path) || path.startsWith("STATIC");
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (keep && response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request).then((cached) => cached || Response.error()))
  );
});
"""


def _tokens() -> dict[str, str]:
    return validate_theme_tokens(get_setting(brand_db(), "theme.tokens"))


@bp.get("/manifest.webmanifest")
@allow(PUBLIC)
def manifest():
    tokens = _tokens()
    root = request.script_root + "/"
    data = {
        "name": g.brand.name,
        "short_name": g.brand.name[:12],
        "start_url": root,
        "scope": root,
        "display": "standalone",
        "theme_color": tokens.get("color_primary", DEFAULT_PRIMARY),
        "background_color": tokens.get("color_surface", DEFAULT_SURFACE),
        "lang": g.brand.default_locale.replace("_", "-"),
        "icons": [{"src": url_for("portal_pwa.icon"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/icon.svg")
@allow(PUBLIC)
def icon():
    """Serve a square icon with the brand's initial on its primary colour."""
    tokens = _tokens()
    initial = (g.brand.name.strip()[:1] or "T").upper()
    escaped = initial.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    background = tokens.get("color_primary", DEFAULT_PRIMARY)
    foreground = tokens.get("color_on_primary", "#ffffff")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
        f'<rect width="512" height="512" rx="96" fill="{background}"/>'
        '<text x="256" y="330" font-size="280" text-anchor="middle" font-family="sans-serif" '
        f'fill="{foreground}">{escaped}</text></svg>'
    )
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/sw.js")
@allow(PUBLIC)
def service_worker():
    body = (SERVICE_WORKER
            .replace('"HOME"', json.dumps(url_for("portal.home")))
            .replace('"CARD"', json.dumps(url_for("portal.card")))
            .replace('"STATIC"', json.dumps(request.script_root + "/static/")))
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = request.script_root + "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
