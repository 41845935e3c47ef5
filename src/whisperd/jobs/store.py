"""Job records: the ``Job`` dataclass, its state transitions, and the ``JobStore`` protocol.

Huey delivers "run job X" messages, but it deletes a message when a worker takes
it, so a worker killed mid-task would lose the job. whisperd therefore keeps its
own record of every job in the same place Huey keeps its queue (a SQLite table, or
Redis hashes), and that record, not Huey's message, is the truth:

    queued --claim--> running --finish--> succeeded | failed
      ^                  |  \\--cancel--> cancelled
      |                  |
      +--release/expire--+   (graceful shutdown, or lease expired: worker died)
    queued --cancel--> cancelled

A claim is a compare-and-set done under the store's write lock, and it stamps the
job with an attempt number. Every later write by the worker (heartbeat, progress,
finish) names that attempt and is refused once the job was cancelled or handed to
another worker, so a worker that lost its job finds out and stops, and a stale
worker can never overwrite a newer attempt's result.

The transitions are pure functions on ``Job`` (below); the backends only provide
an atomic read-modify-write (``JobStore.update``), so both behave identically.
Records are JSON, never pickle.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from whisperd.errors import JobNotFound, JobStateError

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

# What a job computes: a Transcript, or a language ranking (/detect-language).
KINDS = ("transcribe", "detect_language")

# 128 random bits: ids are capabilities (whoever knows one can read the transcript).
_JOB_ID = re.compile(r"^job_[0-9a-f]{32}$")


def new_job_id() -> str:
    return "job_" + secrets.token_hex(16)


def check_job_id(job_id: str) -> str:
    """The id itself, or JobNotFound for anything that cannot be a job id."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise JobNotFound(f"No job with id {str(job_id)[:80]!r}.")
    return job_id


@dataclass(frozen=True)
class Job:
    id: str
    # Canonical model name; also the name of the Huey queue the job is sent to.
    model: str
    # TranscriptionOptions.to_dict() (model resolved).
    options: dict[str, Any]
    created_at: float  # Unix time, seconds
    kind: str = "transcribe"
    status: str = QUEUED
    filename: str = "audio"
    content_type: str | None = None
    audio_size: int = 0  # bytes
    audio_digest: str = ""  # SHA-256 hex of the audio bytes
    started_at: float | None = None  # start of the latest attempt
    finished_at: float | None = None
    progress: float = 0.0  # 0..1 of the audio processed
    duration: float | None = None  # seconds of audio, once decoded
    worker: str | None = None  # "host:pid" of the latest attempt
    # Attempts started so far; the current one's number is the claim's fencing token.
    attempts: int = 0
    # Unix time after which a running job counts as abandoned (renewed by heartbeats).
    lease_expires_at: float | None = None
    error: dict[str, Any] | None = None  # {"message", "code", "type"}
    language: str | None = None  # requested, or detected once finished
    callback_url: str | None = None
    # Jobs made by run_sync for a synchronous request: hidden from listings.
    internal: bool = False
    # Unique per (Idempotency-Key, audio digest, options); None without a key.
    idempotency_scope: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Job:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def public(self) -> dict[str, Any]:
        """The job object of docs/api-contract.md."""

        def whole(t: float | None) -> int | None:
            return None if t is None else int(t)

        error = None
        if self.error is not None:
            error = {"message": self.error.get("message"), "code": self.error.get("code")}
        return {
            "id": self.id,
            "object": "transcription.job",
            "status": self.status,
            "created_at": whole(self.created_at),
            "started_at": whole(self.started_at),
            "finished_at": whole(self.finished_at),
            "progress": round(self.progress, 4),
            "duration": self.duration,
            "worker": self.worker,
            "attempts": self.attempts,
            "model": self.model,
            "task": self.options.get("task", "transcribe"),
            "language": self.language,
            "filename": self.filename,
            "error": error,
            "result_url": f"/v1/jobs/{self.id}/result",
        }


