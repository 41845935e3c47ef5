"""The Flask application factory.

``create_app(settings, engine=..., jobs=...)`` builds one app around the objects it
is given (tests pass a loaded engine) or builds them from the settings. It never
loads a model on import; when it builds the engine itself, the model loads in a
background thread so the server accepts connections at once and ``/health``
answers 503 until the model is ready.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid

from flask import Flask, Response, g, request

from whisperd.api.asr_webservice import create_asr_blueprint
from whisperd.api.auth import require_api_key
from whisperd.api.errors import register_error_handlers
from whisperd.api.jobs import create_jobs_blueprint
from whisperd.api.metrics import Metrics
from whisperd.api.openai import create_openai_blueprint
from whisperd.api.service import create_service_blueprint
from whisperd.engine.limiter import ConcurrencyLimiter
from whisperd.engine.model import Engine
from whisperd.jobs.service import JobService
from whisperd.services import EXTENSION_KEY, Services
from whisperd.settings import Settings
from whisperd.web.views import create_web_blueprint

log = logging.getLogger(__name__)

# Multipart framing around the file itself (boundaries, part headers, small fields).
_MULTIPART_OVERHEAD = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    jobs: JobService | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + _MULTIPART_OVERHEAD
    app.json.sort_keys = False  # keep OpenAI's field order

    if engine is None and settings.local_model:
        engine = Engine(settings)
        _load_in_background(engine)
    if not settings.local_model:
        engine = None
    if jobs is None:
        jobs = JobService.from_settings(settings, engine=engine)
        if engine is not None and settings.inprocess_worker:
            jobs.start_worker()

    metrics = Metrics()
    svc = Services(
        settings=settings,
        engine=engine,
        limiter=ConcurrencyLimiter(settings.max_concurrency, settings.max_queue),
        jobs=jobs,
        api_keys=settings.load_api_keys(),
        metrics=metrics,
    )
    app.extensions[EXTENSION_KEY] = svc
    metrics.add_live_gauges(lambda: _live_values(svc))

    app.before_request(_assign_request_id)
    app.before_request(lambda: require_api_key(svc.api_keys))
    metrics.install(app)
    app.after_request(_return_request_id)
    register_error_handlers(app)

    app.register_blueprint(create_service_blueprint())
    app.register_blueprint(create_openai_blueprint())
    app.register_blueprint(create_jobs_blueprint())
    app.register_blueprint(create_asr_blueprint())
    app.register_blueprint(create_web_blueprint())
    return app


def _load_in_background(engine: Engine) -> None:
    def load() -> None:
        try:
            engine.load()
        except Exception as e:  # reported by /health; the process stays up
            engine.load_error = e  # type: ignore[attr-defined]
            log.exception("model failed to load")

    threading.Thread(target=load, name="whisperd-model-load", daemon=True).start()


def _assign_request_id() -> None:
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _return_request_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    # One structured access-log line per request; the path only, never a body.
    log.info("%s %s -> %d", request.method, request.path, response.status_code)
    return response


def _live_values(svc: Services) -> dict:
    values: dict = {
        "waiting": svc.limiter.waiting,
        "running": svc.limiter.admitted - svc.limiter.waiting,
    }
    if svc.jobs is not None:
        try:
            values["jobs"] = svc.jobs.count_by_status()
        except Exception:  # a scrape must not fail because the queue is unreachable
            log.warning("could not count jobs for /metrics", exc_info=True)
    if svc.engine is not None:
        info = svc.engine.info()
        if info.get("load_seconds") is not None:
            values["model_load_seconds"] = {str(info.get("model")): info["load_seconds"]}
    return values
