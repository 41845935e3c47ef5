"""JSON: OpenAI's ``json`` and ``verbose_json``; whisper-asr-webservice's ``output=json``."""

from __future__ import annotations

import json
from typing import Any

from whisperd.languages import LANGUAGES
from whisperd.transcript import Segment, Transcript


def to_json(transcript: Transcript) -> str:
    """OpenAI's ``response_format=json``."""
    return _dump({"text": transcript.text})


def to_verbose_json(transcript: Transcript, *, word_timestamps: bool = False) -> str:
    """OpenAI's ``response_format=verbose_json``.

    OpenAI names the language ("english") where whisper-asr-webservice gives the
    code; each segment also carries whisperd's own ``language`` code when the
    engine identified it per segment. Words go at the top level, as OpenAI puts
    them, and only when word timestamps were asked for.
    """
    body: dict[str, Any] = {
        "task": transcript.task,
        "language": LANGUAGES.get(transcript.language, transcript.language),
        "duration": transcript.duration,
        "text": transcript.text,
        "segments": [_openai_segment(s) for s in transcript.segments],
    }
    if word_timestamps:
        body["words"] = [
            {"word": w.word.strip(), "start": w.start, "end": w.end} for w in transcript.words
        ]
    return _dump(body)


def to_asr_json(transcript: Transcript, *, word_timestamps: bool = False) -> str:
    """whisper-asr-webservice's ``output=json`` with its faster-whisper engine.

    That service dumps ``{"language", "segments", "text"}``: the language code,
    faster-whisper's Segment dataclasses as dicts (``words`` is null unless word
    timestamps were asked for), and the segment texts joined as they are, so the
    text keeps Whisper's leading space.
    """
    return _dump({
        "language": transcript.language,
        "segments": [_asr_segment(s, word_timestamps) for s in transcript.segments],
        "text": "".join(s.text for s in transcript.segments),
    })


def _openai_segment(segment: Segment) -> dict[str, Any]:
    # OpenAI's segment fields (plus whisperd's per-segment language); words travel at
    # the top level of verbose_json, not inside segments.
    data = segment.to_dict()
    data.pop("words", None)
    return data


def _asr_segment(segment: Segment, word_timestamps: bool) -> dict[str, Any]:
    # Field order of faster_whisper.transcribe.Segment.
    words = None
    if word_timestamps and segment.words is not None:
        words = [w.to_dict() for w in segment.words]
    return {
        "id": segment.id,
        "seek": segment.seek,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": list(segment.tokens),
        "avg_logprob": segment.avg_logprob,
        "compression_ratio": segment.compression_ratio,
        "no_speech_prob": segment.no_speech_prob,
        "words": words,
        "temperature": segment.temperature,
    }


def _dump(data: dict[str, Any]) -> str:
    # UTF-8 rather than \u escapes: smaller for non-Latin scripts, and equal once parsed.
    return json.dumps(data, ensure_ascii=False)
