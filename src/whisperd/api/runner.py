"""Running one synchronous request's transcription, wherever the model is.

With a local model: take a slot from the concurrency limiter (429 beyond it),
decode inside the slot (decoding a long file costs memory too), transcribe.
Without one (an API-only server): forward the audio through the job queue to a
worker and wait for its answer.
"""

from __future__ import annotations

import io
import logging
import time
import wave

import numpy as np

from whisperd.api.uploads import Upload
from whisperd.audio.decode import SAMPLE_RATE, decode_audio, decode_pcm16
from whisperd.engine.options import TranscriptionOptions
from whisperd.errors import ServiceUnavailable
from whisperd.services import Services
from whisperd.transcript import Transcript

log = logging.getLogger(__name__)


def transcribe_upload(svc: Services, upload: Upload, options: TranscriptionOptions,
                      *, raw_pcm: bool = False) -> Transcript:
    if svc.engine is None:
        return _forward(svc, upload, options, raw_pcm=raw_pcm, kind="transcribe")  # type: ignore[return-value]
    engine = svc.engine
    engine.resolve_model_name(options.model)  # unknown model: 4xx before decoding
    with svc.limiter.slot():
        samples = _decode(svc, upload, raw_pcm=raw_pcm)
        started = time.perf_counter()
        transcript = engine.transcribe(samples, options)
        elapsed = time.perf_counter() - started
    _record(svc, transcript.duration, elapsed, options.task)
    return transcript


def detect_language_upload(svc: Services, upload: Upload, options: TranscriptionOptions,
                           *, raw_pcm: bool = False) -> list[tuple[str, float]]:
    if svc.engine is None:
        return _forward(svc, upload, options, raw_pcm=raw_pcm, kind="detect_language")  # type: ignore[return-value]
    engine = svc.engine
    engine.resolve_model_name(options.model)
    with svc.limiter.slot():
        samples = _decode(svc, upload, raw_pcm=raw_pcm)
        return engine.detect_language(samples, options)


def _decode(svc: Services, upload: Upload, *, raw_pcm: bool) -> np.ndarray:
    limit = svc.settings.max_sync_duration_s
    if raw_pcm:
        return decode_pcm16(upload.read_bytes(), max_duration_s=limit)
    upload.stream.seek(0)
    return decode_audio(upload.stream, max_duration_s=limit,
                        timeout_s=svc.settings.decode_timeout_s)


def _forward(svc: Services, upload: Upload, options: TranscriptionOptions, *,
             raw_pcm: bool, kind: str) -> Transcript | list[tuple[str, float]]:
    if svc.jobs is None:
        raise ServiceUnavailable("No local model and no job queue: nothing can transcribe.")
    data = upload.read_bytes()
    if raw_pcm:
        # Workers decode containers; give the headerless PCM one.
        data = pcm16_to_wav(data)
    return svc.jobs.run_sync(
        data, upload.filename, options, kind=kind,
        timeout_s=float(svc.settings.request_timeout_s),
    )


def pcm16_to_wav(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return buffer.getvalue()


def _record(svc: Services, audio_s: float, elapsed_s: float, task: str) -> None:
    if svc.metrics is not None:
        svc.metrics.observe_transcription(audio_s, elapsed_s, task)
