"""Bad uploads made from the real evaluation recordings (cut, mislabelled) or plain bytes.

Shared by the API tests and the bad-input suite. Nothing here synthesizes speech:
truncated files are real recordings cut in the middle of their audio, so their
containers still declare the full length.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import av


def random_bytes(n: int = 64 * 1024, seed: int = 1234) -> bytes:
    return random.Random(seed).randbytes(n)


TEXT_AS_WAV = b"This is a text file, not audio. " * 64

# A valid 1x1 PNG image.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def cut(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


def transcode(source: Path, container: str, codec: str, *, faststart: bool = False,
              sample_rate: int = 16000) -> bytes:
    """Re-encode a real recording into another container/codec, in memory."""
    options = {"movflags": "+faststart"} if faststart else {}
    # A real file, not BytesIO: the MP4 muxer reopens its output to move the index up front.
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"out.{container}"
        _encode(source, target, container, codec, options, sample_rate)
        return target.read_bytes()


def _encode(source: Path, target: Path, container: str, codec: str, options: dict[str, str],
            sample_rate: int) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w", format=container,
                                               options=options) as dst:
        stream = dst.add_stream(codec, rate=sample_rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name if stream.format else "fltp",
                                      layout="mono", rate=sample_rate)
        for frame in src.decode(audio=0):
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    dst.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)


def m4a(source: Path) -> bytes:
    """AAC in MP4 with the index up front, so a cut file still declares the full length."""
    return transcode(source, "mp4", "aac", faststart=True)


def silent_flac(seconds: int, target: Path) -> Path:
    """Digital silence as FLAC: hours of audio in a few MB (a decompression bomb)."""
    import numpy as np

    block = 16000 * 10
    zeros = np.zeros((1, block), dtype=np.int16)
    with av.open(str(target), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=16000)
        stream.layout = "mono"
        for i in range(seconds // 10):
            frame = av.AudioFrame.from_ndarray(zeros, format="s16", layout="mono")
            frame.sample_rate = 16000
            frame.pts = i * block
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def silent_video(target: Path) -> bytes:
    """Two seconds of black MPEG-4 video with no audio track at all."""
    import numpy as np

    with av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        black = np.zeros((64, 64, 3), dtype=np.uint8)
        for _ in range(20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(black, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target.read_bytes()
