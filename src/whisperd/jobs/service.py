"""JobService: what the API, the CLI and the web page use to defer work.

Built once per process by ``JobService.from_settings(settings, engine=None)``:
the JobStore (SQLite under data_dir, or Redis for settings.queue_url) and the
Huey queues (queue.py) are created there, and the Huey task is registered on
them there, closing over the store and engine. Nothing is built at import.

Roles of one process:
- submit/get/list/result/audio/cancel: any process (an API-only server too).
- run_sync: a synchronous request forwarded to the workers (API server without a
  local model): an internal job, waited for by polling the store, then deleted.
- start_worker/stop_worker: consume the queues in-process (``whisperd serve``);
  ``worker.run_worker`` does the same in the foreground (``whisperd worker``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

from whisperd import errors
from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import (
    JobStateError,
    ServiceUnavailable,
    TranscriptionTimeout,
    WhisperdError,
)
from whisperd.jobs import store as js
from whisperd.jobs.callbacks import CallbackSender, validate_callback_url
from whisperd.jobs.queue import JobQueues, is_distributed, priority_of, sqlite_path
from whisperd.jobs.store import Job, JobStore, check_job_id, new_job_id
from whisperd.settings import Settings
from whisperd.transcript import Transcript

log = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_IDEMPOTENCY_KEY = 255
# How long a synchronous request waits for any worker to start its job.
SYNC_PICKUP_TIMEOUT_S = 60.0
# How long a synchronous request waits out an unreachable store before answering 503.
SYNC_OUTAGE_PATIENCE_S = 30.0
_POLL_FIRST_S = 0.02
_POLL_MAX_S = 0.25


class JobService:
    def __init__(self, settings: Settings, store: JobStore, *, engine: Any = None) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.queues = JobQueues(settings, self._handle)
        self.callbacks = CallbackSender(allow_private=settings.callback_allow_private)
        self.sync_pickup_timeout_s = SYNC_PICKUP_TIMEOUT_S
        self._pool: Any = None  # worker.WorkerPool while consuming in-process
        # Serialises start/stop: a draining server stops the pool from one thread
        # while its exit hook may close the service from another.
        self._pool_lock = threading.Lock()
        self._registry: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, engine: Any = None) -> JobService:
        store: JobStore
        if is_distributed(settings):
            from whisperd.jobs.redis_store import RedisJobStore

            store = RedisJobStore(settings.queue_url or "")
        else:
            from whisperd.jobs.sqlite_store import SqliteJobStore

            store = SqliteJobStore(sqlite_path(settings))
        return cls(settings, store, engine=engine)

    # --- submitting ------------------------------------------------------------

    def resolve_model(self, name: str | None) -> str:
        """The canonical model name (= queue name); ModelNotFound for an unknown one."""
        if self.engine is not None:
            return str(self.engine.resolve_model_name(name))
        from whisperd.engine.registry import ALIASES, ModelRegistry

        if name is None or not name.strip() or name.strip() in ALIASES:
            return self.settings.model
        if self._registry is None:
            self._registry = ModelRegistry(self.settings)
        name = name.strip()
        # Without a model here we can only check that the name is one a worker could
        # load; a folder path is accepted if it exists on this machine too.
        if self._registry.kind_of(name) is None:
            raise self._registry.unknown(name)
        return name

    def submit(self, audio: bytes, filename: str, options: TranscriptionOptions, *,
               kind: str = "transcribe", content_type: str | None = None,
               callback_url: str | None = None, idempotency_key: str | None = None,
               internal: bool = False) -> Job:
        """Validate, store and enqueue a job. Raises InvalidRequest/ModelNotFound first."""
        if kind not in js.KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        options = options.validated()
        options = options.replace(model=self.resolve_model(options.model))
        if callback_url:
            validate_callback_url(callback_url,
                                  allow_private=self.settings.callback_allow_private)
        digest = hashlib.sha256(audio).hexdigest()
        scope = None
        if idempotency_key:
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
                raise errors.InvalidRequest(
                    f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters",
                    param="Idempotency-Key")
            scope = _idempotency_scope(idempotency_key, digest, kind, options, callback_url)
        job = Job(
            id=new_job_id(), model=options.model or self.settings.model,
            options=options.to_dict(), created_at=time.time(), kind=kind,
            filename=filename, content_type=content_type, audio_size=len(audio),
            audio_digest=digest, language=options.language, callback_url=callback_url or None,
            internal=internal, idempotency_scope=scope,
        )
        stored = self.store.create(job, audio)
        if stored.id != job.id:
            log.info("idempotent resubmission: returning job %s", stored.id)
            return stored
        # Stored first, then sent: if this process dies in between, or the queue went
        # away since the store answered, the reaper (maintenance.py) sends the message.
        # The record is the job, so it is accepted either way.
        try:
            self.queues.enqueue(job.model, job.id, priority=priority_of(job))
        except ServiceUnavailable as e:
            log.warning("job %s stored but its message not sent (%s); the reaper will",
                        job.id, e.message)
        log.info("job %s queued (model %s, %d bytes)", job.id, job.model, len(audio))
        return stored

    # --- reading ---------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        return self.store.get(check_job_id(job_id))

    def list_jobs(self, limit: int = 20, offset: int = 0) -> tuple[list[Job], bool]:
        if not 1 <= limit <= MAX_PAGE:
            raise errors.InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", param="limit")
        if offset < 0:
            raise errors.InvalidRequest("offset must be 0 or more", param="offset")
        return self.store.list_jobs(limit, offset)

    def result(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job and its result JSON; JobStateError (with its code) unless it succeeded."""
        job = self.get(job_id)
        if job.status == js.SUCCEEDED:
            result = self.store.result(job.id)
            if result is not None:
                return job, result
        if job.status in (js.QUEUED, js.RUNNING):
            raise JobStateError(f"Job {job.id} is {job.status}; its result is not ready yet.",
                                code="job_not_finished")
        if job.status == js.CANCELLED:
            raise JobStateError(f"Job {job.id} was cancelled.", code="job_cancelled")
        message = (job.error or {}).get("message", "unknown error")
        raise JobStateError(f"Job {job.id} failed: {message}", code="job_failed")

    def transcript(self, job_id: str) -> Transcript:
        job, result = self.result(job_id)
        if job.kind != "transcribe":
            raise JobStateError(f"Job {job.id} detected a language; it has no transcript.",
                                code="job_state_conflict")
        return Transcript.from_dict(result)

    def audio(self, job_id: str) -> tuple[Job, bytes]:
        job = self.get(job_id)
        return job, self.store.audio(job.id)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (a running one stops at its next progress
        report); JobStateError(code="job_finished") if it already ended."""
        job = self.store.update(check_job_id(job_id), js.cancel(time.time()))
        if job is None:  # pragma: no cover - cancel never declines without raising
            raise JobStateError(f"Job {job_id} cannot be cancelled.")
        log.info("job %s cancelled", job.id)
        self.on_finished(job)
        return job

    def count_by_status(self) -> dict[str, int]:
        """Jobs per status (for /metrics)."""
        return self.store.count_by_status()

    def ping(self) -> None:
        """ServiceUnavailable when the job store (or Redis) cannot be reached."""
        self.store.ping()

    # --- synchronous requests through the queue --------------------------------

    def run_sync(self, audio: bytes, filename: str, options: TranscriptionOptions, *,
                 kind: str = "transcribe",
                 timeout_s: float = 3600.0) -> Transcript | list[tuple[str, float]]:
        """Run one request on a worker and wait for it; the internal job is deleted after.

        Raises the job's own error class (AudioDecodeError, ...) when it failed,
        ServiceUnavailable when no worker started it within the pick-up timeout or
        the store stayed unreachable for SYNC_OUTAGE_PATIENCE_S, TranscriptionTimeout
        when it did not finish within ``timeout_s``. A shorter store outage (Redis
        restarting) is waited out: the client is already waiting, and the worker
        keeps the job's outcome until the store answers again.
        """
        job = self.submit(audio, filename, options, kind=kind, internal=True)
        started = time.monotonic()
        pickup_by = started + min(timeout_s, self.sync_pickup_timeout_s)
        finish_by = started + timeout_s
        delay = _POLL_FIRST_S
        unreachable_since: float | None = None
        try:
            while True:
                try:
                    job = self.store.get(job.id)
                    result = (self.store.result(job.id) or {}
                              if job.status == js.SUCCEEDED else None)
                except ServiceUnavailable:
                    now = time.monotonic()
                    unreachable_since = unreachable_since or now
                    if now - unreachable_since > SYNC_OUTAGE_PATIENCE_S or now > finish_by:
                        raise
                    time.sleep(_POLL_MAX_S)
                    continue
                unreachable_since = None
                if result is not None:
                    if kind == "detect_language":
                        return [(str(c), float(p)) for c, p in result.get("languages", [])]
                    return Transcript.from_dict(result)
                if job.status == js.FAILED:
                    raise _rebuild_error(job.error or {})
                if job.status == js.CANCELLED:
                    raise ServiceUnavailable("The request was cancelled on the server.")
                now = time.monotonic()
                if job.status == js.QUEUED and job.attempts == 0 and now > pickup_by:
                    raise ServiceUnavailable(
                        f"No worker for model {job.model!r} took the request within "
                        f"{min(timeout_s, self.sync_pickup_timeout_s):.0f} s; are workers "
                        "running, and all busy?")
                if now > finish_by:
                    raise TranscriptionTimeout(
                        f"The transcription did not finish within {timeout_s:.0f} s.")
                time.sleep(delay)
                delay = min(delay * 1.5, _POLL_MAX_S)
        finally:
            self._discard(job.id)

    def _discard(self, job_id: str) -> None:
        try:
            self.store.update(job_id, js.cancel(time.time()))
        except (JobStateError, errors.JobNotFound):
            pass
        except WhisperdError as e:
            log.warning("internal job %s not cancelled: %s", job_id, e.message)
        try:
            self.store.delete(job_id)
        except WhisperdError as e:
            log.warning("internal job %s not deleted (retention will): %s", job_id, e.message)

    # --- workers -----------------------------------------------------------------

    def served_models(self) -> list[str]:
        """Models an in-process worker consumes: every model this engine has offline."""
        if self.engine is None:
            return []
        names = [self.resolve_model(None)]
        for info in self.engine.list_models():
            if info.available_offline and info.name not in names:
                names.append(info.name)
        return names

    def start_worker(self, models: list[str] | None = None) -> None:
        """Consume the queues of ``models`` on background threads (needs an engine)."""
        if self.engine is None:
            raise ServiceUnavailable("An in-process worker needs a local model.")
        from whisperd.jobs.worker import WorkerPool

        with self._pool_lock:
            if self._pool is not None:
                return
            pool = WorkerPool(self, self.engine, models or self.served_models())
            pool.start()
            self._pool = pool

    def stop_worker(self, timeout_s: float = 30.0) -> None:
        """Stop consuming; a running job is released back to the queue."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.stop(timeout_s)
                self._pool = None

    @property
    def worker_running(self) -> bool:
        return self._pool is not None

    def _handle(self, job_id: str) -> None:
        """What each Huey message runs (only in a process that consumes)."""
        if self._pool is None:
            log.warning("job %s delivered to a process with no worker; sending it back", job_id)
            self.queues.enqueue(self.store.get(job_id).model, job_id)
            return
        self._pool.runner.run(job_id)

    def requeue(self, job: Job) -> None:
        self.queues.enqueue(job.model, job.id, priority=priority_of(job))

    def on_finished(self, job: Job) -> None:
        """A job ended (here, or cancelled through this process): send its callback."""
        if not job.callback_url or job.internal:
            return
        payload = job.public()
        if job.status == js.SUCCEEDED:
            payload["result"] = self.store.result(job.id)
        self.callbacks.send(job.callback_url, payload)

    def close(self) -> None:
        self.stop_worker()
        self.callbacks.join(timeout_s=5.0)
        self.queues.close()
        self.store.close()


def _idempotency_scope(key: str, digest: str, kind: str, options: TranscriptionOptions,
                       callback_url: str | None) -> str:
    material = json.dumps([key, digest, kind, options.to_dict(), callback_url],
                          sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _rebuild_error(error: dict[str, Any]) -> Exception:
    """The exception a failed job recorded, as the same class when it is one of ours.

    A worker's unexpected error comes back as RuntimeError, so the API answers 500.
    """
    message = str(error.get("message") or "The transcription failed.")
    cls = getattr(errors, str(error.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, WhisperdError) and cls not in (
            errors.JobStateError, errors.ServiceBusy, errors.ServiceUnavailable):
        return cls(message)
    if error.get("code") == "worker_lost" or cls is errors.ServiceUnavailable:
        return ServiceUnavailable(message)
    return RuntimeError(f"The worker failed: {message}")
