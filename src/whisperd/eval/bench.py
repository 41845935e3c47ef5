"""`whisperd bench`: speed and memory of whisperd next to bare faster-whisper, in one run.

Modes, all on the same decoded samples and the same loaded model:

- ``faster-whisper``: ``WhisperModel.transcribe`` with its defaults, sequential;
- ``faster-whisper batched``: its ``BatchedInferencePipeline``, when given (reference);
- ``whisperd``: ``Engine.transcribe`` in this process (whisperd's pipeline);
- ``http``: one request at a time to the running service;
- ``http xN``: N client threads posting at once (clips under a minute only, since
  N copies of a long recording would take most of an hour on two cores).

Short clips are run ``runs`` times, longer ones ``long_runs`` times, and the median
is kept; machine load varies too much between minutes for one run to mean anything,
so the modes take turns (one run each per round) rather than running back to back. Every mode is warmed up, untimed,
on the shortest input and, when an input is longer than one 30-second window, on
its first minute too: whisperd's batched path allocates its batch buffers on the
first long file (about 2 s of a 5-minute run here), which a running service has
long done. Ratios are against faster-whisper on the same input.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from whisperd.errors import WhisperdError
from whisperd.eval import procmem
from whisperd.eval.audio import SAMPLE_RATE, to_wav_bytes
from whisperd.eval.service import Service, post_audio
from whisperd.eval.systems import BARE, BATCHED, WHISPERD, Transcriber

logger = logging.getLogger(__name__)

HTTP = "http"
REPEAT_BELOW_S = 60.0  # clips shorter than this are run `runs` times, others `long_runs`
CONCURRENT_BELOW_S = 60.0  # and only they get the concurrent-clients mode
WINDOW_S = 30.0  # Whisper's input length: longer audio takes whisperd's batched path
WARMUP_LONG_S = 60.0  # the warm-up excerpt of a long input: two windows, one batch


@dataclass(frozen=True)
class BenchInput:
    name: str
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass
class Row:
    input: str
    mode: str
    audio_s: float  # audio transcribed per measured unit of work
    runs: int
    wall_s: float  # median wall time of one unit of work
    walls_s: list[float]
    peak_rss_mb: float | None
    clients: int = 1
    statuses: dict[str, int] = field(default_factory=dict)
    rtf: float = 0.0
    throughput: float = 0.0  # seconds of audio per second of wall time
    vs_bare: dict[str, float | None] = field(default_factory=dict)


def run_bench(
    inputs: Sequence[BenchInput],
    systems: dict[str, Transcriber],
    *,
    service: Service | None,
    model: str,
    runs: int,
    clients: int,
    long_runs: int = 1,
    progress: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """Measure every mode on every input; returns one row dict per (input, mode)."""
    warmups = _warmup_inputs(inputs)
    modes: dict[str, Callable[[BenchInput], float]] = {
        BARE: lambda i: systems[BARE](i.samples).wall_s,
        WHISPERD: lambda i: systems[WHISPERD](i.samples).wall_s,
    }
    if BATCHED in systems:
        modes[BATCHED] = lambda i: systems[BATCHED](i.samples).wall_s
    if service is not None:
        wavs = {i.name: to_wav_bytes(i.samples) for i in [*inputs, *warmups]}
        modes[HTTP] = lambda i: _http_once(service, wavs[i.name], model)
    for name, once in modes.items():
        for warmup in warmups:
            progress(f"warm-up {name} on {warmup.name}")
            once(warmup)

    rows = []
    for item in inputs:
        repeat = runs if item.duration_s < REPEAT_BELOW_S else long_runs
        progress(f"{item.name}: {', '.join(modes)}, {repeat} round(s)")
        pids = {name: service.pid if name == HTTP and service is not None else os.getpid()
                for name in modes}
        rows += _interleaved(item, modes, pids, repeat)
        if service is not None and clients > 1 and item.duration_s < CONCURRENT_BELOW_S:
            progress(f"{item.name}: {HTTP} x{clients} clients, {repeat} requests each")
            rows.append(_concurrent(item, service, wavs[item.name], model, clients, repeat))
    return [asdict(r) for r in _with_ratios(rows)]


def _warmup_inputs(inputs: Sequence[BenchInput]) -> list[BenchInput]:
    """The shortest input, and the first minute of the longest when it needs batches."""
    shortest = min(inputs, key=lambda i: i.duration_s)
    longest = max(inputs, key=lambda i: i.duration_s)
    if longest.duration_s <= WINDOW_S:
        return [shortest]
    excerpt = BenchInput(f"{longest.name}[:{WARMUP_LONG_S:.0f}s]",
                         longest.samples[: int(WARMUP_LONG_S * SAMPLE_RATE)])
    return [excerpt] if shortest.duration_s > WINDOW_S else [shortest, excerpt]


def _http_once(service: Service, wav: bytes, model: str) -> float:
    reply = post_audio(service, wav, model)
    if reply.status != 200:
        raise WhisperdError(f"{service.url} answered {reply.status}: {reply.body[:300]!r}")
    return reply.seconds


def _interleaved(item: BenchInput, modes: dict[str, Callable[[BenchInput], float]],
                 pids: dict[str, int | None], repeat: int) -> list[Row]:
    """Round-robin over the modes, so a burst of load from elsewhere hits them alike."""
    walls: dict[str, list[float]] = {name: [] for name in modes}
    peaks: dict[str, float | None] = {name: 0.0 for name in modes}
    for _ in range(repeat):
        for name, once in modes.items():
            pid = pids[name]
            can_reset = pid is not None and procmem.reset_peak(pid)
            walls[name].append(once(item))
            previous = peaks[name]
            if can_reset and previous is not None:
                peaks[name] = max(previous, procmem.peak_rss_bytes(pid) / 2**20)
            else:
                peaks[name] = None
    return [
        Row(item.name, name, item.duration_s, repeat, statistics.median(walls[name]),
            [round(w, 4) for w in walls[name]], peaks[name])
        for name in modes
    ]


def _concurrent(item: BenchInput, service: Service, wav: bytes, model: str, clients: int,
                per_client: int) -> Row:
    can_reset = service.pid is not None and procmem.reset_peak(service.pid)

    def client(_: int) -> list[int]:
        return [post_audio(service, wav, model).status for _ in range(per_client)]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = [s for batch in pool.map(client, range(clients)) for s in batch]
    wall = time.perf_counter() - started
    peak = procmem.peak_rss_bytes(service.pid) / 2**20 if can_reset and service.pid else None
    counts: dict[str, int] = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    # One unit of work is the whole burst: every client's every request.
    ok_audio = item.duration_s * counts.get("200", 0)
    return Row(item.name, f"{HTTP} x{clients}", ok_audio, 1, wall, [round(wall, 4)], peak,
               clients=clients, statuses=counts)


def _with_ratios(rows: list[Row]) -> list[Row]:
    # Ratios are computed from the rounded figures the report shows, so that anyone
    # can recompute them from the report itself.
    for r in rows:
        r.wall_s = round(r.wall_s, 4)
        r.peak_rss_mb = None if r.peak_rss_mb is None else round(r.peak_rss_mb, 1)
        r.rtf = round(r.wall_s / r.audio_s, 4) if r.audio_s else 0.0
        r.throughput = round(r.audio_s / r.wall_s, 3) if r.wall_s else 0.0
    bare = {r.input: r for r in rows if r.mode == BARE}
    for r in rows:
        base = bare[r.input]
        r.vs_bare = {
            "wall": _ratio(r.wall_s, base.wall_s),
            "rtf": _ratio(r.rtf, base.rtf),
            "throughput": _ratio(r.throughput, base.throughput),
            "peak_rss": _ratio(r.peak_rss_mb, base.peak_rss_mb),
        }
    return rows


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 3)
