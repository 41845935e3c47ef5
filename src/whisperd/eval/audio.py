"""Audio for eval and bench: decoded samples, concatenation, generated noise, WAV bytes."""

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


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2 power) noise, shaped in the spectrum."""
    white = rng.standard_normal(n)
    if colour == "white":
        return white
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    shape = np.sqrt(freqs) if colour == "pink" else freqs
    return np.fft.irfft(np.fft.rfft(white) / shape, n)


def with_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled to ``snr_db`` over the whole clip (float32).

    A mix that would clip is scaled down to a 0.9 peak, as a recorder's gain would be.
    """
    noise = noise * np.sqrt(np.mean(speech ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    mixed = speech + noise
    peak = float(np.abs(mixed).max())
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


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
