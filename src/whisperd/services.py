"""The objects one whisperd process shares between requests, built once by create_app.

Views reach them through ``services()`` (i.e. ``current_app.extensions["whisperd"]``),
never through module globals, so tests can build an app around any engine or store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app

from whisperd.engine.limiter import ConcurrencyLimiter
from whisperd.settings import Settings

if TYPE_CHECKING:
    from whisperd.engine.model import Engine
    from whisperd.jobs.service import JobService

EXTENSION_KEY = "whisperd"


@dataclass
class Services:
    settings: Settings
    # The loaded model(s); None in an API-only server (WHISPERD_LOCAL_MODEL=false),
    # which forwards every transcription to workers through the job queue.
    engine: Engine | None
    # Bounds synchronous transcriptions in this process (429 beyond it).
    limiter: ConcurrencyLimiter
    # Async jobs; None only in tests that build an app without them.
    jobs: JobService | None
    # Accepted API keys; empty means authentication is off.
    api_keys: frozenset[str]
    # Prometheus metrics of this app (whisperd.api.metrics.Metrics).
    metrics: Any = None


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
