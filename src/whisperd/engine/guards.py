"""Hallucination guards that act on text, after Whisper's own thresholds.

Whisper, given noise or a stretch it cannot read, tends to loop ("Thank you. Thank
you. Thank you. ...") or to repeat the previous line. VAD and the no-speech rule
catch most of it upstream; these catch what is left:

- ``collapse_loops``: a phrase of n words repeated r >= 3 times in a row, covering at
  least ``MIN_LOOP_WORDS`` words, keeps only its first occurrence. Short genuine
  repetitions ("words words words words", "no, no, no") are left alone.
- ``drop_repeated_segments``: a segment of several words whose text equals the
  previous segment's is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

MIN_LOOP_REPEATS = 3
MIN_LOOP_WORDS = 10  # n * r: shorter repetitions are plausible speech
MAX_LOOP_PHRASE = 12  # longest phrase (in words) searched for
MIN_DUPLICATE_WORDS = 3

_PUNCT = re.compile(r"[^\w\s']", re.UNICODE)

W = TypeVar("W")


def normalize(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def collapse_loops(words: Sequence[W], text_of: Callable[[W], str]) -> list[W]:
    """``words`` with every long repetition loop cut down to its first occurrence."""
    keys = [normalize(text_of(w)) for w in words]
    out: list[W] = []
    i = 0
    while i < len(words):
        loop = _loop_at(keys, i)
        if loop is not None:
            n, r = loop
            out.extend(words[i:i + n])
            i += n * r
        else:
            out.append(words[i])
            i += 1
    return out


def _loop_at(keys: list[str], i: int) -> tuple[int, int] | None:
    for n in range(1, MAX_LOOP_PHRASE + 1):
        phrase = keys[i:i + n]
        if len(phrase) < n:
            break
        r = 1
        while keys[i + r * n:i + (r + 1) * n] == phrase:
            r += 1
        if r >= MIN_LOOP_REPEATS and n * r >= MIN_LOOP_WORDS:
            return n, r
    return None


def is_repeat_of(text: str, previous: str | None) -> bool:
    """Whether a segment only repeats the previous one (a common hallucination)."""
    if previous is None:
        return False
    key = normalize(text)
    return len(key.split()) >= MIN_DUPLICATE_WORDS and key == normalize(previous)
