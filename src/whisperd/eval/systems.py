"""The systems eval and bench compare, behind one call each.

``whisperd``: Engine.transcribe with default TranscriptionOptions (VAD, hallucination
guards, per-segment language ...). ``faster-whisper``: ``WhisperModel.transcribe``
with every default, on the very model object the engine loaded, so the comparison
measures the pipeline and nothing else (same weights, same threads, same process).
``faster-whisper batched`` (bench only): faster-whisper's own
``BatchedInferencePipeline`` with its defaults and whisperd's batch size, the
library's answer to the same problem, for reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from whisperd.engine.options import TranscriptionOptions

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

    from whisperd.engine.model import Engine

WHISPERD = "whisperd"
BARE = "faster-whisper"
BATCHED = "faster-whisper batched"


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    text: str
    language: str | None = None


@dataclass(frozen=True)
class Hypothesis:
    text: str
    language: str | None  # the (first) detected language
    segments: tuple[Span, ...]
    wall_s: float  # transcription only: decoding the audio is not counted

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages of the output segments in order of appearance, else the detected one."""
        seen = tuple(dict.fromkeys(s.language for s in self.segments if s.language))
        return seen or ((self.language,) if self.language else ())


Transcriber = Callable[[np.ndarray], Hypothesis]


def whisperd_transcriber(engine: Engine, model: str, **changes: Any) -> Transcriber:
    """whisperd's pipeline with default options (``changes``: options to set otherwise)."""
    options = TranscriptionOptions(model=model, **changes)

    def run(samples: np.ndarray) -> Hypothesis:
        started = time.perf_counter()
        transcript = engine.transcribe(samples, options)
        wall = time.perf_counter() - started
        return Hypothesis(
            text=transcript.text,
            language=transcript.language or None,
            segments=tuple(
                Span(s.start, s.end, s.text, s.language or transcript.language or None)
                for s in transcript.segments
            ),
            wall_s=wall,
        )

    return run


def bare_transcriber(whisper_model: WhisperModel) -> Transcriber:
    def run(samples: np.ndarray) -> Hypothesis:
        started = time.perf_counter()
        segments, info = whisper_model.transcribe(samples)
        # The segments are a lazy generator: the work happens while consuming it.
        spans = tuple(Span(s.start, s.end, s.text, info.language) for s in segments)
        wall = time.perf_counter() - started
        return Hypothesis(
            text="".join(s.text for s in spans).strip(),
            language=info.language,
            segments=spans,
            wall_s=wall,
        )

    return run


def batched_transcriber(whisper_model: WhisperModel, batch_size: int) -> Transcriber:
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(whisper_model)

    def run(samples: np.ndarray) -> Hypothesis:
        started = time.perf_counter()
        segments, info = pipeline.transcribe(samples, batch_size=batch_size)
        spans = tuple(Span(s.start, s.end, s.text, info.language) for s in segments)
        wall = time.perf_counter() - started
        return Hypothesis(text="".join(s.text for s in spans).strip(), language=info.language,
                          segments=spans, wall_s=wall)

    return run


def transcribers(engine: Engine, model: str, *, batched: bool = False
                 ) -> dict[str, Transcriber]:
    """The systems, on the one model object the engine holds for ``model``."""
    whisper_model = engine.whisper_model(model)
    systems = {
        WHISPERD: whisperd_transcriber(engine, model),
        BARE: bare_transcriber(whisper_model),
    }
    if batched:
        systems[BATCHED] = batched_transcriber(whisper_model, engine.settings.batch_size)
    return systems
