"""Serving the app: gunicorn in production, Werkzeug's server for development.

gunicorn runs one worker process with a pool of threads. One process, because the
model is the expensive shared object (several processes would each load it); threads,
because CTranslate2 releases the GIL while decoding, so transcriptions run in parallel
up to WHISPERD_MAX_CONCURRENCY and /health keeps answering meanwhile. The thread pool is
larger than running + waiting transcriptions so that a connection is always accepted
(Bazarr disables a server that does not accept one within 5 s). Timeouts are an hour
by default (WHISPERD_REQUEST_TIMEOUT_S) so a long synchronous request is held open.
The app is built in the worker after the fork (no preload): CTranslate2 and threads
do not survive a fork.

SIGTERM drains: requests in flight finish (up to the same timeout), new connections
are refused at once (``_draining_worker_class``), the in-process job worker releases
its running job to the queue and takes no other, then the process exits.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from whisperd.settings import Settings

log = logging.getLogger(__name__)

# Threads beyond running + waiting transcriptions, for /health, job polling, the page.
_SPARE_THREADS = 16


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return {
        "bind": f"{host}:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": settings.max_concurrency + settings.max_queue + _SPARE_THREADS,
        "timeout": settings.request_timeout_s,
        # SIGTERM: stop accepting, let in-flight requests finish (up to this), then exit.
        "graceful_timeout": settings.request_timeout_s,
        "keepalive": 5,
        "accesslog": None,  # whisperd logs each request itself, with its request id
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "worker_exit": _worker_exit,
    }


def serve_production(settings: Settings) -> None:
    from gunicorn.app.base import BaseApplication

    class WhisperdApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                self.cfg.set(key, value)
            # gthread, plus what it lacks for draining (see _draining_worker_class).
            self.cfg.set("worker_class", _draining_worker_class())

        def load(self) -> Flask:
            from whisperd.app import create_app

            return create_app(settings)

    WhisperdApplication().run()


def serve_development(settings: Settings) -> None:
    from whisperd.app import create_app

    app = create_app(settings)
    # threaded: /health answers while transcriptions run; Werkzeug has no request timeout.
    app.run(host=settings.host, port=settings.port, threaded=True, use_reloader=False)


def _draining_worker_class() -> type:
    from gunicorn.workers.gthread import ThreadWorker

    class DrainingThreadWorker(ThreadWorker):  # type: ignore[misc]
        """gunicorn's gthread worker, refusing new connections while it drains.

        On SIGTERM gthread only stops polling its listening socket and keeps it open
        until the last request in flight is answered. The kernel meanwhile goes on
        completing handshakes into the listen backlog, so a client that connects
        during a drain (up to an hour here) hangs that long and is then reset.
        Closing the socket when the drain starts refuses such clients at once, so
        they retry elsewhere or later. The master closed its copy already.
        """

        def set_accept_enabled(self, enabled: bool) -> None:
            super().set_accept_enabled(enabled)
            if enabled or self.alive:
                return  # paused at the connection limit, not stopping
            for listener in self.sockets:
                listener.close()  # gunicorn's socket wrapper: closing twice is fine
            threading.Thread(target=_stop_job_worker, args=(self,),
                             name="whisperd-stop-jobs", daemon=True).start()

    return DrainingThreadWorker


def _jobs_of(worker: Any) -> Any:
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("whisperd") if app is not None else None
    return services.jobs if services is not None else None


def _stop_job_worker(worker: Any) -> None:
    # At the start of a drain: the running job goes back to the queue now rather
    # than after the drain, and no queued job is started only to be abandoned.
    jobs = _jobs_of(worker)
    if jobs is not None:
        try:
            jobs.stop_worker()
        except Exception:  # the process is exiting; worker_exit tries again
            log.exception("stopping the in-process job worker failed")


def _worker_exit(server: Any, worker: Any) -> None:
    # Stop the in-process job workers cleanly: a running job is finished or requeued,
    # queued jobs stay queued for the next start.
    jobs = _jobs_of(worker)
    if jobs is not None:
        jobs.close()
