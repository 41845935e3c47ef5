"""Fixtures: real recordings converted to other formats once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from audio_samples import CLIP_S, LONG_ID, SPEECH_ID, convert, ffmpeg


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory,
              recording: Callable[[str], Path]) -> Callable[[str], Path]:
    """converted(fmt) -> the 10.4 s speech recording in that format (made once)."""
    folder = tmp_path_factory.mktemp("converted")
    made: dict[str, Path] = {}

    def get(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = convert(recording(SPEECH_ID), folder / f"speech.{fmt}", fmt)
        return made[fmt]

    return get


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory,
              recording: Callable[[str], Path]) -> Callable[..., Path]:
    """long_clip(fmt, *extra) -> the first 60 s of a long real recording in that format."""
    folder = tmp_path_factory.mktemp("long")
    made: dict[tuple[str, tuple[str, ...]], Path] = {}

    def get(fmt: str, *extra: str) -> Path:
        key = (fmt, extra)
        if key not in made:
            name = f"clip{len(made)}.{fmt}"
            made[key] = convert(recording(LONG_ID), folder / name, fmt, seconds=CLIP_S,
                                extra=extra)
        return made[key]

    return get


@pytest.fixture(scope="session")
def silence_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten hours of digital silence as a FLAC file of about 70 kB (8 kHz, 65535-sample blocks)."""
    path = tmp_path_factory.mktemp("bomb") / "ten_hours.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "36000",
           "-c:a", "flac", "-sample_fmt", "s16", "-frame_size", "65535", str(path))
    return path
