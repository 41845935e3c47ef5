"""Job callbacks: POST the finished job to the client's ``callback_url``.

A callback URL makes the server send a request where the client says, so it is
checked like any server-side request forgery vector: http/https only, and every
address the host resolves to must be a public one (no loopback, private,
link-local, multicast or reserved range) unless settings.callback_allow_private.
It is checked at submission (a 400 then) and again before each delivery, because
DNS answers can change. Redirects are not followed: a redirect to 127.0.0.1
would undo the check.

Delivery uses urllib (no extra runtime dependency), on a daemon thread per
callback so that a slow receiver never holds up a worker, and retries with
exponential backoff on network errors, 429 and 5xx.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from whisperd.errors import InvalidRequest

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
DELIVERY_ATTEMPTS = 5
FIRST_BACKOFF_S = 2.0  # then 4, 8, 16 s
REQUEST_TIMEOUT_S = 10.0


def validate_callback_url(url: str, *, allow_private: bool) -> str:
    """The URL itself if whisperd may POST to it, else InvalidRequest (param callback_url)."""
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"callback_url is longer than {MAX_URL_LENGTH} characters")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _invalid("callback_url must be an http:// or https:// URL")
    if not parts.hostname:
        raise _invalid("callback_url has no host")
    if parts.username or parts.password:
        raise _invalid("callback_url must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _invalid("callback_url has an invalid port") from None
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise _invalid(f"callback_url host {parts.hostname!r} cannot be resolved: {e}") from e
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not _is_public(address):
            raise _invalid(
                f"callback_url host {parts.hostname!r} resolves to {address}, a loopback, "
                "private, link-local or reserved address; callbacks there are not allowed"
            )
    return url


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_loopback or address.is_private or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified
    )


def _invalid(message: str) -> InvalidRequest:
    return InvalidRequest(message, param="callback_url")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError: not delivered


class CallbackSender:
    """Delivers callbacks in the background; ``join()`` waits for those in flight."""

    def __init__(self, *, allow_private: bool, attempts: int = DELIVERY_ATTEMPTS,
                 first_backoff_s: float = FIRST_BACKOFF_S) -> None:
        self.allow_private = allow_private
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def send(self, url: str, payload: dict[str, Any]) -> None:
        thread = threading.Thread(target=self._deliver_logged, args=(url, payload),
                                  name="whisperd-callback", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _deliver_logged(self, url: str, payload: dict[str, Any]) -> None:
        try:
            self.deliver(url, payload)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def deliver(self, url: str, payload: dict[str, Any]) -> bool:
        """POST ``payload`` as JSON; True once a 2xx came back."""
        body = json.dumps(payload).encode("utf-8")
        job_id = payload.get("id")
        delay = self.first_backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                validate_callback_url(url, allow_private=self.allow_private)
            except InvalidRequest as e:
                log.warning("callback for %s not sent: %s", job_id, e.message)
                return False
            request = urllib.request.Request(
                url, data=body, method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "whisperd"},
            )
            try:
                with self._opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                    status = response.status
            except urllib.error.HTTPError as e:
                status = e.code
            except (urllib.error.URLError, OSError) as e:
                status = None
                log.info("callback for %s, attempt %d: %s", job_id, attempt, e)
            if status is not None and 200 <= status < 300:
                log.info("callback for %s delivered (HTTP %d)", job_id, status)
                return True
            if status is not None and status < 500 and status != 429:
                log.warning("callback for %s refused with HTTP %d; not retrying", job_id, status)
                return False
            if attempt < self.attempts and self._stopping.wait(delay):
                break
            delay *= 2
        log.warning("callback for %s not delivered after %d attempts", job_id, attempt)
        return False

    def join(self, timeout_s: float) -> None:
        """Stop retrying and wait up to ``timeout_s`` for deliveries in flight."""
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
