"""`whisperd bench --load` (issue 7): many clients against one server, then its memory.

A fixed number of requests is shared by ``clients`` threads. Every answer must be
200 or 429 (the limiter refusing politely); anything else (5xx, a dropped
connection) is a failure. Memory is taken after a warm-up burst of the same
concurrency, because the first concurrent requests legitimately allocate decoder
buffers; what grows after that point is a leak.
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
_RSS_METRIC = re.compile(r"^process_resident_memory_bytes\s+([0-9.e+]+)$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    status: int  # 0 when the connection failed
    seconds: float


def run_load(service: Service, wav: bytes, model: str, *, requests: int, clients: int,
             progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    progress(f"warm-up: {clients} concurrent requests")
    _burst(service, wav, model, clients, clients)
    rss_warm = server_rss_bytes(service)
    progress(f"load: {requests} requests from {clients} clients")
    started = time.perf_counter()
    outcomes = _burst(service, wav, model, requests, clients)
    wall = time.perf_counter() - started
    rss_after = server_rss_bytes(service)
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
        "rss_after_warmup_mb": None if rss_warm is None else round(rss_warm / 2**20, 1),
        "rss_after_mb": None if rss_after is None else round(rss_after / 2**20, 1),
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

