"""Accuracy and timing measures, computed the way Whisper's own evaluations do.

Texts are normalized with Whisper's normalizers (the ``whisper-normalizer`` package
is a verbatim copy of openai/whisper's ``whisper/normalizers``): the English one for
English (spelling, numbers, fillers, bracketed annotations such as ``[adif]``), the
basic one for every other language. Languages written without spaces between words
are scored by character error rate, since their "words" are whole sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import jiwer
from whisper_normalizer.basic import BasicTextNormalizer
from whisper_normalizer.english import EnglishTextNormalizer

from whisperd.eval.manifest import Part, Pause

# Scored by CER: Chinese, Japanese, Thai, Lao, Burmese, Khmer, Cantonese, and Korean,
# which has spaces but whose spaced units are long agglutinated words.
CER_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "km", "yue", "ko"})


class Timed(Protocol):
    """A transcript segment: anything with start, end (s) and text."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class ErrorRate:
    metric: str  # "wer" or "cer"
    errors: int  # substitutions + deletions + insertions
    reference_length: int  # words or characters of the normalized reference

    @property
    def value(self) -> float:
        if self.reference_length == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.reference_length


def metric_for(language: str | None) -> str:
    return "cer" if language in CER_LANGUAGES else "wer"


@cache
def _english() -> EnglishTextNormalizer:
    return EnglishTextNormalizer()


@cache
def _basic() -> BasicTextNormalizer:
    return BasicTextNormalizer()


def normalize(text: str, language: str | None) -> str:
    normalizer = _english() if language == "en" else _basic()
    return " ".join(normalizer(text).split())


def error_rate(reference: str, hypothesis: str, language: str | None) -> ErrorRate:
    """Word (or character) errors of ``hypothesis`` against ``reference`` after normalization."""
    metric = metric_for(language)
    ref, hyp = normalize(reference, language), normalize(hypothesis, language)
    if metric == "cer":
        ref, hyp = ref.replace(" ", ""), hyp.replace(" ", "")
        units_ref, units_hyp = list(ref), list(hyp)
    else:
        units_ref, units_hyp = ref.split(), hyp.split()
    if not units_ref:
        return ErrorRate(metric, len(units_hyp), 0)
    if not units_hyp:
        return ErrorRate(metric, len(units_ref), len(units_ref))
    # jiwer aligns lists of words; characters are passed as space-separated "words".
    out = jiwer.process_words(" ".join(units_ref), " ".join(units_hyp))
    errors = out.substitutions + out.deletions + out.insertions
    return ErrorRate(metric, errors, len(units_ref))


def pooled(rates: Iterable[ErrorRate]) -> ErrorRate | None:
    """Total errors over total reference length, as corpus-level WER is defined."""
    rates = list(rates)
    if not rates:
        return None
    return ErrorRate(
        rates[0].metric,
        sum(r.errors for r in rates),
        sum(r.reference_length for r in rates),
    )


def word_count(text: str) -> int:
    """Whitespace-separated tokens of raw output: on silence any token is invented."""
    return len(text.split())


def overlap_s(a_start: float, a_end: float, b_start: float, b_end: float) -> float:
    return max(0.0, min(a_end, b_end) - max(a_start, b_start))


def subtitle_over_pauses(segments: Sequence[Timed], pauses: Sequence[Pause]) -> list[float]:
    """Seconds during which some segment is on screen, for each pause."""
    return [
        # Segments may overlap one another; merge them so no second counts twice.
        sum(overlap_s(s, e, p.start_s, p.end_s) for s, e in _merged(segments))
        for p in pauses
    ]


def segment_start_errors(segments: Sequence[Timed], parts: Sequence[Part]) -> list[float | None]:
    """For each part, the distance from its true start to the nearest start of a segment
    that overlaps it: a segment stretched back over the preceding pause shows up here.

    None when no segment overlaps the part at all (the part was missed).
    """
    errors: list[float | None] = []
    for part in parts:
        touching = [s for s in segments if overlap_s(s.start, s.end, part.start_s, part.end_s) > 0]
        if not touching:
            errors.append(None)
            continue
        errors.append(min(abs(s.start - part.start_s) for s in touching))
    return errors


def text_per_part(segments: Sequence[Timed], parts: Sequence[Part]) -> list[str]:
    """Output text assigned to each part: a segment goes to the part nearest its midpoint."""
    texts: list[list[str]] = [[] for _ in parts]
    if not parts:
        return []
    for seg in segments:
        mid = (seg.start + seg.end) / 2
        nearest = min(
            range(len(parts)),
            key=lambda i: 0.0 if parts[i].start_s <= mid <= parts[i].end_s
            else min(abs(mid - parts[i].start_s), abs(mid - parts[i].end_s)),
        )
        texts[nearest].append(seg.text)
    return ["".join(t).strip() for t in texts]


def _merged(segments: Sequence[Timed]) -> list[tuple[float, float]]:
    spans = sorted((s.start, s.end) for s in segments if s.end > s.start)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
