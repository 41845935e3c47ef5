"""Aligned words -> subtitle-ready segments on the original timeline.

Whisper's own segment times are coarse, and once silence has been cut out of a
window a segment can start in one speech region and end in another, which maps
back to a subtitle hanging over the whole pause. whisperd therefore builds segments
from aligned words:

- each word is mapped back through the VAD region its middle falls in, and clipped
  to that region, so no word sits in removed silence;
- a word much longer than its neighbours at a region edge is trimmed (DTW tends to
  stretch the first word after, and the last word before, a pause);
- a new segment starts at every cut between regions, after a gap between words
  longer than ``MAX_WORD_GAP_S``, at the end of a sentence, and at a clause end once a
  segment is long;
- a segment still longer than a subtitle should be (``MAX_SEGMENT_S`` on screen or
  ``MAX_SEGMENT_CHARS``: two lines of 42, the common broadcast limits) is split where
  a reader would: at punctuation or the longest breath between words, near its middle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from whisperd.engine.decode import WindowResult
from whisperd.engine.windows import SAMPLE_RATE, Span

MAX_WORD_GAP_S = 1.0  # a silence this long inside a region still ends a subtitle
SOFT_MAX_SEGMENT_S = 6.0  # beyond this, split at the next comma or clause end
MAX_SEGMENT_S = 7.0  # longer segments are split in two (recursively)
MAX_SEGMENT_CHARS = 84
MIN_PART_S = 1.0  # neither half of a split may be shorter than this, if avoidable
SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")
CLAUSE_END = (",", ";", ":", "，", "、", "；")
MAX_WORD_S = 1.5  # no real word lasts longer than this at a region edge


@dataclass
class TimedWord:
    word: str
    start: float  # original audio, seconds
    end: float
    probability: float
    tokens: list[int]
    span: int  # index of the window span (VAD region) it lies in
    # Stretch of uncut audio it lies in: a new one starts at every cut, where a
    # segment must end; touching spans share it.
    stretch: int = 0


def place_words(result: WindowResult) -> list[TimedWord]:
    """The window's words on the original timeline, each clipped to its speech region."""
    window = result.window
    durations = [w.end - w.start for w in result.words if w.end > w.start]
    # Same idea as Whisper's word-timing heuristics: twice the median word length,
    # bounded, is the longest a word at a region edge is allowed to be.
    median = float(np.median(durations)) if durations else 0.5
    max_edge = min(MAX_WORD_S, max(2 * median, 0.4))
    stretches = [0]
    for k in range(1, len(window.spans)):
        stretches.append(stretches[-1] + window.cut_before(k))
    placed: list[TimedWord] = []
    for w in result.words:
        span = window.span_at((w.start + w.end) / 2)
        lo, hi = window.span_bounds(span)
        start = min(max(w.start, lo), hi)
        end = min(max(w.end, start), hi)
        word = TimedWord(w.word, window.to_original(start, span),
                         window.to_original(end, span), w.probability, w.tokens, span,
                         stretches[span])
        if window.speech and not _inside_speech(word, window.speech):
            continue  # no text where VAD heard no speech
        if result.spans is not None and word.span not in result.spans:
            continue  # another language's pass over this window owns that region
        placed.append(word)
    _trim_edge_words(placed, max_edge)
    return placed


def _inside_speech(word: TimedWord, speech: tuple[Span, ...]) -> bool:
    """Clip ``word`` to the VAD regions it overlaps; False when it overlaps none."""
    hits = [i for i, r in enumerate(speech)
            if word.start < r.end / SAMPLE_RATE and word.end > r.start / SAMPLE_RATE]
    if not hits:
        return False
    first, last = speech[hits[0]], speech[hits[-1]]
    word.start = max(word.start, first.start / SAMPLE_RATE)
    word.end = max(word.start, min(word.end, last.end / SAMPLE_RATE))
    word.span = word.stretch = hits[0]  # segments then split between VAD regions
    return True


def _trim_edge_words(words: list[TimedWord], max_edge: float) -> None:
    for i, w in enumerate(words):
        first = i == 0 or words[i - 1].stretch != w.stretch or w.start - words[i - 1].end > 0.3
        last = i == len(words) - 1 or words[i + 1].stretch != w.stretch \
            or words[i + 1].start - w.end > 0.3
        if w.end - w.start > max_edge:
            if first and not last:
                w.start = w.end - max_edge
            elif last and not first:
                w.end = w.start + max_edge


def split_words(words: list[TimedWord]) -> list[list[TimedWord]]:
    """Group consecutive words into segments (see the module docstring for the rules)."""
    groups: list[list[TimedWord]] = []
    current: list[TimedWord] = []
    for w in words:
        if current and _breaks_before(current, w):
            groups.append(current)
            current = []
        current.append(w)
    if current:
        groups.append(current)
    return [part for group in groups for part in _fit_subtitle(group)]


def _fit_subtitle(words: list[TimedWord]) -> list[list[TimedWord]]:
    """``words`` as one segment, or split recursively until each part fits a subtitle."""
    duration = words[-1].end - words[0].start
    chars = len("".join(w.word for w in words).strip())
    if len(words) < 2 or (duration <= MAX_SEGMENT_S and chars <= MAX_SEGMENT_CHARS):
        return [words]
    cut = max(range(1, len(words)), key=lambda i: _split_score(words, i))
    return _fit_subtitle(words[:cut]) + _fit_subtitle(words[cut:])


def _split_score(words: list[TimedWord], i: int) -> float:
    """How good a place the boundary before ``words[i]`` is to end a subtitle."""
    start, end = words[0].start, words[-1].end
    left, right = words[i - 1].end - start, end - words[i].start
    before = words[i - 1].word.rstrip()
    score = 2.0 if before.endswith(SENTENCE_END) else 1.0 if before.endswith(CLAUSE_END) else 0.0
    score += 4.0 * min(words[i].start - words[i - 1].end, 0.5)  # a pause of 0.25 s ~ a comma
    score -= 2.0 * abs(left - right) / max(end - start, 1e-6)  # halves of similar length
    if min(left, right) < MIN_PART_S:
        score -= 3.0
    return score


def _abbreviation(word: str) -> bool:
    # "Mr." or "Dr." ends with a full stop but not a sentence.
    bare = word.strip()
    return len(bare) <= 4 and bare[:1].isupper() and bare.endswith(".")


def _breaks_before(current: list[TimedWord], nxt: TimedWord) -> bool:
    prev = current[-1]
    if nxt.stretch != prev.stretch or nxt.start - prev.end > MAX_WORD_GAP_S:
        return True
    length = prev.end - current[0].start
    text = prev.word.rstrip()
    if text.endswith(SENTENCE_END) and len(current) >= 3 and not _abbreviation(text):
        return True
    return length >= SOFT_MAX_SEGMENT_S and text.endswith(CLAUSE_END)
