"""Saying once that the job store or queue is unreachable, not once per poll.

While Redis restarts, every loop that touches it (Huey's dequeue, heartbeats, the
reaper) fails several times a second. Logging each failure with its traceback buries
the one useful fact, so each loop owns an ``Outage``: the first failure is a warning,
the ones after it are debug lines, and the first success after them says how long
the outage lasted. The reaper also reads ``recovered_at``: a lease that expired
while the store was unreachable says nothing about its worker.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import redis

# Errors that mean "the store or queue cannot be reached now; try again later".
# sqlite3.OperationalError covers "database is locked" past the busy timeout.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, sqlite3.OperationalError)


class Outage:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self.what = what
        self._lock = threading.Lock()
        self._down_since: float | None = None
        # time.monotonic() of the last recovery; None if none was seen.
        self.recovered_at: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException | str) -> None:
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
        if first:
            self._log.warning("%s unreachable (%s); retrying until it answers", self.what, error)
        else:
            self._log.debug("%s still unreachable: %s", self.what, error)

    def succeeded(self) -> None:
        if self._down_since is None:  # the common case: no lock, no log
            return
        with self._lock:
            since, self._down_since = self._down_since, None
            if since is None:
                return
            self.recovered_at = time.monotonic()
        self._log.warning("%s reachable again after %.1f s", self.what,
                          self.recovered_at - since)
