"""The one place where exceptions become HTTP responses.

Two error shapes exist, one per family of clients:

* OpenAI (``/v1/*``, and everything else by default):
  ``{"error": {"message", "type", "param", "code"}}`` — what the ``openai`` SDK parses.
* whisper-asr-webservice (``/asr``, ``/detect-language``): ``{"detail": "..."}``, as its
  FastAPI original answers. Its clients (Bazarr) save any 2xx body as a subtitle, so an
  error must never be a 2xx.

Each blueprint declares its shape with ``use_error_shape(bp, "openai" | "detail")``;
404/405 raised before routing (no blueprint yet) fall back to the URL prefix.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from whisperd import errors

log = logging.getLogger(__name__)

OPENAI = "openai"
DETAIL = "detail"
_SHAPE_KEY = "whisperd_error_shape"
# Paths served with the whisper-asr-webservice shape even when routing failed.
_DETAIL_PREFIXES = ("/asr", "/detect-language")

# exception class -> (HTTP status, OpenAI error type, error code). First match wins,
# so subclasses come before their bases.
_STATUS: list[tuple[type[errors.WhisperdError], int, str, str]] = [
    (errors.UnsupportedFormat, 400, "invalid_request_error", "unsupported_format"),
    (errors.InvalidLanguage, 400, "invalid_request_error", "invalid_language"),
    (errors.InvalidRequest, 400, "invalid_request_error", "invalid_request"),
    (errors.EmptyAudio, 400, "invalid_request_error", "empty_audio"),
    (errors.AudioTooLong, 413, "invalid_request_error", "audio_too_long"),
    (errors.AudioDecodeError, 400, "invalid_request_error", "invalid_audio"),
    (errors.AudioError, 400, "invalid_request_error", "invalid_audio"),
    (errors.UploadTooLarge, 413, "invalid_request_error", "upload_too_large"),
    (errors.Unauthorized, 401, "invalid_request_error", "invalid_api_key"),
    (errors.ModelNotFound, 404, "invalid_request_error", "model_not_found"),
    (errors.JobNotFound, 404, "invalid_request_error", "job_not_found"),
    (errors.JobStateError, 409, "invalid_request_error", "job_state_conflict"),
    (errors.ServiceBusy, 429, "rate_limit_error", "server_busy"),
    (errors.ServiceUnavailable, 503, "server_error", "service_unavailable"),
    (errors.TranscriptionTimeout, 504, "server_error", "timeout"),
    (errors.ModelIntegrityError, 500, "server_error", "model_integrity_error"),
]

# whisper-asr-webservice (FastAPI) answers parameter validation errors with 422.
_DETAIL_STATUS_OVERRIDES: dict[type[errors.WhisperdError], int] = {
    errors.InvalidRequest: 422,
}


def use_error_shape(blueprint: Blueprint, shape: str) -> None:
    """Declare the error shape of every route of ``blueprint``."""
    if shape not in (OPENAI, DETAIL):
        raise ValueError(f"unknown error shape {shape!r}")
    setattr(blueprint, _SHAPE_KEY, shape)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(errors.WhisperdError, _handle_whisperd_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)


def error_response(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _current_shape() == DETAIL:
        body: dict[str, Any] = {"detail": message}
    else:
        body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def classify(exc: errors.WhisperdError) -> tuple[int, str, str]:
    """(status, OpenAI type, code) for an exception, in the current request's shape."""
    for cls, status, error_type, code in _STATUS:
        if isinstance(exc, cls):
            if _current_shape() == DETAIL:
                for override_cls, override in _DETAIL_STATUS_OVERRIDES.items():
                    if isinstance(exc, override_cls):
                        status = override
            return status, error_type, code
    return 400, "invalid_request_error", "invalid_request"


def _current_shape() -> str:
    from flask import current_app

    if request.blueprint:
        blueprint = current_app.blueprints.get(request.blueprint)
        shape = getattr(blueprint, _SHAPE_KEY, None)
        if shape:
            return shape
    if request.path.startswith(_DETAIL_PREFIXES):
        return DETAIL
    return OPENAI


def _handle_whisperd_error(exc: errors.WhisperdError) -> Response:
    status, error_type, code = classify(exc)
    # Some errors name their own code (JobStateError: job_not_finished, job_failed, ...).
    code = getattr(exc, "code", None) or code
    headers = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if isinstance(exc, errors.ServiceUnavailable):
        # An outage (queue unreachable, model loading) is not a bug: one line per request,
        # no traceback, or polling clients flood the log during a Redis restart.
        log.warning("service unavailable: %s", exc.message)
    elif status >= 500:
        log.error("request failed: %s", exc.message, exc_info=exc)
    else:
        log.info("request refused (%d %s): %s", status, code, exc.message)
    return error_response(
        status, exc.message, error_type=error_type, code=code, param=exc.param, headers=headers
    )


_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "upload_too_large",
    415: "unsupported_media_type",
    429: "server_busy",
}


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        message = "The upload is larger than this server accepts (WHISPERD_MAX_UPLOAD_BYTES)."
    headers = {}
    original = exc.get_response()
    allow = original.headers.get("Allow")
    if allow:
        headers["Allow"] = allow
    return error_response(
        status,
        message,
        error_type="invalid_request_error" if status < 500 else "server_error",
        code=_HTTP_CODES.get(status, "http_error"),
        headers=headers,
    )


def _handle_unexpected(exc: Exception) -> Response:
    # Anything else is a bug in whisperd, not the client's fault: log it fully, and
    # answer with JSON in the right shape instead of an HTML page.
    log.exception("unhandled error")
    return error_response(
        500,
        "Internal server error. The error was logged; please report it if it persists.",
        error_type="server_error",
        code="internal_error",
    )

