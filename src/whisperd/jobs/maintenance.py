"""Housekeeping that keeps "a job accepted with 202 is never lost" true.

Huey has no acknowledgements: a message is gone once a worker dequeued it. So
every worker process runs this loop, every few seconds:

1. Reap: a running job whose lease expired (its worker stopped heartbeating: killed,
   frozen, or cut off) goes back to queued and its message is sent again; after
   settings.job_max_attempts attempts it fails with a clear error instead.
2. Re-send: a queued job with no message waiting in its model's queue (the worker
   that dequeued it died before claiming it, or the API server died between storing
   the job and sending the message) gets a new message. Duplicates are harmless:
   only one claim can succeed.
3. Retention: finished jobs, their audio and results are deleted after
   settings.job_retention_s.

A lease that expired while the store was unreachable (Redis restarting) says
nothing about its worker: it could not renew it either. So after an outage this
loop waits one more lease before reaping, and it never reaps a job this very
process is still running.

At start-up, jobs still marked running by a process of this host that no longer
exists are requeued at once, without waiting for their lease (embedded mode: the
server was restarted). In a container the new process often has the old one's pid
(1), so at start-up our own pid counts as dead too.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from whisperd.errors import ServiceUnavailable, WhisperdError
from whisperd.jobs import store as js
from whisperd.jobs.outage import Outage
from whisperd.jobs.queue import JobQueues, priority_of
from whisperd.jobs.store import Job, JobStore
from whisperd.settings import Settings

log = logging.getLogger(__name__)

# A queued job younger than this may simply not have had its message sent yet.
RESEND_GRACE_S = 5.0
LONGEST_INTERVAL_S = 10.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class Maintenance:
    def __init__(self, store: JobStore, queues: JobQueues, settings: Settings, *,
                 holds: Callable[[str], bool] = lambda job_id: False) -> None:
        self.store = store
        self.queues = queues
        self.settings = settings
        # holds(job_id): whether this process's own runner is running that job.
        self.holds = holds
        self.outage = Outage(log, "job store (maintenance)")
        # Often enough that a lease is noticed soon after it expires.
        self.interval_s = min(max(settings.job_lease_s / 4.0, 0.2), LONGEST_INTERVAL_S)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._startup_done = False

    def _requeue(self, job: Job, *, force: bool, now: float) -> None:
        changed = self.store.update(
            job.id, js.requeue_abandoned(now, self.settings.job_max_attempts, force=force))
        if changed is None:
            return
        if changed.status == js.QUEUED:
            log.warning("job %s: worker %s stopped answering; requeued (attempt %d done)",
                        job.id, job.worker, job.attempts)
            self.queues.enqueue(changed.model, changed.id, priority=priority_of(changed))
        else:
            log.warning("job %s failed: %s", job.id, (changed.error or {}).get("message"))

    def requeue_dead_local(self, *, at_startup: bool) -> int:
        """Requeue running jobs whose worker was a process of this host that has died."""
        host, me = socket.gethostname(), os.getpid()
        count = 0
        for job in self.store.with_status(js.RUNNING):
            owner_host, _, owner_pid = (job.worker or "").rpartition(":")
            if owner_host != host or not owner_pid.isdigit() or self.holds(job.id):
                continue
            pid = int(owner_pid)
            dead = (pid == me) if at_startup else False
            dead = dead or (pid != me and not _pid_alive(pid))
            if dead:
                self._requeue(job, force=True, now=time.time())
                count += 1
        return count

    def leases_trustworthy(self) -> bool:
        """False for one lease after this loop last found the store unreachable."""
        recovered = self.outage.recovered_at
        return recovered is None or time.monotonic() - recovered >= self.settings.job_lease_s

    def run_once(self) -> None:
        now = time.time()
        reap = self.leases_trustworthy()
        for job in self.store.with_status(js.RUNNING):
            if (reap and job.lease_expires_at is not None and job.lease_expires_at < now
                    and not self.holds(job.id)):
                self._requeue(job, force=False, now=now)
        self.requeue_dead_local(at_startup=False)
        self._resend_lost(now)
        purged = self.store.purge(finished_before=now - self.settings.job_retention_s)
        if purged:
            log.info("deleted %d finished jobs older than %.0f s", purged,
                     self.settings.job_retention_s)

    def _resend_lost(self, now: float) -> None:
        queued = [j for j in self.store.with_status(js.QUEUED)
                  if now - j.created_at >= RESEND_GRACE_S]
        pending: dict[str, set[str]] = {}
        for job in queued:
            if job.model not in pending:
                pending[job.model] = self.queues.pending_ids(job.model)
            if job.id not in pending[job.model]:
                log.warning("job %s had no message in queue %s; sent again", job.id, job.model)
                self.queues.enqueue(job.model, job.id, priority=priority_of(job))

    def start(self) -> None:
        self._startup()
        self._thread = threading.Thread(target=self._loop, name="whisperd-maintenance",
                                        daemon=True)
        self._thread.start()

    def _startup(self) -> None:
        """The start-up requeue; retried by the loop while the store is unreachable
        (a worker may start before Redis does)."""
        try:
            self.requeue_dead_local(at_startup=True)
        except ServiceUnavailable as e:
            self.outage.failed(e.message)
            return
        self._startup_done = True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if not self._startup_done:
                    self.requeue_dead_local(at_startup=True)
                    self._startup_done = True
                self.run_once()
            except ServiceUnavailable as e:
                self.outage.failed(e.message)
                continue
            except WhisperdError as e:
                log.warning("job maintenance skipped: %s", e.message)
            except Exception:  # keep the loop alive; the next round may succeed
                log.exception("job maintenance failed")
            self.outage.succeeded()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

