"""`whisperd eval`: run both systems over the manifest and measure each recording.

Each recording is decoded once and the same samples go to whisperd's pipeline and to
bare faster-whisper, one after the other, so both see identical input and machine load.
The result is a plain dict (the JSON report); targets.py judges it, report.py prints it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from whisperd.eval import metrics
from whisperd.eval.audio import SAMPLE_RATE, load_samples
from whisperd.eval.manifest import ManifestItem
from whisperd.eval.systems import Hypothesis, Transcriber

logger = logging.getLogger(__name__)


@dataclass
class SystemResult:
    text: str
    detected_language: str | None
    languages: list[str]
    wall_s: float
    rtf: float
    segments: list[dict[str, Any]]
    # Error rate against the whole reference (None without a usable reference).
    metric: str | None = None
    errors: int | None = None
    reference_length: int | None = None
    error_rate: float | None = None
    language_correct: bool | None = None  # None where no single language is expected
    words: int | None = None  # only for recordings without speech
    pause_overlap_s: list[float] = field(default_factory=list)
    segment_start_error_s: list[float | None] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)  # multilingual items


def evaluate(
    items: Sequence[ManifestItem],
    systems: Mapping[str, Transcriber],
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every item with every system; returns the report's "items" and "kinds"."""
    _warm_up(items, systems)
    reports = []
    for number, item in enumerate(items, start=1):
        if progress is not None:
            progress(f"[{number}/{len(items)}] {item.item_id}")
        samples = load_samples(item.path)
        reports.append(evaluate_item(item, samples, systems))
    return {"items": reports, "kinds": summarize_kinds(reports, list(systems))}


def _warm_up(items: Sequence[ManifestItem], systems: Mapping[str, Transcriber]) -> None:
    """One untimed run per system, so lazy initialisation is not billed to the first item."""
    speech = [i for i in items if not i.is_speechless] or list(items)
    if not speech:
        return
    samples = load_samples(min(speech, key=lambda i: i.duration_s).path)
    for transcribe in systems.values():
        transcribe(samples)


def evaluate_item(
    item: ManifestItem, samples: np.ndarray, systems: Mapping[str, Transcriber]
) -> dict[str, Any]:
    duration = len(samples) / SAMPLE_RATE
    results = {}
    for name, transcribe in systems.items():
        hypothesis = transcribe(samples)
        logger.debug("%s %s: %.2fs", item.item_id, name, hypothesis.wall_s)
        results[name] = dataclasses.asdict(score(item, hypothesis, duration))
    return {
        "id": item.item_id,
        "kind": item.kind,
        "language": item.language,
        "expected_languages": list(item.languages),
        "duration_s": round(duration, 3),
        "reference": item.reference,
        "pauses": [[p.start_s, p.end_s] for p in item.pauses],
        "results": results,
    }


def score(item: ManifestItem, hyp: Hypothesis, duration_s: float) -> SystemResult:
    result = SystemResult(
        text=hyp.text,
        detected_language=hyp.language,
        languages=list(hyp.languages),
        wall_s=round(hyp.wall_s, 4),
        rtf=round(hyp.wall_s / duration_s, 4) if duration_s > 0 else 0.0,
        segments=[dataclasses.asdict(s) for s in hyp.segments],
    )
    if item.is_speechless:
        result.words = metrics.word_count(hyp.text)
        return result
    single_language = item.language not in (None, "mixed")
    if single_language:
        result.language_correct = hyp.language == item.language
    if item.reference and single_language:
        rate = metrics.error_rate(item.reference, hyp.text, item.language)
        result.metric, result.errors = rate.metric, rate.errors
        result.reference_length, result.error_rate = rate.reference_length, round(rate.value, 4)
    if item.parts:
        result.pause_overlap_s = [
            round(s, 3) for s in metrics.subtitle_over_pauses(hyp.segments, item.pauses)
        ]
        result.segment_start_error_s = [
            None if e is None else round(e, 3)
            for e in metrics.segment_start_errors(hyp.segments, item.parts)
        ]
    if item.kind == "multilingual" and item.parts:
        result.parts = _score_parts(item, hyp)
    return result


def _score_parts(item: ManifestItem, hyp: Hypothesis) -> list[dict[str, Any]]:
    scored = []
    for part, text in zip(item.parts, metrics.text_per_part(hyp.segments, item.parts), strict=True):
        rate = metrics.error_rate(part.text, text, part.language) if part.text else None
        scored.append({
            "language": part.language,
            "start_s": part.start_s,
            "end_s": part.end_s,
            "text": text,
            "metric": None if rate is None else rate.metric,
            "error_rate": None if rate is None else round(rate.value, 4),
        })
    return scored


def summarize_kinds(items: Sequence[dict[str, Any]], systems: Sequence[str]) -> dict[str, Any]:
    """Per kind and system: pooled WER and CER, silence words, worst pause, mean RTF."""
    kinds: dict[str, Any] = {}
    for kind in dict.fromkeys(i["kind"] for i in items):
        of_kind = [i for i in items if i["kind"] == kind]
        kinds[kind] = {name: _summarize(of_kind, name) for name in systems}
    return kinds


def _summarize(items: Sequence[dict[str, Any]], system: str) -> dict[str, Any]:
    results = [i["results"][system] for i in items]
    summary: dict[str, Any] = {"count": len(results)}
    for metric in ("wer", "cer"):
        pooled = metrics.pooled(
            metrics.ErrorRate(metric, r["errors"], r["reference_length"])
            for r in results if r["metric"] == metric
        )
        summary[metric] = None if pooled is None else round(pooled.value, 4)
    words = [r["words"] for r in results if r["words"] is not None]
    summary["words_on_silence"] = sum(words) if words else None
    overlaps = [o for r in results for o in r["pause_overlap_s"]]
    summary["max_pause_overlap_s"] = max(overlaps) if overlaps else None
    checked = [r["language_correct"] for r in results if r["language_correct"] is not None]
    summary["language_correct"] = f"{sum(checked)}/{len(checked)}" if checked else None
    total_audio = sum(i["duration_s"] for i in items)
    total_wall = sum(r["wall_s"] for r in results)
    summary["rtf"] = round(total_wall / total_audio, 4) if total_audio else None
    return summary
