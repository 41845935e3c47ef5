"""Structured (JSON lines) logs carrying the request id of the request being served.

Audio and transcript text stay out of the logs unless WHISPERD_LOG_TRANSCRIPTS is on;
code that logs text checks ``settings.log_transcripts``.
"""

from __future__ import annotations

import json
import logging
import time

from flask import g, has_request_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send whisperd's (and the servers') logs to stderr as JSON lines. Idempotent."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "whisperd", False):
            return
    handler = logging.StreamHandler()
    handler.whisperd = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
