"""Delivery of "run job X" messages through Huey: one Huey queue per model.

Why one queue per model: a worker must only take jobs for a model it can serve.
A worker for ``tiny.en`` consumes only the queue ``whisperd.tiny.en``, so a job for
``large-v3`` waits for a worker that has it instead of bouncing between workers
that would have to load it. The queue name is the job's canonical model name.

Backends, chosen by one setting (settings.queue_url):
- unset: SqliteHuey in ``data_dir/jobs.sqlite3``, the same file as the job records;
- ``redis://...``: PriorityRedisHuey (blocking dequeue), shared by every machine.

Internal jobs of synchronous requests (JobService.run_sync) go in with a higher
priority (both backends honour it), so that a client holding an HTTP request open
does not wait behind a backlog of batch jobs.

A message carries only the job id; everything else is in the JobStore. Messages
are serialised as JSON (``JsonSerializer``), never pickle, so a process that can
write to Redis cannot make workers unpickle arbitrary objects.

Huey forgets a message once a worker dequeues it. Losing it is covered by the
JobStore: the reaper (maintenance.py) re-sends queued jobs whose message is gone
and requeues running jobs whose lease expired. Duplicate messages are harmless,
because a claim succeeds only for a queued job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from huey import Huey, PriorityRedisHuey, SqliteHuey
from huey.consumer import Consumer, Scheduler, Worker
from huey.registry import Message
from huey.serializer import Serializer

from whisperd.errors import ServiceUnavailable
from whisperd.jobs.outage import UNREACHABLE, Outage
from whisperd.jobs.store import Job
from whisperd.settings import Settings

log = logging.getLogger(__name__)

QUEUE_PREFIX = "whisperd."
TASK_NAME = "whisperd.run_job"
DB_FILENAME = "jobs.sqlite3"
# Synchronous requests' jobs jump the queue: a client is holding a connection open.
SYNC_PRIORITY = 10


def priority_of(job: Job) -> int:
    return SYNC_PRIORITY if job.internal else 0


def sqlite_path(settings: Settings) -> Path:
    if settings.queue_url is not None and settings.queue_url.startswith("sqlite://"):
        return Path(settings.queue_url[len("sqlite://"):]).expanduser()
    return settings.data_dir / DB_FILENAME


def is_distributed(settings: Settings) -> bool:
    return settings.queue_url is not None and not settings.queue_url.startswith("sqlite://")


class JsonSerializer(Serializer):
    """Huey messages as JSON. Datetimes (eta, expiry) are tagged ISO strings."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_to_json(data)).encode("utf-8")

    def _deserialize(self, data: bytes) -> Any:
        return _from_json(json.loads(data.decode("utf-8")))


def _to_json(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$message": [_to_json(v) for v in value]}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "$message" in value:
            return Message(*[_from_json(v) for v in value["$message"]])
        if "$datetime" in value:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        # Huey passes task args as a tuple; JSON gives a list back.
        return tuple(_from_json(v) for v in value)
    return value


class _QueueWorker(Worker):
    """Huey's worker loop, with an unreachable queue logged once per outage.

    Huey logs every failed dequeue with a traceback, several a second while Redis
    restarts; the loop itself already backs off (``sleep``) and recovers.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outage = Outage(log, f"job queue {self.huey.name}")

    def loop(self, now: dt.datetime | None = None) -> None:
        try:
            task = self.huey.dequeue()
        except UNREACHABLE as e:
            self.outage.failed(e)
            self.sleep()
            return
        self.outage.succeeded()
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        try:
            self.huey.execute(task, now)
        except Exception:  # JobRunner handles its own errors; this is a bug
            log.exception("job message %s failed", task.id)


class _IdleScheduler(Scheduler):
    """whisperd puts nothing on Huey's schedule (no eta, no Huey retries, periodic
    off), so the scheduler only waits; polling the schedule would add a Redis round
    trip a second, and a traceback a second while Redis is away."""

    def loop(self, now: dt.datetime | None = None) -> None:
        self.stop_flag.wait(self.interval)


class _QuietConsumer(Consumer):
    """A Huey consumer that leaves signal handling to its owner.

    Huey's Consumer.start() installs SIGINT/SIGTERM handlers, which would take the
    signals away from gunicorn/werkzeug when run inside the API server, and fails
    outside the main thread. run_worker handles signals itself.
    """

    worker_class = _QueueWorker
    scheduler_class = _IdleScheduler

    def _set_signal_handlers(self) -> None:
        pass


class JobQueues:
    """The Huey instances of one process, one per model, created on first use."""

    def __init__(self, settings: Settings, handler: Callable[[str], None]) -> None:
        self.settings = settings
        # handler(job_id): what a worker runs for each message (JobRunner.run).
        self._handler = handler
        self._queues: dict[str, Huey] = {}
        self._tasks: dict[str, Any] = {}

    def huey(self, model: str) -> Huey:
        if model not in self._queues:
            name = QUEUE_PREFIX + model
            common: dict[str, Any] = {"results": False, "utc": True,
                                      "serializer": JsonSerializer()}
            if is_distributed(self.settings):
                from whisperd.jobs.redis_store import redis_options

                pool = redis.ConnectionPool.from_url(self.settings.queue_url or "",
                                                     **redis_options())
                queue: Huey = PriorityRedisHuey(name, connection_pool=pool, **common)
            else:
                path = sqlite_path(self.settings)
                path.parent.mkdir(parents=True, exist_ok=True)
                queue = SqliteHuey(name, filename=str(path), **common)
            handler = self._handler

            @queue.task(name=TASK_NAME)
            def run_job(job_id: str) -> None:
                handler(job_id)

            self._queues[model] = queue
            self._tasks[model] = run_job
        return self._queues[model]

    def enqueue(self, model: str, job_id: str, *, priority: int = 0) -> None:
        self.huey(model)
        try:
            self._tasks[model](job_id, priority=priority)
        except (redis.RedisError, sqlite3.Error) as e:
            raise ServiceUnavailable(f"The job queue is unreachable: {e}") from e

    def pending_ids(self, model: str) -> set[str]:
        """Job ids with a message waiting in that model's queue."""
        ids: set[str] = set()
        try:
            pending = self.huey(model).pending()
        except UNREACHABLE as e:
            raise ServiceUnavailable(f"The job queue is unreachable: {e}") from e
        for task in pending:
            if task.args:
                ids.add(str(task.args[0]))
        return ids

    def consumer(self, model: str, workers: int) -> Consumer:
        # periodic=False: maintenance runs on its own thread (maintenance.py), at
        # second resolution rather than Huey's one-minute crontab.
        return _QuietConsumer(self.huey(model), workers=workers, periodic=False,
                              worker_type="thread", max_delay=1.0)

    def close(self) -> None:
        for queue in self._queues.values():
            try:
                queue.storage.close()
            except Exception:  # closing is best effort at shutdown
                log.debug("closing queue %s failed", queue.name, exc_info=True)
