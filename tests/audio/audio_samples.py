"""How the audio tests make their files from the real evaluation recordings.

Every format is converted from a real recording with the ffmpeg command-line
tool into a temporary folder; nothing is synthesised except digital silence
(for the decompression bomb) and the deliberately broken inputs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SPEECH_ID = "en_librispeech_1089-134686-0000"  # 10.4 s, 16 kHz mono FLAC
LONG_ID = "en_long_multispeaker_concat"  # 182.5 s, cut to CLIP_S below
CLIP_S = 60  # long enough that cutting it in half loses 30 s

# name -> ffmpeg output arguments. The video cases get a generated test picture
# (lavfi testsrc) as a second input, so that the file has a real video track.
FORMATS: dict[str, list[str]] = {
    "wav": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest"],
    "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "libopus", "-shortest"],
}
VIDEO_FORMATS = ("mp4", "mkv")


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("the ffmpeg command-line tool is needed to build test files")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def convert(src: Path, dest: Path, fmt: str, *, seconds: float | None = None,
            extra: tuple[str, ...] = ()) -> Path:
    inputs = ["-i", str(src)]
    if fmt in VIDEO_FORMATS:
        inputs += ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"]
    limit = ["-t", str(seconds)] if seconds is not None else []
    ffmpeg(*inputs, *limit, *FORMATS[fmt], *extra, str(dest))
    return dest
