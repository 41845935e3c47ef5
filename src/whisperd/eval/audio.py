"""Audio for eval and bench: decoded samples, concatenation, and WAV bytes for HTTP."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from whisperd.audio.decode import decode_audio

SAMPLE_RATE = 16000  # Hz, what Whisper consumes


def load_samples(path: Path) -> np.ndarray:
    """16 kHz mono float32 samples of an audio file, decoded as the service decodes uploads."""
    with path.open("rb") as f:
        return np.asarray(decode_audio(f), dtype=np.float32)


def concatenate(parts: Sequence[np.ndarray], max_seconds: float) -> np.ndarray:
    """The parts one after another, cut to ``max_seconds``."""
    joined = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
    return joined[: int(max_seconds * SAMPLE_RATE)]


def to_wav_bytes(samples: np.ndarray) -> bytes:
    """16-bit PCM mono WAV, made in memory, to upload decoded samples over HTTP."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
