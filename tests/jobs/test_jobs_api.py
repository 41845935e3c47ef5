"""/v1/jobs over HTTP (Flask test client) with an in-process worker and the real model.

The app here is the jobs blueprint alone, with the lead's error handlers, so these
tests need neither the other APIs nor a model load of their own: the worker uses
the session ``engine`` (tiny.en).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from procs import wait_until  # tests/jobs/procs.py

from whisperd.api.errors import register_error_handlers
from whisperd.api.jobs import create_jobs_blueprint
from whisperd.engine.limiter import ConcurrencyLimiter
from whisperd.jobs import store as js
from whisperd.jobs.maintenance import Maintenance
from whisperd.jobs.service import JobService
from whisperd.services import EXTENSION_KEY, Services
from whisperd.settings import Settings

JFK = "en_jfk_inaugural"


def make_app(settings: Settings, engine: Any, jobs: JobService) -> Flask:
    app = Flask(__name__)
    app.extensions[EXTENSION_KEY] = Services(
        settings=settings, engine=engine, limiter=ConcurrencyLimiter(1, 1), jobs=jobs,
        api_keys=frozenset())
    register_error_handlers(app)
    app.register_blueprint(create_jobs_blueprint())
    return app


@pytest.fixture
def job_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(data_dir=tmp_path / "data", callback_allow_private=True)


@pytest.fixture
def jobs(job_settings: Settings, engine: Any) -> Iterator[JobService]:
    service = JobService.from_settings(job_settings, engine=engine)
    yield service
    service.close()


@pytest.fixture
def client(job_settings: Settings, engine: Any, jobs: JobService):
    return make_app(job_settings, engine, jobs).test_client()


def post_job(client, audio: bytes, filename: str = "a.flac", headers=None, **fields: str):
    data = {"file": (io.BytesIO(audio), filename), **fields}
    return client.post("/v1/jobs", data=data, content_type="multipart/form-data",
                       headers=headers or {})


def wait_finished(client, job_id: str, timeout_s: float = 120) -> dict:
    return wait_until(lambda: (j := client.get(f"/v1/jobs/{job_id}").get_json())["status"]
                      in ("succeeded", "failed", "cancelled") and j, timeout_s, job_id)


def test_submit_follow_fetch_list_and_idempotency(client, jobs: JobService,
                                                  recording) -> None:
    audio = recording(JFK).read_bytes()
    response = post_job(client, audio, "jfk.flac", model="tiny.en",
                        headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["object"] == "transcription.job" and job["status"] == "queued"
    assert job["model"] == "tiny.en" and job["filename"] == "jfk.flac"
    assert job["result_url"] == f"/v1/jobs/{job['id']}/result"
    # Same key, same audio and options: the same job, not a second one.
    again = post_job(client, audio, "jfk.flac", model="tiny.en",
                     headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again.get_json()["id"] == job["id"]

    jobs.start_worker(["tiny.en"])
    done = wait_finished(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0 and done["duration"] == pytest.approx(11.0, abs=0.1)
    assert done["attempts"] == 1 and done["language"] == "en"
    assert done["started_at"] is not None and done["finished_at"] >= done["started_at"]

    played = client.get(f"/v1/jobs/{job['id']}/audio")
    assert played.status_code == 200 and played.data == audio
    assert played.headers["X-Content-Type-Options"] == "nosniff"

    listing = client.get("/v1/jobs?limit=1").get_json()
    assert listing["object"] == "list" and [j["id"] for j in listing["data"]] == [job["id"]]
    assert listing["has_more"] is False

    result = client.get(f"/v1/jobs/{job['id']}/result")
    assert result.status_code == 200
    assert "ask not what your country" in result.get_json()["text"].lower()
    srt = client.get(f"/v1/jobs/{job['id']}/result?format=srt")
    assert srt.status_code == 200 and "-->" in srt.get_data(as_text=True)
    assert client.get(f"/v1/jobs/{job['id']}/result?format=docx").status_code == 400


@pytest.mark.parametrize("path", [
    "/v1/jobs/job_00000000000000000000000000000000",
    "/v1/jobs/not-a-job",
    "/v1/jobs/job_00000000000000000000000000000000/result",
    "/v1/jobs/../../etc/passwd/audio",
    "/v1/jobs/job_00000000000000000000000000000000/audio",
])
def test_bad_job_ids_are_404_json(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] in ("job_not_found", "not_found")
    deleted = client.delete("/v1/jobs/job_00000000000000000000000000000000")
    assert deleted.status_code == 404 and deleted.get_json()["error"]["code"] == "job_not_found"


@pytest.mark.parametrize("fields, status, param", [
    ({"task": "dance"}, 400, "task"),
    ({"temperature": "7"}, 400, "temperature"),
    ({"temperature": "warm"}, 400, "temperature"),
    ({"language": "klingon"}, 400, "language"),
    ({"model": "no-such-model"}, 404, "model"),
    ({"vad_filter": "maybe"}, 400, "vad_filter"),
    ({"denoise": "maybe"}, 400, "denoise"),
    ({"timestamp_granularities[]": "char"}, 400, "timestamp_granularities"),
    ({"callback_url": "ftp://example.com/cb"}, 400, "callback_url"),
    ({"callback_url": "not a url"}, 400, "callback_url"),
])
def test_bad_options_are_refused_at_submission(client, jobs: JobService, recording,
                                               fields: dict, status: int, param: str) -> None:
    response = post_job(client, recording(JFK).read_bytes(), **fields)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["param"] == param
    assert jobs.store.count_by_status()[js.QUEUED] == 0  # nothing was accepted


def test_private_callback_refused_unless_allowed(settings: Settings, engine: Any,
                                                 tmp_path: Path, recording) -> None:
    strict = settings.replace(data_dir=tmp_path / "strict", callback_allow_private=False)
    service = JobService.from_settings(strict, engine=engine)
    try:
        client = make_app(strict, engine, service).test_client()
        for url in ("http://127.0.0.1:9/cb", "http://localhost/cb", "http://10.1.2.3/",
                    "http://169.254.169.254/latest/meta-data", "http://[::1]/"):
            response = post_job(client, recording(JFK).read_bytes(), callback_url=url)
            assert response.status_code == 400, url
            assert response.get_json()["error"]["param"] == "callback_url"
    finally:
        service.close()


def test_missing_file_and_bad_paging(client) -> None:
    response = client.post("/v1/jobs", data={"model": "tiny.en"},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "file"
    assert client.get("/v1/jobs?limit=0").status_code == 400
    assert client.get("/v1/jobs?offset=-1").status_code == 400


def test_cancel_queued_job_and_state_conflicts(client, recording) -> None:
    job = post_job(client, recording(JFK).read_bytes(), model="tiny.en").get_json()
    pending = client.get(f"/v1/jobs/{job['id']}/result")
    assert pending.status_code == 409
    assert pending.get_json()["error"]["code"] in ("job_not_finished", "job_state_conflict")
    cancelled = client.delete(f"/v1/jobs/{job['id']}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = client.delete(f"/v1/jobs/{job['id']}")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] in ("job_finished", "job_state_conflict")
    assert client.get(f"/v1/jobs/{job['id']}/result").status_code == 409


def test_retention_deletes_finished_jobs_and_their_audio(job_settings: Settings, engine: Any,
                                                         recording) -> None:
    short = job_settings.replace(job_retention_s=0.2)
    service = JobService.from_settings(short, engine=engine)
    client = make_app(short, engine, service).test_client()
    try:
        old = post_job(client, recording(JFK).read_bytes()).get_json()
        client.delete(f"/v1/jobs/{old['id']}")
        waiting = post_job(client, recording(JFK).read_bytes()).get_json()
        time.sleep(0.3)
        Maintenance(service.store, service.queues, short).run_once()
        assert client.get(f"/v1/jobs/{old['id']}").status_code == 404
        assert client.get(f"/v1/jobs/{old['id']}/audio").status_code == 404
        # Unfinished jobs are kept, however old.
        assert client.get(f"/v1/jobs/{waiting['id']}").get_json()["status"] == "queued"
    finally:
        service.close()


class _Receiver:
    """A real HTTP server on loopback that answers 503 first, then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(503 if len(receiver.bodies) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_callback_is_delivered_with_the_result_after_a_retry(client, jobs: JobService,
                                                             recording) -> None:
    receiver = _Receiver()
    jobs.callbacks.first_backoff_s = 0.05
    try:
        job = post_job(client, recording(JFK).read_bytes(), model="tiny.en",
                       callback_url=receiver.url).get_json()
        jobs.start_worker(["tiny.en"])
        wait_until(lambda: len(receiver.bodies) >= 2, 120, "two callback attempts")
    finally:
        receiver.close()
    delivered = receiver.bodies[-1]
    assert delivered["id"] == job["id"] and delivered["status"] == "succeeded"
    assert "ask not what your country" in delivered["result"]["text"].lower()
    assert delivered["result"]["segments"]  # verbose_json
    assert receiver.bodies[0] == delivered  # the retry sends the same body
