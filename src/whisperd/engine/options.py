"""TranscriptionOptions: the one set of knobs every API, the CLI and jobs map onto.

Each API translates its own parameter names (OpenAI's ``prompt``, asr-webservice's
``initial_prompt``, ...) into this dataclass; ``validate()`` is the one place that
checks values and raises ``InvalidRequest`` naming the offending parameter.
Defaults are whisperd's: VAD and the hallucination guards are on, because they only
improve quality (silence gives no text instead of invented words).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from whisperd.errors import InvalidRequest
from whisperd.languages import normalize_language

TASKS = ("transcribe", "translate")

# Whisper's temperature fallback schedule: decode greedily first and raise the
# temperature only when a window fails the compression-ratio / log-prob checks.
DEFAULT_TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

# Beam width when none is asked for. Audio that fits one 30 s window is decoded with
# Whisper's 5 beams: on the eval's short clips 2 beams cost 7 more errors (58 -> 65)
# and greedy 23 more. Longer audio is decoded in batches of packed windows, each full
# of speech and context, where 2 beams made no more errors than 5 (long and gaps
# recordings: 67 vs 71 errors over 1089 words) in 20 % less time; greedy was no
# faster than 2 beams there. Measured on the base model, int8, this machine.
SHORT_AUDIO_BEAM_SIZE = 5
LONG_AUDIO_BEAM_SIZE = 2


@dataclass(frozen=True)
class VadParameters:
    """Silero VAD settings (faster_whisper.vad.VadOptions), with whisperd's defaults."""

    # Speech probability above which a frame counts as speech.
    threshold: float = 0.5
    # Shorter bursts of speech are dropped as clicks or noise.
    min_speech_duration_ms: int = 250
    # Silence shorter than this does not split speech.
    min_silence_duration_ms: int = 500
    # Padding kept on each side of detected speech so word onsets are not clipped.
    # 400 (faster-whisper's default) measured better than 200 on the eval set:
    # base WER clean 0.118 -> 0.092, noisy 0.257 -> 0.162.
    speech_pad_ms: int = 400

    def validate(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise InvalidRequest("vad threshold must be between 0 and 1", param="vad_threshold")
        for name in ("min_speech_duration_ms", "min_silence_duration_ms", "speech_pad_ms"):
            if getattr(self, name) < 0:
                raise InvalidRequest(f"vad {name} must be 0 or more", param=name)


@dataclass(frozen=True)
class TranscriptionOptions:
    # "transcribe" keeps the spoken language; "translate" gives English.
    task: str = "transcribe"
    # ISO 639-1 code; None detects it per chunk, so mixed-language audio keeps every language.
    language: str | None = None
    # Model name or alias; None (or "whisper-1") means the service's default model.
    model: str | None = None
    # Text that conditions the first window (names, spelling, style).
    initial_prompt: str | None = None
    # None: Whisper's fallback schedule. A value: start there and fall back upwards.
    temperature: float | None = None
    # Per-word start/end times (segments are always clipped to speech either way).
    word_timestamps: bool = False
    # Silero VAD before decoding: skips silence and noise, and bounds segment times.
    vad_filter: bool = True
    vad: VadParameters = field(default_factory=VadParameters)
    # Stationary noise reduction for a clip of up to 30 s whose loudness spreads less
    # than 14 dB, i.e. recorded in steady noise (engine/denoise.py); clean clips are
    # left as they are.
    denoise: bool = True
    # None: SHORT_AUDIO_BEAM_SIZE for audio up to 30 s, LONG_AUDIO_BEAM_SIZE beyond.
    beam_size: int | None = None
    # Hallucination guards (Whisper's own thresholds, plus whisperd's).
    # A window whose no-speech probability is above this and whose average
    # log-probability is below log_prob_threshold is treated as silence.
    no_speech_threshold: float | None = 0.6
    log_prob_threshold: float | None = -1.0
    # Text that compresses better than this (gzip ratio) is a repetition loop: retry hotter.
    compression_ratio_threshold: float | None = 2.4
    # Drop segments that repeat the previous segment's text, or loop a short phrase.
    drop_repetitions: bool = True
    # How many top languages language detection reports.
    language_top_k: int = 5

    def replace(self, **changes: Any) -> TranscriptionOptions:
        return dataclasses.replace(self, **changes)

    @property
    def temperatures(self) -> tuple[float, ...]:
        if self.temperature is None or self.temperature == 0.0:
            return DEFAULT_TEMPERATURES
        return tuple(t for t in DEFAULT_TEMPERATURES if t >= self.temperature) or (
            self.temperature,
        )

    def beam_for(self, *, long_audio: bool) -> int:
        if self.beam_size is not None:
            return self.beam_size
        return LONG_AUDIO_BEAM_SIZE if long_audio else SHORT_AUDIO_BEAM_SIZE

    def validated(self) -> TranscriptionOptions:
        """A copy with the language normalised; raises InvalidRequest on a bad value."""
        if self.task not in TASKS:
            raise InvalidRequest(
                f"task must be one of {', '.join(TASKS)}, not {self.task!r}", param="task"
            )
        if self.temperature is not None and not 0.0 <= self.temperature <= 1.0:
            raise InvalidRequest("temperature must be between 0 and 1", param="temperature")
        if self.beam_size is not None and not 1 <= self.beam_size <= 20:
            raise InvalidRequest("beam_size must be between 1 and 20", param="beam_size")
        if not 1 <= self.language_top_k <= 100:
            raise InvalidRequest("top-k must be between 1 and 100", param="language_top_k")
        if self.initial_prompt is not None and len(self.initial_prompt) > 4000:
            raise InvalidRequest("prompt is too long (4000 characters at most)", param="prompt")
        self.vad.validate()
        return self.replace(language=normalize_language(self.language))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranscriptionOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("vad"), dict):
            values["vad"] = VadParameters(**values["vad"])
        return cls(**values)
