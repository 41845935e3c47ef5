"""`whisperd bench --load` (issue 7): many clients against one server, then its memory.

A fixed number of requests is shared by ``clients`` threads. Every answer must be
200 or 429 (the limiter refusing politely); anything else (5xx, a dropped
connection) is a failure.

Memory: a threaded server's RSS is not one number. Measured here after every 40
requests of 8 clients, it moved between 446 and 475 MB with no trend over 240
requests, depending on which buffers were live when the sample was taken. So the
warm-up is ``WARMUP_BURSTS`` bursts of the run's own concurrency, and its level is the
highest RSS seen after any of them (the steady state, not a lucky low sample); the
run is split into ``SLICES`` parts with RSS taken after each, so that a leak shows as
a rising series and a fluctuation as a flat one. The target compares RSS after the
run with the warm-up level.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from whisperd.eval import procmem
from whisperd.eval.service import Service, get, post_audio

ACCEPTED = (200, 429)
MAX_MEMORY_GROWTH = 0.05  # RSS after the run may exceed RSS after warm-up by 5 %
WARMUP_BURSTS = 3
SLICES = 4
_RSS_METRIC = re.compile(r"^process_resident_memory_bytes\s+([0-9.e+]+)$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    status: int  # 0 when the connection failed
    seconds: float


def run_load(service: Service, wav: bytes, model: str, *, requests: int, clients: int,
             progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    progress(f"warm-up: {WARMUP_BURSTS} bursts of {clients} concurrent requests")
    warm_samples = []
    for _ in range(WARMUP_BURSTS):
        _burst(service, wav, model, clients, clients)
        warm_samples.append(server_rss_bytes(service))
    known = [r for r in warm_samples if r is not None]
    rss_warm = max(known) if known else None
    progress(f"load: {requests} requests from {clients} clients")
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    series: list[int | None] = []
    for part in _slices(requests, SLICES):
        outcomes += _burst(service, wav, model, part, clients)
        series.append(server_rss_bytes(service))
    wall = time.perf_counter() - started
    rss_after = series[-1] if series else None
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
    ok = [o.seconds for o in outcomes if o.status == 200]
    growth = None if not rss_warm or rss_after is None else (rss_after - rss_warm) / rss_warm
    report: dict[str, Any] = {
        "url": service.url,
        "requests": requests,
        "clients": clients,
        "wall_s": round(wall, 3),
        "requests_per_s": round(requests / wall, 3) if wall else None,
        "statuses": statuses,
        "latency_s": {f"p{q}": _round(percentile(ok, q)) for q in (50, 90, 99)},
        "latency_all_s": {
            f"p{q}": _round(percentile([o.seconds for o in outcomes], q)) for q in (50, 90, 99)
        },
        "rss_warmup_samples_mb": [_mb(r) for r in warm_samples],
        "rss_after_warmup_mb": _mb(rss_warm),
        "rss_during_mb": [_mb(r) for r in series],
        "rss_after_mb": _mb(rss_after),
        "rss_growth": None if growth is None else round(growth, 4),
    }
    report["targets"] = judge_load(report)
    return report


def judge_load(report: dict[str, Any]) -> list[dict[str, Any]]:
    bad = {s: n for s, n in report["statuses"].items() if int(s) not in ACCEPTED}
    growth = report["rss_growth"]
    return [
        {"name": "every response is 200 or 429", "passed": not bad,
         "detail": f"statuses {report['statuses']}"},
        {"name": f"server memory after the run within {MAX_MEMORY_GROWTH:.0%} of after warm-up",
         "passed": None if growth is None else growth <= MAX_MEMORY_GROWTH,
         "detail": "server memory unknown (pass --server-pid or expose /metrics)"
         if growth is None else
         f"{report['rss_after_warmup_mb']} MB -> {report['rss_after_mb']} MB ({growth:+.1%})"},
    ]


def server_rss_bytes(service: Service) -> int | None:
    """The server's resident memory: from /proc when its pid is known, else /metrics."""
    if service.pid is not None:
        return procmem.rss_bytes(service.pid)
    try:
        reply = get(service, "/metrics")
    except OSError:
        return None
    match = _RSS_METRIC.search(reply.body.decode(errors="replace"))
    return int(float(match.group(1))) if reply.status == 200 and match else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _burst(service: Service, wav: bytes, model: str, requests: int, clients: int) -> list[Outcome]:
    numbers = itertools.count()
    lock = threading.Lock()

    def client(_: int) -> list[Outcome]:
        done: list[Outcome] = []
        while True:
            with lock:
                if next(numbers) >= requests:
                    return done
            started = time.perf_counter()
            try:
                reply = post_audio(service, wav, model)
                done.append(Outcome(reply.status, reply.seconds))
            except OSError:
                done.append(Outcome(0, time.perf_counter() - started))

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [o for batch in pool.map(client, range(clients)) for o in batch]


def _slices(total: int, parts: int) -> list[int]:
    """``total`` requests as up to ``parts`` near-equal positive counts."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

