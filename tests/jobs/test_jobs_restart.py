"""A job accepted is never lost: kill -9 a worker halfway, restart, the job completes.

Real worker processes (``python -m whisperd.jobs.worker``) on the embedded SQLite
queue, the real tiny.en model, real recordings. The test process plays the API
server: it submits through JobService, which only stores and enqueues.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from procs import start_worker, wait_until  # tests/jobs/procs.py

from whisperd.engine.options import TranscriptionOptions
from whisperd.jobs import store as js
from whisperd.jobs.service import JobService
from whisperd.settings import Settings

pytestmark = pytest.mark.slow

LONG = "en_long_ljspeech_LJ001-0001_0032"  # 234 s: eight 30 s windows
SHORT = "en_librispeech_1089-134686-0001"  # 3 s


def test_kill9_halfway_then_restart_completes_with_the_clean_result(
        tmp_path: Path, recording) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, model="tiny.en", device="cpu", compute_type="int8",
                        allow_download=False)
    service = JobService.from_settings(settings)  # no engine: submits only
    options = TranscriptionOptions(model="tiny.en", language="en")
    long_audio = recording(LONG).read_bytes()
    # batch_size 1: progress is reported after every 30 s window, so "halfway" is visible.
    worker_settings = {"batch_size": "1", "job_lease_s": "20"}

    job = service.submit(long_audio, "long.flac", options)
    first = start_worker(data_dir, tmp_path / "w1", "first", **worker_settings)
    try:
        running = wait_until(
            lambda: (j := service.get(job.id)).status == js.RUNNING and 0.2 <= j.progress < 0.9
            and j, 240, "the long job to be partly done")
        first.kill9()
    finally:
        first.stop()
    assert running.worker.endswith(f":{first.pid}")
    assert service.get(job.id).status == js.RUNNING  # its lease has not even expired

    # A second job whose message a worker took off the queue and then died with,
    # before it could claim the job: only whisperd's own record knows about it.
    lost = service.submit(recording(SHORT).read_bytes(), "short.flac", options)
    assert service.queues.huey("tiny.en").dequeue() is not None
    assert lost.id not in service.queues.pending_ids("tiny.en")

    second = start_worker(data_dir, tmp_path / "w2", "second", **worker_settings)
    try:
        done = wait_until(lambda: (j := service.get(job.id)).finished and j, 300,
                          "the restarted long job")
        assert done.status == js.SUCCEEDED, second.output()[-3000:]
        assert done.attempts == 2
        assert done.worker.endswith(f":{second.popen.pid}")
        resumed = service.transcript(job.id)

        recovered = wait_until(lambda: (j := service.get(lost.id)).finished and j, 120,
                               "the job whose message was lost")
        assert recovered.status == js.SUCCEEDED
        assert "his belly" in service.transcript(lost.id).text.lower()

        # The clean run: the same audio, never interrupted, on the same worker.
        clean_job = service.submit(long_audio, "long.flac", options)
        clean_done = wait_until(lambda: (j := service.get(clean_job.id)).finished and j, 300,
                                "the clean run")
        assert clean_done.status == js.SUCCEEDED and clean_done.attempts == 1
        clean = service.transcript(clean_job.id)
    finally:
        assert second.stop() == 0, second.output()[-3000:]
        service.close()
    assert resumed.text == clean.text
    assert [(s.start, s.end) for s in resumed.segments] == [(s.start, s.end)
                                                             for s in clean.segments]
    assert "printing" in resumed.text.lower()


def test_sigterm_releases_the_running_job_for_the_next_worker(tmp_path: Path,
                                                              recording) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, model="tiny.en", device="cpu", compute_type="int8",
                        allow_download=False)
    service = JobService.from_settings(settings)
    options = TranscriptionOptions(model="tiny.en", language="en")
    job = service.submit(recording(LONG).read_bytes(), "long.flac", options)
    worker = start_worker(data_dir, tmp_path / "w", "worker", batch_size="1")
    try:
        wait_until(lambda: (j := service.get(job.id)).status == js.RUNNING and j.progress > 0,
                   240, "the job to start")
        assert worker.stop() == 0, worker.output()[-3000:]
    finally:
        worker.stop()
    released = service.get(job.id)
    # Back in the queue, its attempt not counted, its message waiting for a worker.
    assert released.status == js.QUEUED and released.attempts == 0
    assert job.id in service.queues.pending_ids("tiny.en")
    assert "released for another worker" in worker.output()
    service.close()


def test_cancelling_a_running_job_stops_the_transcription(tmp_path: Path, recording) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, model="tiny.en", device="cpu", compute_type="int8",
                        allow_download=False)
    service = JobService.from_settings(settings)
    options = TranscriptionOptions(model="tiny.en", language="en")
    job = service.submit(recording(LONG).read_bytes(), "long.flac", options)
    worker = start_worker(data_dir, tmp_path / "w", "worker", batch_size="1")
    try:
        wait_until(lambda: (j := service.get(job.id)).status == js.RUNNING and j.progress > 0,
                   240, "the job to start")
        assert service.cancel(job.id).status == js.CANCELLED
        worker.wait_for_output(f"job {job.id} stopped: cancelled", 120)
        # The worker is free again, and the cancelled job left no result behind.
        short = service.submit(recording(SHORT).read_bytes(), "short.flac", options)
        done = wait_until(lambda: (j := service.get(short.id)).finished and j, 120, "next job")
        assert done.status == js.SUCCEEDED
        cancelled = service.get(job.id)
        assert cancelled.status == js.CANCELLED and cancelled.progress < 1.0
        assert service.store.result(job.id) is None
    finally:
        worker.stop()
        service.close()
