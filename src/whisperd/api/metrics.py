"""Prometheus metrics of one app, in a registry of its own (not prometheus_client's
global one), so several apps in one process (tests) don't collide."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "whisperd_http_requests_total", "HTTP requests by endpoint and status.",
            ["endpoint", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "whisperd_http_request_duration_seconds", "HTTP request latency.",
            ["endpoint"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.audio_seconds = Counter(
            "whisperd_audio_seconds_total", "Seconds of audio transcribed.",
            ["task"], registry=self.registry,
        )
        self.real_time_factor = Histogram(
            "whisperd_real_time_factor", "Processing time over audio duration, per transcription.",
            buckets=_RTF_BUCKETS, registry=self.registry,
        )

    def observe_transcription(self, audio_s: float, elapsed_s: float, task: str) -> None:
        self.audio_seconds.labels(task=task).inc(max(audio_s, 0.0))
        if audio_s > 0:
            self.real_time_factor.observe(elapsed_s / audio_s)

    def add_live_gauges(self, read: Callable[[], dict[str, Any]]) -> None:
        """Gauges read at scrape time (queue depth, jobs by status, model load time)."""
        self.registry.register(_LiveCollector(read))

    def install(self, app: Flask) -> None:
        app.before_request(_start_timer)
        app.after_request(self._after_request)

    def _after_request(self, response: Response) -> Response:
        # The route pattern, not the raw path, keeps label cardinality bounded
        # (job ids and scanners' random URLs would otherwise each get a series).
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        self.requests.labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("whisperd_started")
        if started is not None:
            self.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    def render(self) -> Response:
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.whisperd_started = time.perf_counter()


class _LiveCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        values = self._read()
        queue = GaugeMetricFamily(
            "whisperd_queue_depth", "Synchronous requests waiting for a transcription slot.")
        queue.add_metric([], values.get("waiting", 0))
        yield queue
        running = GaugeMetricFamily(
            "whisperd_transcriptions_running", "Synchronous transcriptions running now.")
        running.add_metric([], values.get("running", 0))
        yield running
        jobs = GaugeMetricFamily("whisperd_jobs", "Jobs by status.", labels=["status"])
        for status, count in sorted(values.get("jobs", {}).items()):
            jobs.add_metric([status], count)
        yield jobs
        load = GaugeMetricFamily(
            "whisperd_model_load_seconds", "Seconds it took to load each model.", labels=["model"])
        for model, seconds in sorted(values.get("model_load_seconds", {}).items()):
            load.add_metric([model], seconds)
        yield load
