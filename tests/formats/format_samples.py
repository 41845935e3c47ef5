"""Hand-written transcripts shared by the format tests (no model involved)."""

from __future__ import annotations

from whisperd.transcript import Segment, Transcript, Word

JFK = (" And so my fellow Americans, ask not what your country can do for you,"
       " ask what you can do for your country.")


def words_of(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words with Whisper's leading spaces and evenly spread times."""
    pieces = [" " + w for w in text.split()]
    step = (end - start) / len(pieces)
    return tuple(Word(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(pieces))


def transcript(*segments: Segment, language: str = "en", duration: float = 0.0) -> Transcript:
    end = max((s.end for s in segments), default=0.0)
    return Transcript(task="transcribe", language=language, duration=duration or end,
                      segments=segments)


SIMPLE = transcript(
    Segment(0, 0.0, 2.5, " Hello there.", seek=0, tokens=(50364, 2425, 456, 13),
            avg_logprob=-0.2, compression_ratio=0.8, no_speech_prob=0.01),
    Segment(1, 2.5, 5.25, " How are you today?", seek=0, tokens=(1012, 366, 291, 965, 30),
            temperature=0.2),
)
LONG = transcript(Segment(0, 0.0, 11.0, JFK))
LONG_WITH_WORDS = transcript(Segment(0, 0.0, 11.0, JFK, words=words_of(JFK, 0.5, 10.5)))
EMPTY = transcript()
