"""The JobStore contract, run against SQLite and a real Redis (the ``store`` fixture)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from whisperd.errors import JobNotFound, JobStateError, ServiceUnavailable
from whisperd.jobs import store as js
from whisperd.jobs.store import Job, check_job_id, new_job_id

LEASE_S = 60.0


def make_job(**changes) -> Job:
    job = Job(id=new_job_id(), model="tiny.en", options={"task": "transcribe"},
              created_at=time.time(), filename="a.wav", audio_size=3)
    return job.replace(**changes)


def test_create_get_audio_roundtrip(store) -> None:
    job = store.create(make_job(callback_url="http://example.com/cb"), b"\x00\x01\xff")
    got = store.get(job.id)
    assert got == job
    assert store.audio(job.id) == b"\x00\x01\xff"
    assert store.result(job.id) is None


def test_unknown_job_raises_not_found(store) -> None:
    with pytest.raises(JobNotFound):
        store.get(new_job_id())
    with pytest.raises(JobNotFound):
        store.audio(new_job_id())
    with pytest.raises(JobNotFound):
        store.update(new_job_id(), js.cancel(time.time()))


def test_idempotency_scope_returns_existing_job(store) -> None:
    first = store.create(make_job(idempotency_scope="k1"), b"abc")
    again = store.create(make_job(idempotency_scope="k1"), b"abc")
    other = store.create(make_job(idempotency_scope="k2"), b"abc")
    assert again.id == first.id
    assert other.id != first.id


def test_list_newest_first_paged_without_internal(store) -> None:
    base = time.time()
    ids = [store.create(make_job(created_at=base + i), b"x").id for i in range(5)]
    store.create(make_job(created_at=base + 10, internal=True), b"x")
    page, more = store.list_jobs(limit=2, offset=0)
    assert [j.id for j in page] == [ids[4], ids[3]] and more
    page, more = store.list_jobs(limit=2, offset=4)
    assert [j.id for j in page] == [ids[0]] and not more


def test_claim_is_exclusive_across_threads(store) -> None:
    job = store.create(make_job(), b"x")
    winners = []

    def race(n: int) -> None:
        claimed = store.update(job.id, js.claim(f"w{n}", time.time(), LEASE_S, 3))
        if claimed is not None:
            winners.append(claimed)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    running = store.get(job.id)
    assert running.status == js.RUNNING and running.attempts == 1
    assert running.worker == winners[0].worker
    assert [j.id for j in store.with_status(js.RUNNING)] == [job.id]
    assert store.with_status(js.QUEUED) == []


def test_heartbeat_progress_and_finish_with_result(store) -> None:
    job = store.create(make_job(), b"x")
    claimed = store.update(job.id, js.claim("w", time.time(), LEASE_S, 3))
    beat = store.update(job.id, js.heartbeat(claimed.attempts, time.time(), LEASE_S,
                                             progress=0.5, duration=12.0))
    assert beat.progress == 0.5 and beat.duration == 12.0
    done = store.update(job.id, js.succeed(claimed.attempts, time.time(), "en"),
                        result={"text": "hello", "segments": []})
    assert done.status == js.SUCCEEDED and done.progress == 1.0 and done.language == "en"
    assert store.result(job.id) == {"text": "hello", "segments": []}
    assert store.with_status(js.RUNNING) == []


def test_stale_attempt_cannot_write(store) -> None:
    job = store.create(make_job(), b"x")
    first = store.update(job.id, js.claim("w1", time.time(), 0.01, 3))
    time.sleep(0.05)
    requeued = store.update(job.id, js.requeue_abandoned(time.time(), 3))
    assert requeued.status == js.QUEUED
    second = store.update(job.id, js.claim("w2", time.time(), LEASE_S, 3))
    assert second.attempts == 2
    # The first worker comes back to life: its writes are refused.
    assert store.update(job.id, js.heartbeat(first.attempts, time.time(), LEASE_S)) is None
    assert store.update(job.id, js.succeed(first.attempts, time.time(), None),
                        result={"text": "stale"}) is None
    assert store.result(job.id) is None
    assert store.get(job.id).worker == "w2"


def test_lease_not_expired_is_left_alone(store) -> None:
    job = store.create(make_job(), b"x")
    store.update(job.id, js.claim("w", time.time(), LEASE_S, 3))
    assert store.update(job.id, js.requeue_abandoned(time.time(), 3)) is None


def test_attempts_are_bounded(store) -> None:
    job = store.create(make_job(), b"x")
    for _ in range(2):
        store.update(job.id, js.claim("w", time.time(), LEASE_S, 2))
        store.update(job.id, js.requeue_abandoned(time.time(), 2, force=True))
    failed = store.get(job.id)
    assert failed.status == js.FAILED and failed.error["code"] == "worker_lost"
    assert store.update(job.id, js.claim("w", time.time(), LEASE_S, 2)) is None


def test_release_does_not_count_the_attempt(store) -> None:
    job = store.create(make_job(), b"x")
    claimed = store.update(job.id, js.claim("w", time.time(), LEASE_S, 3))
    released = store.update(job.id, js.release(claimed.attempts))
    assert released.status == js.QUEUED and released.attempts == 0


def test_cancel_queued_and_running_but_not_finished(store) -> None:
    queued = store.create(make_job(), b"x")
    assert store.update(queued.id, js.cancel(time.time())).status == js.CANCELLED
    running = store.create(make_job(), b"x")
    claimed = store.update(running.id, js.claim("w", time.time(), LEASE_S, 3))
    assert store.update(running.id, js.cancel(time.time())).status == js.CANCELLED
    # The worker's next heartbeat tells it to stop.
    assert store.update(running.id, js.heartbeat(claimed.attempts, time.time(), LEASE_S)) is None
    with pytest.raises(JobStateError) as info:
        store.update(queued.id, js.cancel(time.time()))
    assert info.value.code == "job_finished"


def test_purge_deletes_old_finished_jobs_with_blobs(store) -> None:
    old = store.create(make_job(), b"old")
    store.update(old.id, js.cancel(time.time() - 100))
    kept_running = store.create(make_job(idempotency_scope="s"), b"new")
    assert store.purge(finished_before=time.time() - 50) == 1
    with pytest.raises(JobNotFound):
        store.get(old.id)
    with pytest.raises(JobNotFound):
        store.audio(old.id)
    assert store.get(kept_running.id).status == js.QUEUED
    store.delete(kept_running.id)
    with pytest.raises(JobNotFound):
        store.get(kept_running.id)
    # The idempotency scope goes with the job.
    assert store.create(make_job(idempotency_scope="s"), b"new").id != kept_running.id


def test_ping_and_counts(store) -> None:
    store.ping()
    assert store.count_by_status() == dict.fromkeys(js.STATUSES, 0)
    first = store.create(make_job(), b"x")
    store.create(make_job(internal=True), b"x")
    store.update(first.id, js.cancel(time.time()))
    counts = store.count_by_status()
    assert counts[js.QUEUED] == 1 and counts[js.CANCELLED] == 1 and counts[js.RUNNING] == 0


def test_unreachable_redis_is_service_unavailable() -> None:
    from whisperd.jobs.redis_store import RedisJobStore

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = RedisJobStore(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(ServiceUnavailable):
        dead.ping()


def test_job_ids_are_checked() -> None:
    assert check_job_id(new_job_id())
    for bad in ("", "job_", "../etc/passwd", "job_" + "g" * 32, "JOB_" + "a" * 32):
        with pytest.raises(JobNotFound):
            check_job_id(bad)