def error_record(exc: BaseException, code: str) -> dict[str, Any]:
    """A JSON error from an exception; ``type`` lets run_sync re-raise the same class."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return {"message": message, "code": code, "type": type(exc).__name__}


# --- transitions: pure functions, run by JobStore.update inside its transaction ---
# Each returns the new record, or None to leave the record untouched.
Change = Callable[[Job], "Job | None"]


def claim(worker: str, now: float, lease_s: float, max_attempts: int) -> Change:
    def change(job: Job) -> Job | None:
        if job.status != QUEUED:
            return None  # taken, finished or cancelled: a duplicate delivery
        if job.attempts >= max_attempts:
            return _give_up(job, now)
        return job.replace(
            status=RUNNING, attempts=job.attempts + 1, worker=worker, started_at=now,
            lease_expires_at=now + lease_s, progress=0.0, error=None,
        )

    return change


def heartbeat(attempt: int, now: float, lease_s: float, *, progress: float | None = None,
              duration: float | None = None) -> Change:
    def change(job: Job) -> Job | None:
        if not _owns(job, attempt):
            return None
        return job.replace(
            lease_expires_at=now + lease_s,
            progress=job.progress if progress is None else min(max(progress, 0.0), 1.0),
            duration=job.duration if duration is None else duration,
        )

    return change


def succeed(attempt: int, now: float, language: str | None) -> Change:
    def change(job: Job) -> Job | None:
        if not _owns(job, attempt):
            return None
        return job.replace(status=SUCCEEDED, finished_at=now, progress=1.0,
                           lease_expires_at=None, language=language or job.language)

    return change


def fail(attempt: int, now: float, error: dict[str, Any]) -> Change:
    def change(job: Job) -> Job | None:
        if not _owns(job, attempt):
            return None
        return job.replace(status=FAILED, finished_at=now, lease_expires_at=None, error=error)

    return change


def release(attempt: int) -> Change:
    """Give a running job back (graceful shutdown); the attempt does not count."""

    def change(job: Job) -> Job | None:
        if not _owns(job, attempt):
            return None
        return job.replace(status=QUEUED, attempts=max(job.attempts - 1, 0), worker=None,
                           lease_expires_at=None, progress=0.0)

    return change


def cancel(now: float) -> Change:
    def change(job: Job) -> Job | None:
        if job.finished:
            raise JobStateError(f"Job {job.id} already {job.status}.", code="job_finished")
        return job.replace(status=CANCELLED, finished_at=now, lease_expires_at=None)

    return change


def requeue_abandoned(now: float, max_attempts: int, *, force: bool = False) -> Change:
    """Requeue a running job whose lease expired (or, with force, whose worker is dead).

    After ``max_attempts`` attempts it fails instead: audio that kills every worker
    that touches it must not cycle forever.
    """

    def change(job: Job) -> Job | None:
        if job.status != RUNNING:
            return None
        if not force and (job.lease_expires_at is None or job.lease_expires_at > now):
            return None
        if job.attempts >= max_attempts:
            return _give_up(job, now)
        return job.replace(status=QUEUED, lease_expires_at=None, progress=0.0)

    return change


def _owns(job: Job, attempt: int) -> bool:
    return job.status == RUNNING and job.attempts == attempt


def _give_up(job: Job, now: float) -> Job:
    message = (f"The job was abandoned by its worker {job.attempts} times (worker died or "
               f"was stopped); giving up.")
    return job.replace(status=FAILED, finished_at=now, lease_expires_at=None,
                       error={"message": message, "code": "worker_lost",
                              "type": "ServiceUnavailable"})


class JobStore(Protocol):
    """Where job records, their audio and their results live.

    Both implementations (sqlite_store.SqliteJobStore, redis_store.RedisJobStore)
    pass the same contract suite, tests/jobs/test_jobs_store.py.
    """

    def create(self, job: Job, audio: bytes) -> Job:
        """Store a new job and its audio atomically; return it.

        If ``job.idempotency_scope`` is set and a job with that scope exists, store
        nothing and return the existing job instead.
        """
        ...

    def get(self, job_id: str) -> Job:
        """The job, or JobNotFound."""
        ...

    def list_jobs(self, limit: int, offset: int) -> tuple[list[Job], bool]:
        """Non-internal jobs, newest first, and whether more follow."""
        ...

    def audio(self, job_id: str) -> bytes:
        """The uploaded bytes, or JobNotFound."""
        ...

    def result(self, job_id: str) -> dict[str, Any] | None:
        """The stored result JSON (None until the job succeeded)."""
        ...

    def update(self, job_id: str, change: Change, *,
               result: dict[str, Any] | None = None) -> Job | None:
        """Atomically apply ``change`` to the current record and write what it returns.

        No other update can interleave (SQLite: BEGIN IMMEDIATE; Redis: WATCH/MULTI),
        so a claim taken here is exclusive. ``result`` is written in the same
        transaction, only when ``change`` returned a record. Returns the new record,
        or None when ``change`` did. JobNotFound if the job does not exist; whatever
        ``change`` raises propagates and nothing is written.
        """
        ...

    def with_status(self, status: str) -> list[Job]:
        """Every job (internal ones too) in ``status`` (for the reaper)."""
        ...

    def count_by_status(self) -> dict[str, int]:
        """How many jobs (internal ones too) are in each status; every status is a key."""
        ...

    def purge(self, finished_before: float) -> int:
        """Delete jobs that finished before that time, with audio and result."""
        ...

    def delete(self, job_id: str) -> None:
        """Delete one job with its audio and result (no error if absent)."""
        ...

    def ping(self) -> None:
        """Raise ServiceUnavailable if the store cannot be reached."""
        ...

    def close(self) -> None:
        ...

