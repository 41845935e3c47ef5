"""Bounded concurrency for transcriptions: N run, M wait, the rest are refused.

Piling requests up without bound makes every one of them slow and eventually
exhausts memory; refusing early with 429 + Retry-After lets clients back off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from whisperd.errors import ServiceBusy


class ConcurrencyLimiter:
    def __init__(self, max_running: int, max_waiting: int, *, retry_after_s: int = 5) -> None:
        if max_running < 1 or max_waiting < 0:
            raise ValueError("max_running must be >= 1 and max_waiting >= 0")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.retry_after_s = retry_after_s
        self._slots = threading.Semaphore(max_running)
        self._lock = threading.Lock()
        self._admitted = 0  # running + waiting

    @property
    def admitted(self) -> int:
        return self._admitted

    @property
    def waiting(self) -> int:
        return max(0, self._admitted - self.max_running)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one running slot for the duration of the block, or raise ServiceBusy."""
        with self._lock:
            if self._admitted >= self.max_running + self.max_waiting:
                raise ServiceBusy(
                    f"Server busy: {self.max_running} transcriptions running and "
                    f"{self.max_waiting} waiting. Retry in a few seconds.",
                    retry_after_s=self.retry_after_s,
                )
            self._admitted += 1
        try:
            self._slots.acquire()
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1
