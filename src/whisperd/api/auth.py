"""API keys: ``Authorization: Bearer KEY`` on every API route once keys are configured.

Keys are compared with hmac.compare_digest against every configured key (no early
exit), so response time says nothing about how much of a key was right. Keys are
never logged.
"""

from __future__ import annotations

import hmac

from flask import request

from whisperd.errors import Unauthorized

# Open without a key: the health probe, the web page and its assets (the page asks
# for the key and sends it on its API calls).
OPEN_PATHS = ("/health",)
OPEN_PREFIXES = ("/static/",)
OPEN_EXACT = ("/", "/favicon.ico")


def require_api_key(keys: frozenset[str]) -> None:
    """before_request hook: raise Unauthorized unless the request carries a valid key."""
    if not keys or request.method == "OPTIONS":
        return
    path = request.path
    if path in OPEN_PATHS or path in OPEN_EXACT or path.startswith(OPEN_PREFIXES):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise Unauthorized(
            "Missing API key: send it as 'Authorization: Bearer YOUR_KEY'.", param=None)
    if not key_matches(supplied.strip(), keys):
        raise Unauthorized("Incorrect API key provided.")


def key_matches(supplied: str, keys: frozenset[str]) -> bool:
    supplied_bytes = supplied.encode("utf-8")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(supplied_bytes, key.encode("utf-8"))
    return matched
