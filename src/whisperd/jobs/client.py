"""A small HTTP client for the jobs API (``whisperd submit``), on urllib alone.

It submits a file, follows the job by polling (calling back with each job object,
so the CLI can draw a progress bar) and fetches the result. HTTP errors come back
as whisperd exceptions carrying the server's message.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from whisperd.errors import (
    InvalidRequest,
    JobNotFound,
    JobStateError,
    ServiceUnavailable,
    Unauthorized,
    WhisperdError,
)

TIMEOUT_S = 60.0
POLL_S = 1.0


class JobClient:
    def __init__(self, base_url: str, *, api_key: str | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, *, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.api_key:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            raise _error_from(e) from None
        except (urllib.error.URLError, OSError) as e:
            raise ServiceUnavailable(f"Cannot reach {self.base_url}: {e}") from e

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body, _ = self._request(method, path, **kwargs)
        return dict(json.loads(body))

    def submit(self, path: Path, fields: Mapping[str, str], *,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """POST the file as a new job; the job object."""
        body, content_type = _multipart(path, fields)
        headers = {"Content-Type": content_type}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self._json("POST", "/v1/jobs", body=body, headers=headers)

    def get(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"/v1/jobs/{urllib.parse.quote(job_id)}")

    def wait(self, job_id: str, *, on_update: Callable[[dict[str, Any]], None] | None = None,
             poll_s: float = POLL_S, timeout_s: float | None = None) -> dict[str, Any]:
        """Poll until the job finished; its last job object."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if on_update is not None:
                on_update(job)
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise ServiceUnavailable(f"Job {job_id} still {job['status']} after waiting.")
            time.sleep(poll_s)

    def result(self, job_id: str, fmt: str = "json") -> str:
        query = urllib.parse.urlencode({"format": fmt})
        body, _ = self._request("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}/result?{query}")
        return body.decode("utf-8")


def _multipart(path: Path, fields: Mapping[str, str]) -> tuple[bytes, str]:
    boundary = "whisperd-" + secrets.token_hex(12)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode())
    filename = path.name.replace('"', "_")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: {mimetype}\r\n\r\n'.encode())
    parts.append(path.read_bytes())
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _error_from(e: urllib.error.HTTPError) -> WhisperdError:
    try:
        payload = json.loads(e.read())
        error = payload.get("error") or {}
        message = error.get("message") or payload.get("detail") or e.reason
    except (ValueError, AttributeError):
        message = str(e.reason)
    message = f"HTTP {e.code}: {message}"
    if e.code == 401:
        return Unauthorized(message)
    if e.code == 404:
        return JobNotFound(message)
    if e.code == 409:
        return JobStateError(message)
    if e.code in (429, 502, 503, 504):
        return ServiceUnavailable(message)
    if 400 <= e.code < 500:
        return InvalidRequest(message)
    return WhisperdError(message)
