"""The HTTP service as bench sees it: start it, wait for it, post audio to it.

``spawned_service`` runs the real ``whisperd serve`` (gunicorn) as a child process on
a free loopback port, so its memory is measured apart from the benchmark's own.
``inprocess_service`` serves an already built app from a thread (tests, which must
reuse the session's loaded engine). The client is the standard library's, so eval
needs no HTTP package at run time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from whisperd.errors import ServiceUnavailable
from whisperd.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from flask import Flask

TRANSCRIPTIONS = "/v1/audio/transcriptions"
START_TIMEOUT_S = 180.0  # model load on 2 busy cores can take a while
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Service:
    url: str  # http://host:port
    pid: int | None  # process doing the work, when known (for its memory)
    api_key: str | None = None


@dataclass(frozen=True)
class Reply:
    status: int
    seconds: float
    body: bytes


def post_audio(service: Service, wav: bytes, model: str, timeout_s: float = 3600.0) -> Reply:
    """POST a WAV to /v1/audio/transcriptions as OpenAI's client does (multipart)."""
    boundary = uuid.uuid4().hex
    fields = {"model": model, "response_format": "json"}
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="audio.wav"\r\nContent-Type: audio/wav\r\n\r\n').encode()
    body = head + wav + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if service.api_key:
        headers["Authorization"] = f"Bearer {service.api_key}"
    return _request(service, "POST", TRANSCRIPTIONS, body, headers, timeout_s)


def get(service: Service, path: str, timeout_s: float = 10.0) -> Reply:
    return _request(service, "GET", path, None, {}, timeout_s)


def wait_healthy(service: Service, timeout_s: float = START_TIMEOUT_S,
                 process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"whisperd serve exited with status {process.returncode}")
        with contextlib.suppress(OSError):
            if get(service, "/health", timeout_s=5.0).status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{service.url}/health did not answer 200 within {timeout_s:.0f} s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """WHISPERD_* variables that make a child process build these same settings."""
    env = {}
    for f in dataclasses.fields(settings):
        value: Any = getattr(settings, f.name)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, tuple):
            value = ",".join(value)
        env[ENV_PREFIX + f.name.upper()] = str(value)
    return env


@contextlib.contextmanager
def spawned_service(settings: Settings) -> Iterator[Service]:
    """`whisperd serve` on a free loopback port, healthy, stopped on exit."""
    port = free_port()
    child = settings.replace(host="127.0.0.1", port=port)
    # The child inherits PATH, HOME and the rest; only whisperd's own settings are forced.
    env = {**os.environ, **settings_env(child)}
    keys = sorted(child.load_api_keys())
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "whisperd", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        service = Service(f"http://127.0.0.1:{port}", process.pid, keys[0] if keys else None)
        try:
            wait_healthy(service, process=process)
            yield service
        except (RuntimeError, TimeoutError) as e:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            raise ServiceUnavailable(f"{e}; server output:\n{tail}") from e
        finally:
            _stop(process)


@contextlib.contextmanager
def inprocess_service(app: Flask, api_key: str | None = None) -> Iterator[Service]:
    """Serve ``app`` from a thread on a free loopback port (its memory is this process's)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
    thread.start()
    try:
        yield Service(f"http://127.0.0.1:{server.server_port}", os.getpid(), api_key)
    finally:
        server.shutdown()
        thread.join()


def _request(service: Service, method: str, path: str, body: bytes | None,
             headers: dict[str, str], timeout_s: float) -> Reply:
    parts = urlsplit(service.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=timeout_s)
    started = time.perf_counter()
    try:
        connection.request(method, parts.path.rstrip("/") + path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return Reply(response.status, time.perf_counter() - started, data)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def transcript_text(reply: Reply) -> str:
    """The "text" of a JSON transcription reply ("" when the reply is not one)."""
    try:
        return str(json.loads(reply.body).get("text", ""))
    except (ValueError, AttributeError):
        return ""
