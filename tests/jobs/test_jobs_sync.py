"""JobService.run_sync (synchronous requests forwarded to workers), ping, and the queue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import AudioDecodeError, ModelNotFound, ServiceUnavailable
from whisperd.jobs import store as js
from whisperd.jobs.callbacks import validate_callback_url
from whisperd.jobs.queue import JsonSerializer
from whisperd.jobs.service import JobService
from whisperd.settings import Settings
from whisperd.transcript import Transcript


@pytest.fixture
def service(settings: Settings, engine: Any, tmp_path: Path) -> Iterator[JobService]:
    jobs = JobService.from_settings(settings.replace(data_dir=tmp_path / "data"), engine=engine)
    yield jobs
    jobs.close()


def test_run_sync_transcribes_on_a_worker_and_cleans_up(service: JobService,
                                                        recording) -> None:
    service.start_worker(["tiny.en", "base"])
    audio = recording("en_jfk_inaugural").read_bytes()
    transcript = service.run_sync(audio, "jfk.flac", TranscriptionOptions(model="tiny.en"),
                                  timeout_s=120)
    assert isinstance(transcript, Transcript)
    assert "ask not what your country" in transcript.text.lower()
    ranking = service.run_sync(recording("de_leopard_test").read_bytes(), "de.wav",
                               TranscriptionOptions(model="base"), kind="detect_language",
                               timeout_s=120)
    assert ranking[0][0] == "de" and 0.0 < ranking[0][1] <= 1.0
    # Internal jobs are deleted once answered and never listed.
    assert sum(service.store.count_by_status().values()) == 0
    assert service.list_jobs()[0] == []


def test_run_sync_raises_the_jobs_own_error(service: JobService) -> None:
    service.start_worker(["tiny.en"])
    with pytest.raises(AudioDecodeError):
        service.run_sync(b"this is not audio at all" * 100, "junk.mp3",
                         TranscriptionOptions(model="tiny.en"), timeout_s=60)
    assert sum(service.store.count_by_status().values()) == 0


def test_run_sync_without_workers_is_service_unavailable(service: JobService) -> None:
    service.sync_pickup_timeout_s = 0.5
    with pytest.raises(ServiceUnavailable):
        service.run_sync(b"RIFF....", "a.wav", TranscriptionOptions(model="tiny.en"),
                         timeout_s=60)
    assert sum(service.store.count_by_status().values()) == 0


def test_unknown_model_is_refused_before_queueing(service: JobService) -> None:
    with pytest.raises(ModelNotFound):
        service.submit(b"x", "a.wav", TranscriptionOptions(model="no-such-model"))


def test_api_only_service_resolves_names_without_a_model(settings: Settings,
                                                         tmp_path: Path) -> None:
    api_only = JobService.from_settings(settings.replace(data_dir=tmp_path / "api"))
    try:
        assert api_only.resolve_model(None) == settings.model
        assert api_only.resolve_model("whisper-1") == settings.model
        assert api_only.resolve_model("tiny.en") == "tiny.en"
        with pytest.raises(ModelNotFound):
            api_only.resolve_model("no-such-model")
        api_only.ping()
        with pytest.raises(ServiceUnavailable):
            api_only.start_worker()
    finally:
        api_only.close()


def test_cancel_of_a_job_whose_worker_died_is_final(service: JobService) -> None:
    job = service.submit(b"x", "a.wav", TranscriptionOptions(model="tiny.en"))
    service.store.update(job.id, js.claim("elsewhere:1", time.time(), 60, 3))
    assert service.cancel(job.id).status == js.CANCELLED


def test_queue_messages_are_json_not_pickle() -> None:
    from huey.registry import Message

    message = Message("id-1", "whisperd.run_job", None, 0, 0, 10, ("job_abc",), {}, None,
                      None, None, None)
    data = JsonSerializer().serialize(message)
    assert data.startswith(b"{") and b"job_abc" in data
    assert JsonSerializer().deserialize(data) == message


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/cb", "http://localhost:8000/cb", "https://10.0.0.8/", "http://192.168.1.1",
    "http://169.254.169.254/", "http://[::1]:80/", "http://[fe80::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/",
])
def test_callback_urls_to_private_addresses_are_refused(url: str) -> None:
    from whisperd.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        validate_callback_url(url, allow_private=False)
    assert validate_callback_url(url, allow_private=True) == url


def test_public_callback_urls_are_accepted() -> None:
    # IP literals: resolving them needs no DNS, so this runs offline.
    for url in ("https://93.184.216.34/hook", "http://[2606:2800:220:1:248:1893:25c8:1946]/"):
        assert validate_callback_url(url, allow_private=False) == url
