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

The store may be unreachable for a while (Redis restarting). Heartbeats then fail
quietly and are retried; a claim that fails leaves the job queued (the reaper sends
its message again); an outcome is held and written once the store answers, with the
heartbeat still running, so finished work is not redone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, Self

from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import JobNotFound, ServiceUnavailable, WhisperdError
from whisperd.jobs import store as js
from whisperd.jobs.outage import Outage
from whisperd.jobs.store import Job, JobStore, error_record
from whisperd.settings import Settings
from whisperd.transcript import Transcript

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # samples per second of decoded audio
# Progress is written at least this often, in seconds of audio processed ...
PROGRESS_EVERY_AUDIO_S = 30.0
# ... and at most this often in wall time (it doubles as the cancel check).
PROGRESS_MIN_INTERVAL_S = 1.0
# How long a finished job's outcome is held while the store is unreachable. Past
# that the attempt is abandoned and the reaper requeues the job once its lease expires.
OUTCOME_PATIENCE_S = 600.0
OUTCOME_RETRY_MAX_S = 5.0


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


class _StoreUnreachable(Exception):
    """The job's audio could not be read: not the job's fault, so it is not failed."""


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
        self.outage = Outage(log, f"job store (heartbeat of {job.id})")
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.id}",
                                        daemon=True)

    def __enter__(self) -> Self:
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
            self.outage.failed(e.message)  # retried at the next beat
            return
        self.outage.succeeded()
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
        self.outage = Outage(log, "job store")
        # Jobs this process is running now: its reaper leaves their leases alone.
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        # Bounds jobs run at once over all the model queues this process consumes.
        self._slots = threading.BoundedSemaphore(settings.worker_concurrency)

    def holds(self, job_id: str) -> bool:
        """Whether this process is running that job now."""
        with self._held_lock:
            return job_id in self._held

    def run(self, job_id: str) -> None:
        with self._slots:
            if self.shutting_down.is_set():
                self._resend(job_id)  # taken off the queue while stopping: put it back
                return
            # Held from before the claim, so that this process's reaper never sees
            # the job running under our name without it being held.
            with self._holding(job_id):
                self._claim_and_execute(job_id)

    @contextlib.contextmanager
    def _holding(self, job_id: str) -> Iterator[None]:
        with self._held_lock:
            self._held.add(job_id)
        try:
            yield
        finally:
            with self._held_lock:
                self._held.discard(job_id)

    def _claim_and_execute(self, job_id: str) -> None:
        try:
            job = self.store.update(job_id, js.claim(
                self.worker, time.time(), self.settings.job_lease_s,
                self.settings.job_max_attempts))
        except JobNotFound:
            return
        except ServiceUnavailable as e:
            # Still queued in the store; the reaper sends its message again.
            self.outage.failed(e.message)
            log.warning("job %s not claimed (job store unreachable); it stays queued", job_id)
            return
        self.outage.succeeded()
        if job is None:
            log.debug("job %s not claimable (duplicate delivery or finished)", job_id)
            return
        if job.status == js.FAILED:  # attempts exhausted
            self._notify(job)
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
        with attempt:
            change, result = self._outcome(job, attempt)
            if change is None:
                return
            # Written while the heartbeat still runs: waiting out a store outage here
            # must not let the lease lapse.
            final = self._write_outcome(job.id, change, result)
        if final is not None:
            log.info("job %s %s", job.id, final.status)
            self._notify(final)

    def _outcome(self, job: Job, attempt: _Attempt,
                 ) -> tuple[js.Change | None, dict[str, Any] | None]:
        """Run the job; the change that records its outcome (None: nothing to record)."""
        try:
            result, language = self._compute(job, attempt)
        except _StoreUnreachable as e:
            log.warning("job %s: cannot read its audio: %s", job.id, e)
            self._release(job, attempt.attempt, why="its audio could not be read")
            return None, None
        except Exception as e:
            if attempt.reason == "shutdown":
                self._release(job, attempt.attempt, why="shutting down")
                return None, None
            if attempt.reason is not None:
                log.info("job %s stopped: %s", job.id, attempt.reason)
                return None, None  # cancelled or lost: the record already says so
            if isinstance(e, WhisperdError):
                log.info("job %s failed: %s", job.id, e.message)
            else:
                log.exception("job %s failed unexpectedly", job.id)
            return js.fail(attempt.attempt, time.time(), error_record(e, error_code(e))), None
        return js.succeed(attempt.attempt, time.time(), language), result

    def _write_outcome(self, job_id: str, change: js.Change,
                       result: dict[str, Any] | None) -> Job | None:
        give_up_at = time.monotonic() + OUTCOME_PATIENCE_S
        delay = 0.2
        while True:
            try:
                final = self.store.update(job_id, change, result=result)
            except JobNotFound:
                return None
            except ServiceUnavailable as e:
                self.outage.failed(e.message)
                if time.monotonic() > give_up_at:
                    log.error("job %s: outcome not stored (job store unreachable for %.0f s);"
                              " the job will run again", job_id, OUTCOME_PATIENCE_S)
                    return None
                time.sleep(delay)
                delay = min(delay * 2, OUTCOME_RETRY_MAX_S)
                continue
            self.outage.succeeded()
            return final

    def _notify(self, job: Job) -> None:
        try:
            self.on_finished(job)
        except WhisperdError as e:  # the callback's payload needs the store
            log.warning("job %s: callback not sent: %s", job.id, e.message)

    def _compute(self, job: Job, attempt: _Attempt) -> tuple[dict[str, Any], str | None]:
        from whisperd.audio.decode import decode_audio

        limit = (self.settings.max_sync_duration_s if job.internal
                 else self.settings.max_job_duration_s)
        try:
            audio = self.store.audio(job.id)
        except ServiceUnavailable as e:
            raise _StoreUnreachable(e.message) from e
        samples = decode_audio(audio, max_duration_s=limit,
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

    def _release(self, job: Job, attempt: int, *, why: str) -> None:
        try:
            released = self._update(job.id, js.release(attempt))
        except ServiceUnavailable as e:
            log.warning("job %s not released (%s); it is requeued when its lease expires",
                        job.id, e.message)
            return
        if released is None:
            return
        log.info("job %s released for another worker (%s)", job.id, why)
        try:
            self.requeue(released)
        except ServiceUnavailable as e:  # queued in the store: the reaper sends it
            log.warning("job %s released but not sent again: %s", job.id, e.message)
