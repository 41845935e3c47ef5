"""Transcript -> text in every output format the APIs, the CLI and jobs offer.

Pure functions of a Transcript: nothing here needs a model, so the formats are
tested on hand-written transcripts. ``render`` is the one entry point; FORMATS
is the table of names, media types and file extensions.

``text`` is OpenAI's (the whole text), ``txt`` whisper-asr-webservice's (one
segment per line); ``json``/``verbose_json`` are OpenAI's shapes and
``asr_json`` is what whisper-asr-webservice returns for ``output=json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from whisperd.errors import UnsupportedFormat
from whisperd.formats.json_formats import to_asr_json, to_json, to_verbose_json
from whisperd.formats.subtitles import to_srt, to_vtt
from whisperd.formats.text import to_text, to_tsv, to_txt
from whisperd.transcript import Transcript

__all__ = ["FORMATS", "OutputFormat", "render"]

# (transcript, word_timestamps) -> body
Renderer = Callable[[Transcript, bool], str]


@dataclass(frozen=True)
class OutputFormat:
    name: str
    mimetype: str
    extension: str  # without the dot, for download file names
    render: Renderer


def _ignoring_words(fn: Callable[[Transcript], str]) -> Renderer:
    return lambda transcript, _word_timestamps: fn(transcript)


_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"

FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("text", _TEXT, "txt", _ignoring_words(to_text)),
        OutputFormat("txt", _TEXT, "txt", _ignoring_words(to_txt)),
        OutputFormat("srt", "application/x-subrip; charset=utf-8", "srt", _ignoring_words(to_srt)),
        OutputFormat("vtt", "text/vtt; charset=utf-8", "vtt", _ignoring_words(to_vtt)),
        OutputFormat("tsv", "text/tab-separated-values; charset=utf-8", "tsv",
                     _ignoring_words(to_tsv)),
        OutputFormat("json", _JSON, "json", _ignoring_words(to_json)),
        OutputFormat("verbose_json", _JSON, "json",
                     lambda t, words: to_verbose_json(t, word_timestamps=words)),
        OutputFormat("asr_json", _JSON, "json",
                     lambda t, words: to_asr_json(t, word_timestamps=words)),
    )
}


def get_format(name: str) -> OutputFormat:
    """The format called ``name`` (case and surrounding spaces ignored)."""
    fmt = FORMATS.get(name.strip().lower())
    if fmt is None:
        raise UnsupportedFormat(
            f"Unsupported response_format {name!r}; use one of {', '.join(FORMATS)}.",
            param="response_format",
        )
    return fmt


def render(transcript: Transcript, fmt: str, *, word_timestamps: bool = False) -> tuple[str, str]:
    """(body, mimetype) of ``transcript`` in format ``fmt``; UnsupportedFormat if unknown."""
    output = get_format(fmt)
    return output.render(transcript, word_timestamps), output.mimetype
