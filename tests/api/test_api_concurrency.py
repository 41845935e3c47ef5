"""Concurrency limits over real HTTP: N run, M wait, the rest get 429 + Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from live_server import serve

from whisperd.app import create_app
from whisperd.server import gunicorn_options
from whisperd.services import EXTENSION_KEY

LONG = "en_long_multispeaker_concat"


@pytest.fixture(scope="module")
def limited(settings, engine, tmp_path_factory) -> Iterator[tuple[str, object]]:
    limited_settings = settings.replace(data_dir=tmp_path_factory.mktemp("limited-data"),
                                        max_concurrency=1, max_queue=1, inprocess_worker=False)
    app = create_app(limited_settings, engine=engine)
    with serve(app) as url:
        yield url, app.extensions[EXTENSION_KEY].limiter


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_one_runs_one_waits_the_third_gets_429(limited, recording) -> None:
    url, limiter = limited
    audio = recording(LONG).read_bytes()
    results: dict[str, requests.Response] = {}

    def post(name: str) -> None:
        results[name] = requests.post(url + "/v1/audio/transcriptions", timeout=600,
                                      data={"model": "tiny.en"}, files={"file": ("a.flac", audio)})

    first = threading.Thread(target=post, args=("first",))
    first.start()
    _wait_for(lambda: limiter.admitted == 1)
    second = threading.Thread(target=post, args=("second",))
    second.start()
    _wait_for(lambda: limiter.admitted == 2)

    refused = requests.post(url + "/v1/audio/transcriptions", data={"model": "tiny.en"},
                            files={"file": ("a.flac", audio)}, timeout=60)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "server_busy"
    # /health is not a transcription: it answers at once while both slots are taken.
    assert requests.get(url + "/health", timeout=5).status_code == 200

    first.join(timeout=600)
    second.join(timeout=600)
    assert results["first"].status_code == 200 and results["second"].status_code == 200
    assert limiter.admitted == 0


def test_production_server_holds_requests_for_an_hour(settings) -> None:
    options = gunicorn_options(settings)
    assert options["timeout"] >= 3600 and options["graceful_timeout"] >= 3600
    assert options["worker_class"] == "gthread" and options["workers"] == 1
    # Always a free thread to accept a connection (and answer /health) beyond the
    # transcriptions that may run or wait.
    assert options["threads"] > settings.max_concurrency + settings.max_queue
