"""Request parameters of each API, parsed into TranscriptionOptions.

Parsing is strict: a value of the wrong type or out of range is an InvalidRequest
naming the parameter, raised before any audio is decoded. Unknown extra parameters
are ignored, as both reference services do (whisper-asr-webservice clients send
e.g. ``video_file``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import InvalidRequest, UnsupportedFormat

OPENAI_RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
OPENAI_GRANULARITIES = ("segment", "word")
ASR_OUTPUTS = ("txt", "vtt", "srt", "tsv", "json")
# whisper-asr-webservice's output names -> whisperd's format names.
ASR_OUTPUT_FORMATS = {"txt": "txt", "vtt": "vtt", "srt": "srt", "tsv": "tsv", "json": "asr_json"}

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(value: str | None, *, param: str, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidRequest(f"{param} must be true or false, not {value!r}", param=param)


def parse_float(value: str | None, *, param: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(f"{param} must be a number, not {value!r}", param=param) from None
    if not math.isfinite(number):
        raise InvalidRequest(f"{param} must be a finite number", param=param)
    return number


def parse_int(value: str | None, *, param: str, default: int, low: int, high: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(f"{param} must be an integer, not {value!r}", param=param) from None
    if not low <= number <= high:
        raise InvalidRequest(f"{param} must be between {low} and {high}", param=param)
    return number


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


@dataclass(frozen=True)
class OpenAIRequest:
    options: TranscriptionOptions
    response_format: str
    word_timestamps: bool  # "word" in timestamp_granularities[]


def form_granularities(form: MultiDict) -> list[str]:
    """``timestamp_granularities[]`` values (the SDK's name, or without the brackets)."""
    values = form.getlist("timestamp_granularities[]") + form.getlist("timestamp_granularities")
    return [v.strip() for v in values if v.strip()]


def openai_options(form: Mapping[str, str], granularities: list[str], *,
                   task: str) -> TranscriptionOptions:
    """TranscriptionOptions from OpenAI's multipart fields (shared by /v1/audio/* and /v1/jobs)."""
    for granularity in granularities:
        if granularity not in OPENAI_GRANULARITIES:
            raise InvalidRequest(
                f"timestamp_granularities[] must be segment or word, not {granularity!r}",
                param="timestamp_granularities",
            )
    return TranscriptionOptions(
        task=task,
        language=_text(form.get("language")),
        model=_text(form.get("model")),
        initial_prompt=_text(form.get("prompt")),
        temperature=parse_float(form.get("temperature"), param="temperature"),
        word_timestamps="word" in granularities or parse_bool(
            form.get("word_timestamps"), param="word_timestamps", default=False
        ),
        vad_filter=parse_bool(form.get("vad_filter"), param="vad_filter", default=True),
        denoise=parse_bool(form.get("denoise"), param="denoise", default=True),
    ).validated()


def openai_request(form: Mapping[str, str], granularities: list[str], *, task: str) -> OpenAIRequest:
    """Parse the multipart fields of /v1/audio/transcriptions and /translations."""
    response_format = (form.get("response_format") or "json").strip()
    if response_format not in OPENAI_RESPONSE_FORMATS:
        raise UnsupportedFormat(
            f"response_format must be one of {', '.join(OPENAI_RESPONSE_FORMATS)}, "
            f"not {response_format!r}",
            param="response_format",
        )
    if parse_bool(form.get("stream"), param="stream", default=False):
        raise InvalidRequest("stream=true is not supported by whisperd", param="stream")
    options = openai_options(form, granularities, task=task)
    words = "word" in granularities
    if words and response_format != "verbose_json":
        # OpenAI answers this combination with a 400 too.
        raise InvalidRequest(
            "timestamp_granularities[] requires response_format=verbose_json",
            param="timestamp_granularities",
        )
    return OpenAIRequest(options=options, response_format=response_format, word_timestamps=words)


@dataclass(frozen=True)
class AsrRequest:
    options: TranscriptionOptions
    output: str  # whisper-asr-webservice's name: txt, vtt, srt, tsv, json
    encode: bool  # False: the upload is raw 16 kHz mono s16le PCM


def asr_request(args: Mapping[str, str]) -> AsrRequest:
    """Parse the query string of whisper-asr-webservice's POST /asr."""
    output = (args.get("output") or "txt").strip()
    if output not in ASR_OUTPUTS:
        raise UnsupportedFormat(
            f"output must be one of {', '.join(ASR_OUTPUTS)}, not {output!r}", param="output"
        )
    task = (args.get("task") or "transcribe").strip()
    options = TranscriptionOptions(
        task=task,
        language=_text(args.get("language")),
        initial_prompt=_text(args.get("initial_prompt")),
        word_timestamps=parse_bool(
            args.get("word_timestamps"), param="word_timestamps", default=False
        ),
        # whisperd's default (VAD on) only improves quality; vad_filter=false turns it off.
        vad_filter=parse_bool(args.get("vad_filter"), param="vad_filter", default=True),
        denoise=parse_bool(args.get("denoise"), param="denoise", default=True),
    ).validated()
    encode = parse_bool(args.get("encode"), param="encode", default=True)
    return AsrRequest(options=options, output=output, encode=encode)


def detect_language_request(args: Mapping[str, str]) -> tuple[bool, int | None]:
    """(encode, top_k) of POST /detect-language; top_k None keeps the original's answer."""
    encode = parse_bool(args.get("encode"), param="encode", default=True)
    top_k_raw = args.get("top_k")
    top_k = None
    if top_k_raw is not None and top_k_raw.strip():
        top_k = parse_int(top_k_raw, param="top_k", default=5, low=1, high=100)
    return encode, top_k
