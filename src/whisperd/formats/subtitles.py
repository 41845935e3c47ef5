"""SubRip (SRT) and WebVTT subtitles.

The two differ in little more than their timestamps: SRT numbers its cues from 1
and writes ``00:01:02,345``; WebVTT opens with a ``WEBVTT`` line and writes
``00:01:02.345``. WebVTT cue text is markup (``<b>``, ``&amp;``), so ``&``,
``<`` and ``>`` are escaped there; SRT players take text as it is.
Cue splitting and wrapping live in cues.py.
"""

from __future__ import annotations

from whisperd.formats.cues import Cue, build_cues
from whisperd.transcript import Transcript

_VTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def format_timestamp(ms: int, *, decimal_marker: str) -> str:
    """``HH:MM:SS<marker>mmm``; hours keep growing past 99 rather than wrap."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal_marker}{millis:03d}"


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{number}\n{_timing(cue, ',')}\n" + "\n".join(cue.lines) + "\n"
        for number, cue in enumerate(build_cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"] + [
        f"{_timing(cue, '.')}\n" + "\n".join(line.translate(_VTT_ESCAPES) for line in cue.lines)
        + "\n"
        for cue in build_cues(transcript)
    ]
    return "\n".join(blocks)


def _timing(cue: Cue, decimal_marker: str) -> str:
    start = format_timestamp(cue.start_ms, decimal_marker=decimal_marker)
    end = format_timestamp(cue.end_ms, decimal_marker=decimal_marker)
    return f"{start} --> {end}"
