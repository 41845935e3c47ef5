"""JobStore in Redis: distributed mode, where API servers and workers share only Redis.

Keys (all under ``prefix``, "whisperd:" by default):

    job:{id}           hash, one field per Job attribute, each value JSON
    job:{id}:audio     list of byte chunks (a Redis string holds at most 512 MB;
                       uploads may be larger)
    job:{id}:result    string, the result JSON
    jobs               sorted set of listed (non-internal) ids, score created_at
    status:{status}    set of ids per status (queued, running: what the reaper scans)
    finished           sorted set of finished ids, score finished_at (retention)
    idem:{scope}       string, the id of the job created under that idempotency scope

Every read-modify-write is an optimistic transaction: WATCH the job's hash, read,
compute, MULTI/EXEC, retry if another client wrote the hash in between. So a
claim is exclusive across any number of worker machines.

Every call has a time limit. A Redis that is down refuses connections at once, but
one that hangs (a frozen host, a stalled fork, a network partition) would otherwise
hold API requests and heartbeats forever. Either way, and when Redis answers but
refuses writes (full under noeviction, a read-only replica, unable to persist), the
caller gets ServiceUnavailable: the API answers 503, workers wait and retry.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import redis

from whisperd.errors import JobNotFound, ServiceUnavailable
from whisperd.jobs.store import FINISHED, STATUSES, Change, Job

log = logging.getLogger(__name__)

AUDIO_CHUNK_BYTES = 64 * 1024 * 1024
CONNECT_TIMEOUT_S = 5.0
# Longest wait for one reply or one send. A 64 MB audio chunk must go through in
# this time: 6.4 MB/s at least between the API server and Redis.
SOCKET_TIMEOUT_S = 10.0
# What "Redis cannot be reached now" looks like: refused, reset, or no answer in time.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


# Error replies that mean "this Redis cannot take writes now", not "whisperd erred".
_REFUSALS: list[tuple[type[redis.ResponseError] | None, str, str]] = [
    (redis.exceptions.OutOfMemoryError, "", "it is full (maxmemory)"),
    (redis.exceptions.ReadOnlyError, "", "it is a read-only replica"),
    (None, "MISCONF", "it cannot save to disk (MISCONF)"),
]


@contextlib.contextmanager
def _unavailable_as_service_errors() -> Iterator[None]:
    """Redis unreachable, or refusing writes -> ServiceUnavailable (503, retry later)."""
    try:
        yield
    except UNREACHABLE as e:
        raise ServiceUnavailable(f"Redis is unreachable: {e}") from e
    except redis.ResponseError as e:
        for cls, marker, reason in _REFUSALS:
            if (cls is not None and isinstance(e, cls)) or (marker and marker in str(e)):
                raise ServiceUnavailable(f"Redis refuses writes: {reason}.") from e
        raise


def redis_options() -> dict[str, Any]:
    """Connection options of every Redis client of whisperd (store and queue)."""
    return {"socket_connect_timeout": CONNECT_TIMEOUT_S, "socket_timeout": SOCKET_TIMEOUT_S,
            # Reconnect quietly after Redis restarted or idled a connection out.
            "health_check_interval": 30}


class RedisJobStore:
    def __init__(self, url: str, *, prefix: str = "whisperd:") -> None:
        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, **redis_options())

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _job_key(self, job_id: str) -> str:
        return self._key("job", job_id)

    @staticmethod
    def _encode(job: Job) -> dict[Any, Any]:
        return {name: json.dumps(value) for name, value in job.to_record().items()}

    @staticmethod
    def _decode(raw: dict[Any, Any]) -> Job:
        return Job.from_record({_text(k): json.loads(v) for k, v in raw.items()})

    def _index(self, pipe: Any, old: Job | None, new: Job) -> None:
        """Queue the index updates for a record going from ``old`` to ``new``."""
        if old is not None and old.status != new.status:
            pipe.srem(self._key("status", old.status), new.id)
        pipe.sadd(self._key("status", new.status), new.id)
        if new.status in FINISHED and new.finished_at is not None:
            pipe.zadd(self._key("finished"), {new.id: new.finished_at})

    def create(self, job: Job, audio: bytes) -> Job:
        idem_key = self._key("idem", job.idempotency_scope) if job.idempotency_scope else None
        with _unavailable_as_service_errors(), self._redis.pipeline() as pipe:
            while True:
                try:
                    if idem_key is not None:
                        pipe.watch(idem_key)
                        existing = pipe.get(idem_key)
                        if existing is not None:
                            pipe.unwatch()
                            return self.get(_text(existing))
                    pipe.multi()
                    if idem_key is not None:
                        pipe.set(idem_key, job.id)
                    pipe.hset(self._job_key(job.id), mapping=self._encode(job))
                    chunks = [audio[i:i + AUDIO_CHUNK_BYTES]
                              for i in range(0, len(audio), AUDIO_CHUNK_BYTES)] or [b""]
                    pipe.rpush(self._key("job", job.id, "audio"), *chunks)
                    if not job.internal:
                        pipe.zadd(self._key("jobs"), {job.id: job.created_at})
                    self._index(pipe, None, job)
                    pipe.execute()
                    return job
                except redis.WatchError:
                    continue

    def get(self, job_id: str) -> Job:
        raw = self._call(self._redis.hgetall, self._job_key(job_id))
        if not raw:
            raise JobNotFound(f"No job with id {job_id!r}.")
        return self._decode(raw)

    def list_jobs(self, limit: int, offset: int) -> tuple[list[Job], bool]:
        ids = self._call(self._redis.zrevrange, self._key("jobs"), offset, offset + limit)
        jobs = []
        for raw_id in ids[:limit]:
            try:
                jobs.append(self.get(raw_id.decode()))
            except JobNotFound:
                continue  # purged between the two reads
        return jobs, len(ids) > limit

    def audio(self, job_id: str) -> bytes:
        chunks = self._call(self._redis.lrange, self._key("job", job_id, "audio"), 0, -1)
        if not chunks:
            raise JobNotFound(f"No audio for job {job_id!r}.")
        return b"".join(chunks)

    def result(self, job_id: str) -> dict[str, Any] | None:
        body = self._call(self._redis.get, self._key("job", job_id, "result"))
        return None if body is None else json.loads(body)

    def update(self, job_id: str, change: Change, *,
               result: dict[str, Any] | None = None) -> Job | None:
        key = self._job_key(job_id)
        with _unavailable_as_service_errors(), self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hgetall(key)
                    if not raw:
                        pipe.unwatch()
                        raise JobNotFound(f"No job with id {job_id!r}.")
                    old = self._decode(raw)
                    try:
                        new = change(old)
                    except BaseException:
                        pipe.unwatch()
                        raise
                    if new is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.hset(key, mapping=self._encode(new))
                    self._index(pipe, old, new)
                    if result is not None:
                        pipe.set(self._key("job", job_id, "result"), json.dumps(result))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def with_status(self, status: str) -> list[Job]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        jobs = []
        for raw_id in self._call(self._redis.smembers, self._key("status", status)):
            try:
                job = self.get(raw_id.decode())
            except JobNotFound:
                continue
            if job.status == status:  # it may have moved on between the two reads
                jobs.append(job)
        return sorted(jobs, key=lambda j: j.created_at)

    def count_by_status(self) -> dict[str, int]:
        pipe = self._redis.pipeline(transaction=False)
        for status in STATUSES:
            pipe.scard(self._key("status", status))
        return dict(zip(STATUSES, (int(n) for n in self._call(pipe.execute))))

    def purge(self, finished_before: float) -> int:
        ids = self._call(self._redis.zrangebyscore, self._key("finished"),
                         "-inf", f"({finished_before}")
        for raw_id in ids:
            self.delete(raw_id.decode())
        return len(ids)

    def delete(self, job_id: str) -> None:
        try:
            job: Job | None = self.get(job_id)
        except JobNotFound:
            job = None
        pipe = self._redis.pipeline()
        pipe.delete(self._job_key(job_id), self._key("job", job_id, "audio"),
                    self._key("job", job_id, "result"))
        pipe.zrem(self._key("jobs"), job_id)
        pipe.zrem(self._key("finished"), job_id)
        for status in STATUSES:
            pipe.srem(self._key("status", status), job_id)
        if job is not None and job.idempotency_scope:
            pipe.delete(self._key("idem", job.idempotency_scope))
        self._call(pipe.execute)

    def ping(self) -> None:
        self._call(self._redis.ping)

    def close(self) -> None:
        self._redis.close()

    @staticmethod
    def _call(func: Any, *args: Any) -> Any:
        """func(*args), with an unreachable or refusing Redis as ServiceUnavailable."""
        with _unavailable_as_service_errors():
            return func(*args)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
