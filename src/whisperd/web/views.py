"""The web page for people: one HTML page plus its static assets, nothing else.

The page is a client of the public JSON API (docs/api-contract.md) and holds no
server-side state, so this blueprint needs neither the engine nor the job store.
Every asset is served from here: the page must work on a machine without internet,
and the Content-Security-Policy below makes the browser refuse anything else.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template

from whisperd.languages import LANGUAGES

logger = logging.getLogger(__name__)

# Under /static/ (which stays open when API keys are on) but apart from any
# app-level static folder, so the two can never shadow each other.
STATIC_URL_PATH = "/static/web"

# Only this origin: no CDN, no outside fonts, no inline script. blob: lets the
# <audio> player use the object URL of a local file or of fetched audio, and
# downloads use blob URLs too.
_CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY = "; ".join(_CSP_DIRECTIVES)


def language_choices() -> list[tuple[str, str]]:
    """(code, display name) pairs sorted by name, for the language <select>."""
    return sorted(
        ((code, name.title()) for code, name in LANGUAGES.items()),
        key=lambda pair: pair[1],
    )


def create_web_blueprint() -> Blueprint:
    bp = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path=STATIC_URL_PATH,
    )

    @bp.get("/")
    def index() -> Response:
        body = render_template("whisperd/index.html", languages=language_choices())
        response = Response(body, mimetype="text/html")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        # The page embeds no secrets, but the API key field should never be cached
        # with a stale script next to it after an upgrade.
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return bp
