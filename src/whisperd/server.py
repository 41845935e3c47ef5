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
"""

from __future__ import annotations

import logging
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

        def load(self) -> Flask:
            from whisperd.app import create_app

            return create_app(settings)

    WhisperdApplication().run()


def serve_development(settings: Settings) -> None:
    from whisperd.app import create_app

    app = create_app(settings)
    # threaded: /health answers while transcriptions run; Werkzeug has no request timeout.
    app.run(host=settings.host, port=settings.port, threaded=True, use_reloader=False)


def _worker_exit(server: Any, worker: Any) -> None:
    # Stop the in-process job workers cleanly: a running job is finished or requeued,
    # queued jobs stay queued for the next start.
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("whisperd") if app is not None else None
    if services is not None and services.jobs is not None:
        services.jobs.close()
