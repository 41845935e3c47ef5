"""Running one job: claim it, keep its lease alive, transcribe, store the outcome.

``JobRunner.run(job_id)`` is what every Huey message executes. The claim in the
JobStore decides whether this worker runs the job at all (duplicate messages,
cancelled and finished jobs are skipped). While it runs:

- a heartbeat thread renews the lease every ``job_lease_s / 3`` seconds, so the
  reaper of another process only requeues the job if this process stops;
- the engine's progress callback writes progress (at least every 30 s of audio)
  and is the one place a running transcription can be stopped: it raises
  ``_Stop`` when the job was cancelled, was handed to another worker, or this
  worker is shutting down. On shutdown the job is released back to the queue.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import JobNotFound, ServiceUnavailable, WhisperdError
from whisperd.jobs import store as js
from whisperd.jobs.store import Job, JobStore, error_record
from whisperd.settings import Settings
from whisperd.transcript import Transcript

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # samples per second of decoded audio
# Progress is written at least this often, in seconds of audio processed ...
PROGRESS_EVERY_AUDIO_S = 30.0
# ... and at most this often in wall time (it doubles as the cancel check).
PROGRESS_MIN_INTERVAL_S = 1.0


class TranscribingEngine(Protocol):
    def transcribe(self, audio: Any, options: TranscriptionOptions, *,
                   progress: Callable[[float, float], None] | None = None) -> Transcript: ...

    def detect_language(self, audio: Any,
                        options: TranscriptionOptions) -> list[tuple[str, float]]: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def error_code(exc: BaseException) -> str:
    """AudioDecodeError -> "audio_decode_error"; anything not ours -> "internal_error"."""
    if not isinstance(exc, WhisperdError):
        return "internal_error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


class _Stop(Exception):
    """Raised from the progress callback to abandon a transcription."""


class _Attempt:
    """One claimed attempt: heartbeat thread, progress writes and the stop decision."""

    def __init__(self, store: JobStore, job: Job, lease_s: float,
                 shutting_down: threading.Event) -> None:
        self.store = store
        self.job_id = job.id
        self.attempt = job.attempts
        self.lease_s = lease_s
        self.shutting_down = shutting_down
        # Why to stop: "cancelled" (or lost to another worker) / "shutdown"; None: go on.
        self.reason: str | None = None
        self.duration: float | None = None
        self._done = threading.Event()
        self._last_audio_s = 0.0
        self._last_write = 0.0
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.id}",
                                        daemon=True)

    def __enter__(self) -> _Attempt:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _write(self, progress: float | None = None) -> None:
        try:
            kept = self.store.update(self.job_id, js.heartbeat(
                self.attempt, time.time(), self.lease_s, progress=progress,
                duration=self.duration))
        except JobNotFound:
            kept = None  # deleted (a synchronous request that gave up)
        except ServiceUnavailable as e:
            log.warning("job %s: cannot reach the job store: %s", self.job_id, e.message)
            return
        if kept is None and self.reason is None:
            self.reason = "cancelled (or handed to another worker)"

    def _beat(self) -> None:
        interval = max(self.lease_s / 3.0, 0.05)
        while not self._done.wait(interval):
            self._write()

    def started(self, duration: float) -> None:
        self.duration = duration
        self._write(progress=0.0)
        self.check()

    def progress(self, done_s: float, total_s: float) -> None:
        """The engine's progress callback."""
        now = time.monotonic()
        if (done_s - self._last_audio_s >= PROGRESS_EVERY_AUDIO_S
                or now - self._last_write >= PROGRESS_MIN_INTERVAL_S):
            self._last_audio_s, self._last_write = done_s, now
            self._write(progress=done_s / total_s if total_s > 0 else 0.0)
        self.check()

    def check(self) -> None:
        if self.reason is None and self.shutting_down.is_set():
            self.reason = "shutdown"
        if self.reason is not None:
            raise _Stop(self.reason)


class JobRunner:
    def __init__(self, store: JobStore, engine: TranscribingEngine, settings: Settings, *,
                 on_finished: Callable[[Job], None],
                 requeue: Callable[[Job], None]) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.worker = worker_name()
        # Called with the final record of each job that ended here (callbacks).
        self.on_finished = on_finished
        # Sends a job's message again (released on shutdown).
        self.requeue = requeue
        self.shutting_down = threading.Event()
        # Bounds jobs run at once over all the model queues this process consumes.
        self._slots = threading.BoundedSemaphore(settings.worker_concurrency)

    def run(self, job_id: str) -> None:
        with self._slots:
            if self.shutting_down.is_set():
                self._resend(job_id)  # taken off the queue while stopping: put it back
                return
            try:
                job = self.store.update(job_id, js.claim(
                    self.worker, time.time(), self.settings.job_lease_s,
                    self.settings.job_max_attempts))
            except JobNotFound:
                return
            if job is None:
                log.debug("job %s not claimable (duplicate delivery or finished)", job_id)
                return
            if job.status == js.FAILED:  # attempts exhausted
                self.on_finished(job)
                return
            log.info("job %s: attempt %d on %s", job.id, job.attempts, self.worker)
            self._execute(job)

    def _resend(self, job_id: str) -> None:
        try:
            self.requeue(self.store.get(job_id))
        except WhisperdError as e:
            log.warning("job %s could not be requeued: %s", job_id, e.message)

    def _execute(self, job: Job) -> None:
        attempt = _Attempt(self.store, job, self.settings.job_lease_s, self.shutting_down)
        final: Job | None
        try:
            with attempt:
                result, language = self._compute(job, attempt)
        except Exception as e:
            if attempt.reason == "shutdown":
                self._release(job, attempt.attempt)
                return
            if attempt.reason is not None:
                log.info("job %s stopped: %s", job.id, attempt.reason)
                return  # cancelled or lost: the record already says so
            if isinstance(e, WhisperdError):
                log.info("job %s failed: %s", job.id, e.message)
            else:
                log.exception("job %s failed unexpectedly", job.id)
            final = self._update(job.id, js.fail(attempt.attempt, time.time(),
                                                 error_record(e, error_code(e))))
        else:
            final = self._update(job.id, js.succeed(attempt.attempt, time.time(), language),
                                 result=result)
        if final is not None:
            log.info("job %s %s", job.id, final.status)
            self.on_finished(final)

    def _compute(self, job: Job, attempt: _Attempt) -> tuple[dict[str, Any], str | None]:
        from whisperd.audio.decode import decode_audio

        limit = (self.settings.max_sync_duration_s if job.internal
                 else self.settings.max_job_duration_s)
        samples = decode_audio(self.store.audio(job.id), max_duration_s=limit,
                               timeout_s=self.settings.decode_timeout_s)
        attempt.started(len(samples) / SAMPLE_RATE)
        options = TranscriptionOptions.from_dict(job.options)
        if job.kind == "detect_language":
            ranking = self.engine.detect_language(samples, options)
            attempt.check()
            return {"languages": [[code, p] for code, p in ranking]}, (
                ranking[0][0] if ranking else None)
        transcript = self.engine.transcribe(samples, options, progress=attempt.progress)
        attempt.check()
        return transcript.to_dict(), transcript.language

    def _update(self, job_id: str, change: js.Change, *,
                result: dict[str, Any] | None = None) -> Job | None:
        try:
            return self.store.update(job_id, change, result=result)
        except JobNotFound:
            return None

    def _release(self, job: Job, attempt: int) -> None:
        released = self._update(job.id, js.release(attempt))
        if released is not None:
            log.info("job %s released for another worker (shutting down)", job.id)
            self.requeue(released)
