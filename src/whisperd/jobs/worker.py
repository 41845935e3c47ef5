"""Job workers: long-lived threads that keep one Engine (its models) loaded.

A worker process consumes one Huey queue per model it serves (queue.py explains
why per model), with settings.worker_concurrency Huey worker threads each, all
sharing one JobRunner whose semaphore bounds the jobs run at once. Beside them
runs the maintenance loop (reaper, lost-message re-sending, retention).

- ``run_worker(settings)``: ``whisperd worker``. Loads an Engine for settings.model,
  serves that model, blocks until SIGTERM/SIGINT, then stops cleanly: the running
  job is stopped at its next progress report and released back to the queue for
  another worker (finishing an hour-long file would outlast any stop timeout).
- ``JobService.start_worker()``: the same pool on background threads inside
  ``whisperd serve``, serving every model the engine has offline.

``python -m whisperd.jobs.worker`` runs ``run_worker(Settings.from_env())``, so
tests and process managers can start a worker before the CLI exists.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from whisperd.jobs.maintenance import Maintenance
from whisperd.jobs.runner import JobRunner
from whisperd.settings import Settings

if TYPE_CHECKING:
    from whisperd.jobs.service import JobService

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0


class WorkerPool:
    def __init__(self, service: JobService, engine: Any, models: list[str]) -> None:
        if not models:
            raise ValueError("a worker must serve at least one model")
        self.service = service
        self.models = models
        settings = service.settings
        self.runner = JobRunner(service.store, engine, settings,
                                on_finished=service.on_finished, requeue=service.requeue)
        self.maintenance = Maintenance(service.store, service.queues, settings,
                                       holds=self.runner.holds)
        self._consumers = [service.queues.consumer(m, settings.worker_concurrency)
                           for m in models]

    def start(self) -> None:
        self.maintenance.start()
        for consumer in self._consumers:
            consumer.start()
        log.info("job worker %s serving %s with %d thread(s) each", self.runner.worker,
                 ", ".join(self.models), self.service.settings.worker_concurrency)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        # First tell running jobs to stop and release themselves, then stop dequeuing.
        self.runner.shutting_down.set()
        for consumer in self._consumers:
            consumer.shutdown_timeout = timeout_s
            consumer.stop(graceful=True)
        self.maintenance.stop()
        log.info("job worker %s stopped", self.runner.worker)


def run_worker(settings: Settings, *, models: list[str] | None = None) -> None:
    """Serve jobs in the foreground until SIGTERM or SIGINT (``whisperd worker``)."""
    from whisperd.engine.model import Engine
    from whisperd.jobs.service import JobService

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; stopping after releasing running jobs",
                 signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    engine = Engine(settings)
    service = None
    try:
        engine.load()
        service = JobService.from_settings(settings, engine=engine)
        service.start_worker(models or [service.resolve_model(None)])
        while not stop.wait(1.0):
            pass
    finally:
        if service is not None:
            service.close()
        engine.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    logging.getLogger().setLevel(settings.log_level.upper())
    run_worker(settings)


if __name__ == "__main__":
    main()
