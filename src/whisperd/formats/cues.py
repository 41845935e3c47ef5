"""Segments -> subtitle cues of at most two lines of about 42 characters.

Whisper's segments can run to 30 seconds and a paragraph of text, far more than
a viewer can read at once. Each segment is cut into cues at word boundaries:
its words are wrapped into lines of even width (no more lines than greedy
wrapping at the full width needs), and the lines grouped two to a cue. A cue's times come from its
first and last word's timestamps when the engine produced them; otherwise time
is shared out within the segment in proportion to characters, the same
approximation subtitle editors make.

Widths count East Asian wide characters twice, so a line of Japanese holds 21
characters, not 42. A run without spaces longer than a line (Chinese, Japanese,
a URL) is cut every ``max_width`` columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from whisperd.transcript import Segment, Transcript

MAX_LINE_WIDTH = 42  # columns; the common broadcast and Netflix guideline for Latin script
MAX_LINES = 2  # lines per cue
# "-->" separates a cue's times; "---->" would still hold one after a plain replace.
_ARROWS = re.compile(r"-{2,}>")


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int  # always > start_ms
    lines: tuple[str, ...]  # 1..MAX_LINES non-empty lines, trimmed, without "-->"


@dataclass(frozen=True)
class _Token:
    text: str  # with the whitespace that separates it from the previous token
    start: float
    end: float


def build_cues(transcript: Transcript, *, max_width: int = MAX_LINE_WIDTH,
               max_lines: int = MAX_LINES) -> list[Cue]:
    cues: list[Cue] = []
    for segment in transcript.segments:
        for lines in _cue_lines(_tokens(segment, max_width), max_width, max_lines):
            start_ms = max(0, round(lines[0][0].start * 1000))
            end_ms = round(lines[-1][-1].end * 1000)
            if cues and start_ms < cues[-1].end_ms:
                start_ms = _end_previous_cue(cues, start_ms)
            cues.append(Cue(start_ms, max(end_ms, start_ms + 1),
                            tuple(_text(line) for line in lines)))
    return cues


def _end_previous_cue(cues: list[Cue], start_ms: int) -> int:
    """Make the last cue end where the next one starts; the start of that next cue.

    Players stack overlapping cues on screen, and Whisper's times do overlap now
    and then (a last word's end past the next segment's start), so the earlier
    cue gives way. Should that leave it no time, the later cue starts later.
    """
    previous = cues[-1]
    if start_ms > previous.start_ms:
        cues[-1] = Cue(previous.start_ms, start_ms, previous.lines)
        return start_ms
    return previous.end_ms


def clean_text(text: str) -> str:
    """One line: whitespace runs (newlines too) become one space; "-->" would end a cue header."""
    return _ARROWS.sub("->", " ".join(text.split()))


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _tokens(segment: Segment, max_width: int) -> list[_Token]:
    words = [w for w in (segment.words or ()) if clean_text(w.word)]
    if words:
        raw = [(_normalize_space(w.word), w.start, w.end) for w in words]
    else:
        raw = _proportional(segment)
    tokens: list[_Token] = []
    for text, start, end in raw:
        tokens.extend(_split_long(text, start, end, max_width))
    if tokens:
        # A cue never starts with the space that separated it from the previous one.
        first = tokens[0]
        tokens[0] = _Token(first.text.lstrip(), first.start, first.end)
    return tokens


def _normalize_space(word: str) -> str:
    """Keep whether a word was preceded by a space (CJK words are not), as one space."""
    body = clean_text(word)
    return (" " + body) if word[:1].isspace() else body


def _proportional(segment: Segment) -> list[tuple[str, float, float]]:
    text = clean_text(segment.text)
    if not text:
        return []
    duration = max(segment.end - segment.start, 0.0)
    per_char = duration / len(text)
    out = []
    for match in re.finditer(r"\s*\S+", text):
        out.append((match.group(), segment.start + match.start() * per_char,
                    segment.start + match.end() * per_char))
    return out


def _split_long(text: str, start: float, end: float, max_width: int) -> Iterator[_Token]:
    """A token wider than a line is cut into line-wide pieces, its time shared out."""
    if width(text.lstrip()) <= max_width:
        yield _Token(text, start, end)
        return
    lead = text[: len(text) - len(text.lstrip())]
    body = text.lstrip()
    pieces: list[str] = []
    current = ""
    for ch in body:
        if current and width(current + ch) > max_width:
            pieces.append(current)
            current = ""
        current += ch
    pieces.append(current)
    step = (end - start) / len(body) if body else 0.0
    offset = 0
    for i, piece in enumerate(pieces):
        piece_start = start + offset * step
        offset += len(piece)
        yield _Token((lead if i == 0 else "") + piece, piece_start, start + offset * step)


def _line_width(tokens: Sequence[_Token]) -> int:
    return width(_text(tokens))


def _cue_lines(tokens: list[_Token], max_width: int,
               max_lines: int) -> Iterator[list[list[_Token]]]:
    """Lines grouped max_lines to a cue, wrapped as evenly as the line count allows."""
    lines = _wrap(tokens, _even_width(tokens, max_width))
    for i in range(0, len(lines), max_lines):
        yield lines[i:i + max_lines]


def _even_width(tokens: list[_Token], max_width: int) -> int:
    """The narrowest width that needs no more lines than max_width does.

    Greedy wrapping at the full width leaves a short last line ("can do for your
    country." alone on screen); wrapping at the narrowest width with the same
    line count spreads the words evenly over the lines instead.
    """
    needed = len(_wrap(tokens, max_width))
    low = max((_line_width([t]) for t in tokens), default=1)
    high = max_width
    while low < high:
        mid = (low + high) // 2
        if len(_wrap(tokens, mid)) <= needed:
            high = mid
        else:
            low = mid + 1
    return high


def _wrap(tokens: list[_Token], max_width: int) -> list[list[_Token]]:
    """Greedy: each line takes words until the next would pass max_width."""
    lines: list[list[_Token]] = []
    line: list[_Token] = []
    for token in tokens:
        if line and _line_width(line + [token]) > max_width:
            lines.append(line)
            line = []
            token = _Token(token.text.lstrip(), token.start, token.end)
        line.append(token)
    if line:
        lines.append(line)
    return lines


def _text(tokens: Sequence[_Token]) -> str:
    return "".join(t.text for t in tokens).strip()
