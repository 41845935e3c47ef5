"""Service endpoints: /health (open) and /metrics (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from whisperd import __version__
from whisperd.api.errors import OPENAI, use_error_shape
from whisperd.errors import WhisperdError
from whisperd.services import services


def create_service_blueprint() -> Blueprint:
    bp = Blueprint("service", __name__)
    use_error_shape(bp, OPENAI)
    bp.add_url_rule("/health", view_func=_health, methods=["GET"])
    bp.add_url_rule("/metrics", view_func=_metrics, methods=["GET"])
    return bp


def _health() -> tuple[Response, int]:
    svc = services()
    body: dict = {
        "version": __version__,
        "local_model": svc.engine is not None,
        "auth_required": bool(svc.api_keys),
        "queue": "redis" if (svc.settings.queue_url or "").startswith(("redis", "unix"))
        else "sqlite",
    }
    if svc.engine is None:
        # An API-only server is healthy when it can reach the queue its workers serve.
        body["model"] = svc.settings.model
        try:
            if svc.jobs is None:
                raise WhisperdError("no job queue configured")
            svc.jobs.ping()
        except WhisperdError as e:
            body.update(status="unavailable", error=e.message)
            return jsonify(body), 503
        body["status"] = "ok"
        return jsonify(body), 200
    info = svc.engine.info()
    body.update(model=info.get("model"), device=info.get("device"),
                compute_type=info.get("compute_type"), loaded=info.get("loaded", []))
    if not svc.engine.ready:
        error = getattr(svc.engine, "load_error", None)
        body.update(status="error" if error else "loading")
        if error:
            body["error"] = str(error)
        return jsonify(body), 503
    body["status"] = "ok"
    return jsonify(body), 200


def _metrics() -> Response:
    return services().metrics.render()
